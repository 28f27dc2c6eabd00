"""Unseen-kit one-shots named by a ``beatsight`` CNN, a ``beatsight-transcriber`` (each hit alone,
``transcriber_eval.alone_scores``) and both combined (geometric and arithmetic mean of their per-class
scores), with absolute and kit-relative names (docs/experiments/beatsight.md).

    python docs/experiments/beatsight/one_shot_ensemble.py TRANSCRIBER_CKPT CNN_CKPT
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from mlrun_music.api import load_model
from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.classes import COMPONENTS
from mlrun_music_beatsight.kits.kit_relative import rename
from mlrun_music_beatsight.transcribe.pipeline import classify_ml
from mlrun_music_beatsight.evaluate.transcriber import alone_scores


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("transcriber")
    ap.add_argument("cnn")
    ap.add_argument("--soundfont", default=synth.TEST_SOUNDFONT)
    args = ap.parse_args()
    hits = synth.one_shots(8, seed=99)
    audio = synth.render(hits, args.soundfont, "fluidsynth")
    audio = audio / np.max(np.abs(audio))
    labels = [h.component for h in hits]
    times = np.array([h.time for h in hits])
    cnn = load_model("beatsight", args.cnn).model.cpu().eval()
    p_cnn = classify_ml(cnn, audio, np.round(times * synth.SAMPLE_RATE).astype(int))
    p_tr = alone_scores(load_model("beatsight-transcriber", args.transcriber).model, audio, times)
    p_tr = p_tr / p_tr.sum(axis=1, keepdims=True)  # comparable with the CNN's probabilities
    print(f"{len(hits)} one-shots of {args.soundfont}")
    for name, p in (("CNN", p_cnn), ("transcriber", p_tr), ("geometric mean", np.sqrt(p_cnn * p_tr)),
                    ("arithmetic mean", (p_cnn + p_tr) / 2)):
        absolute = [COMPONENTS[i] for i in p.argmax(axis=1)]
        relative = rename(audio, synth.SAMPLE_RATE, times, absolute, p).components
        misses = Counter(f"{y}->{c}" for y, c in zip(labels, relative) if c != y).most_common(6)
        print(f"{name:16s} absolute {np.mean(np.array(absolute) == labels):.3f}  kit-relative "
              f"{np.mean(np.array(relative) == labels):.3f}  most missed (kit-relative): {dict(misses)}")


if __name__ == "__main__":
    main()
