"""Peak-threshold sweep of a beatsight-transcriber checkpoint: onset F overall and per class at several thresholds,
on the songs `mlrun evaluate beatsight-transcriber` uses (each song transcribed once, then scored per threshold).
Choose the threshold on training-kit songs (the defaults below), then report the unseen kit at that threshold.

    python benchmarks/beatsight/transcriber_thresholds.py CKPT                       # training kit, seeds 6000..
    python benchmarks/beatsight/transcriber_thresholds.py CKPT --split test          # unseen kit, seeds 5000..
"""

from __future__ import annotations

import argparse

import numpy as np

from mlrun_music.api import load_model
from mlrun_music_beatsight.classes import COMPONENTS
from mlrun_music_beatsight.frames import log_mel_frames
from mlrun_music_beatsight.grooves import test_song
from mlrun_music_beatsight.transcriber import activations, onset_counts
from mlrun_music_beatsight.transcriber_eval import FIRST_SEED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    args = ap.parse_args()
    loaded = load_model("beatsight-transcriber", args.checkpoint)
    cfg = loaded.config
    soundfont, renderer = (cfg.test_soundfont, "fluidsynth") if args.split == "test" else (cfg.soundfont, cfg.renderer)
    songs = []
    for g in range(args.songs):
        audio, hits, _ = test_song(FIRST_SEED[args.split] + g, soundfont, renderer)
        reference = [np.array(sorted(h.time for h in hits if h.component == c)) for c in COMPONENTS]
        songs.append((activations(loaded.model, log_mel_frames(audio / np.max(np.abs(audio)))), reference))
    print(f"{args.songs} {args.split} songs, {soundfont} via {renderer}")
    print("| threshold | F | precision | recall | " + " | ".join(COMPONENTS) + " |")
    print("| ---: " * (4 + len(COMPONENTS)) + "|")
    for thr in [float(t) for t in args.thresholds.split(",")]:
        tp, ne, nr = (np.zeros(len(COMPONENTS), np.int64) for _ in range(3))
        for act, ref in songs:
            a, b, c = onset_counts(act, ref, thr)
            tp, ne, nr = tp + a, ne + b, nr + c
        per = 2 * tp / np.maximum(ne + nr, 1)
        print(f"| {thr} | {2 * tp.sum() / (ne.sum() + nr.sum()):.3f} | {tp.sum() / max(ne.sum(), 1):.3f} | "
              f"{tp.sum() / nr.sum():.3f} | " + " | ".join(f"{x:.2f}" if n else "-" for x, n in zip(per, ne + nr)) + " |")


if __name__ == "__main__":
    main()
