"""Peak-threshold sweep of a beatsight-transcriber checkpoint: onset F overall and per class at several thresholds,
on the songs `mlrun evaluate beatsight-transcriber` uses (each song transcribed once, then scored per threshold).
Choose the threshold on training-kit songs (the defaults below), then report the unseen kit at that threshold.

    python docs/experiments/beatsight/transcriber_thresholds.py CKPT                       # training kit, seeds 6000..
    python docs/experiments/beatsight/transcriber_thresholds.py CKPT --split test          # unseen kit, seeds 5000..
    python docs/experiments/beatsight/transcriber_thresholds.py CKPT --split test --free   # no groove: random hits

``--free``: songs of hits at random times (every class equally often, :func:`synth.free_hits`) instead of grooves,
drums and accompaniment both on the split's kit, accompaniment 18 dB below to 6 dB above (seeds 7000 on): how much
of the transcription comes from hearing each sound rather than from the groove generator's patterns.
"""

from __future__ import annotations

import argparse

import numpy as np

from mlrun_music.api import load_model
from mlrun_music_beatsight.kits.classes import COMPONENTS
from mlrun_music_beatsight.transcribe.frames import log_mel_frames
from mlrun_music_beatsight.data.grooves import KitSource, test_song, training_audio
from mlrun_music_beatsight.transcribe.pipeline import Classifier, choose_classifier, transcribe_onsets
from mlrun_music_beatsight.models.transcriber import activations, match_counts, onset_counts, times_by_class
from mlrun_music_beatsight.evaluate.transcriber import FIRST_SEED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--split", choices=("val", "test"), default="val")
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--thresholds", default="0.3,0.4,0.5,0.6,0.7")
    ap.add_argument("--free", action="store_true", help="random-hit songs instead of the benchmark's grooves")
    ap.add_argument("--cnn", default="", help="also score the onset pipeline with this beatsight (CNN) checkpoint "
                                              "at --cnn-confidence, and with the heuristic, on the same songs")
    ap.add_argument("--cnn-confidence", type=float, default=0.5)
    args = ap.parse_args()
    loaded = load_model("beatsight-transcriber", args.checkpoint)
    cfg = loaded.config
    soundfont, renderer = (cfg.test_soundfont, "fluidsynth") if args.split == "test" else (cfg.soundfont, cfg.renderer)
    songs = []
    others = {}
    if args.cnn:  # the onset pipeline with the CNN, and with the heuristic, on the same songs
        others = {"cnn": (choose_classifier(args.cnn, True), args.cnn_confidence),
                  "heuristic": (Classifier("heuristic", "baseline"), 0.7)}
    scored: dict[str, list] = {name: [] for name in others}
    for g in range(args.songs):
        if args.free:
            kit = KitSource(soundfont, renderer)
            audio, drum_hits = training_audio(7000 + g, kit, [kit], free_fraction=1.0)
        else:
            audio, drum_hits, _ = test_song(FIRST_SEED[args.split] + g, soundfont, renderer)
        audio = audio / np.max(np.abs(audio))
        reference = times_by_class((h.time, h.component) for h in drum_hits)
        songs.append((activations(loaded.model, log_mel_frames(audio)), reference))
        for name, (classifier, confidence) in others.items():
            found = transcribe_onsets(classifier, audio, confidence, 50.0, 0.1)
            scored[name].append(match_counts(times_by_class(h[:2] for h in found.hits), reference))
    print(f"{args.songs} {args.split} {'free-hit ' if args.free else ''}songs, {soundfont} via {renderer}")
    print("| threshold | F | precision | recall | " + " | ".join(COMPONENTS) + " |")
    print("| ---: " * (4 + len(COMPONENTS)) + "|")
    for thr in [float(t) for t in args.thresholds.split(",")]:
        print(row(str(thr), [onset_counts(act, ref, thr) for act, ref in songs]))
    for name, counts in scored.items():
        print(row(f"{name} pipeline", counts))


def row(label: str, counts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> str:
    """A Markdown table row: overall F, precision, recall and F per class from per-song (matched, estimated,
    reference) counts."""
    tp, ne, nr = (np.sum([c[i] for c in counts], axis=0) for i in range(3))
    per = 2 * tp / np.maximum(ne + nr, 1)
    return (f"| {label} | {2 * tp.sum() / (ne.sum() + nr.sum()):.3f} | {tp.sum() / max(ne.sum(), 1):.3f} | "
            f"{tp.sum() / nr.sum():.3f} | " + " | ".join(f"{x:.2f}" if n else "-" for x, n in zip(per, ne + nr)) + " |")

if __name__ == "__main__":
    main()
