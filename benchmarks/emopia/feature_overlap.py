"""Feature overlap of folders of generated MIDI files with the real clips of an EMOPIA-layout split.

python benchmarks/emopia/feature_overlap.py --real ROOT --split test --generated NAME=DIR [NAME=DIR ...] [--json OUT]

`mlrun evaluate emopia` reports the same table for the model it evaluates and a trigram token model; this script
compares any folders (e.g. the ``samples*/`` folders of several evaluations). ROOT is an EMOPIA-layout folder
(``midis/``, ``split/{train,val,test}_SL.csv``), e.g. the `scores` dataset's
``<cache>/emopia/scores/EMOPIA_layout``. The features and the overlap are ``mlrun_music.symbolic_features``'s.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from mlrun_music.fileio import write_json
from mlrun_music.symbolic_features import FEATURES, midi_features, overlap_table


def real_clips(root: Path, split: str) -> list[Path]:
    rows = csv.DictReader((root / "split" / f"{split}_SL.csv").read_text().splitlines())
    return [root / "midis" / Path(r["clip_name"]).name for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", required=True, type=Path)
    ap.add_argument("--split", default="test")
    ap.add_argument("--generated", nargs="+", required=True, help="NAME=DIR of generated .mid files")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    real = [f for f in map(midi_features, real_clips(args.real, args.split)) if f]
    result: dict = {"real": {"pieces": len(real), "split": args.split, "root": str(args.real)}}
    print(f"real {args.split} clips: {len(real)}")
    print(f"{'model':16s} {'pieces':>6s} " + " ".join(f"{k[:12]:>12s}" for k in FEATURES) + f" {'mean':>6s}")
    for item in args.generated:
        name, _, folder = item.partition("=")
        gen = [f for f in map(midi_features, sorted(Path(folder).glob("*.mid"))) if f]
        table = overlap_table(real, gen)
        result[name] = {"folder": folder, **table}
        print(f"{name:16s} {len(gen):6d} " + " ".join(f"{table['overlap'][k]:12.3f}" for k in FEATURES) +
              f" {table['mean']:6.3f}")
    if args.json:
        write_json(args.json, result)
    print(json.dumps({k: v.get("mean") for k, v in result.items() if k != "real"}))


if __name__ == "__main__":
    main()
