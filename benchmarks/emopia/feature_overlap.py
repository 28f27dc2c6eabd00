"""Per-piece symbolic-music features of generated pieces vs held-out real clips, and the overlap of their
distributions (overlapping area of two Gaussian kernel-density estimates; 1 = identical, 0 = disjoint).

python benchmarks/emopia/feature_overlap.py --real ROOT --split test --generated NAME=DIR [NAME=DIR ...] [--json OUT]

ROOT is an EMOPIA-layout folder (``midis/``, ``split/{train,val,test}_SL.csv``), e.g. the `scores` dataset's
``<cache>/emopia/scores/EMOPIA_layout``; each DIR holds generated ``.mid`` files (e.g. the ``samples/`` folder an
``mlrun evaluate emopia`` run writes). Features, per piece: pitch-class entropy (bits, duration-weighted), polyphony
(notes sounding at each onset, mean), pitch range (semitones), note density (notes per second) and empty-beat rate
(share of beats, at the file's tempo, in which no note starts).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from scipy.stats import gaussian_kde

from mlrun_music_emopia import tokens
from mlrun_music_emopia.features import metrics

FEATURES = ("pc_entropy", "polyphony", "pitch_range", "note_density", "empty_beat_rate")


def empty_beat_rate(score) -> float:
    """Share of beats (quarter notes of the tick grid) in which no note starts, over the piece's length."""
    tpq = score.ticks_per_quarter
    notes = [n for t in score.tracks for n in t.notes]
    end = max(n.time + n.duration for n in notes)
    beats = max(1, int(np.ceil(end / tpq)))
    hit = np.zeros(beats, dtype=bool)
    for n in notes:
        hit[min(beats - 1, n.time // tpq)] = True
    return float(1.0 - hit.mean())


def features(path: Path) -> dict[str, float] | None:
    try:
        score, _ = tokens.piano_score(tokens.load_score(str(path)))
    except tokens.SkipClip:
        return None
    m = metrics(score)
    if m is None:
        return None
    return {"pc_entropy": m["pc_entropy"], "polyphony": m["polyphony"], "pitch_range": m["pitch_range"],
            "note_density": m["note_density"], "empty_beat_rate": empty_beat_rate(score)}


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Overlapping area of the Gaussian KDEs (Scott's bandwidth) of two samples, integrated on a fine grid."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    span = hi - lo if hi > lo else 1.0
    grid = np.linspace(lo - 0.5 * span, hi + 0.5 * span, 2001)

    def kde(x: np.ndarray) -> np.ndarray:
        if np.ptp(x) == 0:  # a constant sample: a narrow bump
            x = x + np.random.default_rng(0).normal(0, 1e-3 * span, len(x))
        return gaussian_kde(x)(grid)
    return float(np.trapezoid(np.minimum(kde(a), kde(b)), grid))


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
    real = [f for f in map(features, real_clips(args.real, args.split)) if f]
    result = {"real": {"pieces": len(real), "split": args.split, "root": str(args.real),
                       "mean": {k: float(np.mean([r[k] for r in real])) for k in FEATURES}}}
    print(f"real {args.split} clips: {len(real)}")
    print(f"{'model':24s} {'pieces':>6s} " + " ".join(f"{k:>16s}" for k in FEATURES) + f" {'mean':>6s}")
    for item in args.generated:
        name, _, folder = item.partition("=")
        gen = [f for f in map(features, sorted(Path(folder).glob("*.mid"))) if f]
        ov = {k: overlap(np.array([r[k] for r in real]), np.array([g[k] for g in gen])) for k in FEATURES}
        result[name] = {"pieces": len(gen), "folder": folder, "overlap": ov, "mean_overlap": float(np.mean(
            list(ov.values()))), "mean": {k: float(np.mean([g[k] for g in gen])) for k in FEATURES}}
        print(f"{name:24s} {len(gen):6d} " + " ".join(f"{ov[k]:16.3f}" for k in FEATURES) +
              f" {result[name]['mean_overlap']:6.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
