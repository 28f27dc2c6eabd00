"""Two folders of Essen folk songs from music21's corpus (German folk songs the shipped models never saw), for the
fine-tuning measurement of BENCHMARKS.md: a user folder of ``--train`` tunes and a held-out folder of ``--heldout``
other tunes, drawn after a seeded shuffle of every tune of the corpus's Essen ABC files (its test files left out).

    python benchmarks/chromasonic/essen_folders.py /tmp/cs [--train 60] [--heldout 200] [--seed 0]

Writes OUT/essen_mine/tunes.abc and OUT/essen_heldout/tunes.abc (UTF-8).
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

from mlrun_music.fileio import write_text


def essen_tunes() -> list[str]:
    import music21

    root = Path(music21.__file__).parent / "corpus" / "essenFolksong"
    tunes = []
    for f in sorted(root.glob("*.abc")):
        if f.name.startswith("test"):
            continue
        parts = re.split(r"\n(?=X:)", f.read_text(encoding="latin-1"))
        tunes += [p.strip() + "\n" for p in parts if p.strip().startswith("X:")]
    return tunes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--train", type=int, default=60)
    ap.add_argument("--heldout", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    tunes = essen_tunes()
    random.Random(args.seed).shuffle(tunes)
    chunks = {"essen_mine": tunes[:args.train], "essen_heldout": tunes[args.train:args.train + args.heldout]}
    for name, chunk in chunks.items():
        path = write_text(Path(args.out) / name / "tunes.abc", "\n".join(chunk))
        print(f"{path}: {len(chunk)} tunes")
    print(f"of {len(tunes)} Essen tunes")


if __name__ == "__main__":
    main()
