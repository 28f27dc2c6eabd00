"""The shipped MelodyTransformer on the held-out chorales' key-relative sopranos, and what the valence input does.

Needs the prepared corpus (``mlrun kelly prepare-corpus --pieces 260``). Prints the held-out BCE of the shipped
model and of the mean of the training targets over the test pieces' 16 s windows (all, minor pieces, major pieces),
the share of windows where the model's BCE is the lower, and, for valence -0.8 and +0.8 at arousal -0.5 and +0.5,
the summed output of each pitch class the major and minor scales differ in (pitch 60 + k is k semitones above the
tonic, so E flat is the minor third and E the major third).

    python benchmarks/kelly/melody_key_relative.py [--pieces 260]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from mlrun_music.api import load_model
from mlrun_music_kelly.data import corpus
from mlrun_music_kelly.data.common import emotion_embedding


def bce(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pieces", type=int, default=260, help="chorales of the prepared corpus")
    args = ap.parse_args()
    if not corpus.is_prepared(max_pieces=args.pieces):
        raise SystemExit(f"the corpus is not prepared: run `mlrun kelly prepare-corpus --pieces {args.pieces}` first")
    model = load_model("kelly", shipped="melody-transformer", quiet=True).model
    records = corpus.read_records(corpus.corpus_dir(), args.pieces)
    x, y, _ = corpus.samples("MelodyTransformer", [r for r in records if r["split"] == "test"])
    _, train_y, _ = corpus.samples("MelodyTransformer", [r for r in records if r["split"] == "train"])
    with torch.no_grad():
        pred = model(torch.as_tensor(x)).numpy()
    ours, mean = bce(pred, y), bce(np.repeat(train_y.mean(axis=0, keepdims=True), len(y), axis=0), y)
    minor = x[:, 0] < 0
    print("| held-out windows | count | BCE | mean predictor | windows where the model is lower |")
    print("| --- | --- | --- | --- | --- |")
    for name, sel in (("all", np.ones(len(y), bool)), ("minor pieces", minor), ("major pieces", ~minor)):
        print(f"| {name} | {sel.sum()} | {ours[sel].mean():.4f} | {mean[sel].mean():.4f} | "
              f"{100 * np.mean(ours[sel] < mean[sel]):.1f} % |")
    names = {3: "E flat", 4: "E", 8: "A flat", 9: "A", 10: "B flat", 11: "B"}
    print(f"\n| valence | arousal | {' | '.join(names.values())} |")
    print("| --- | --- |" + " --- |" * len(names))
    for valence in (-0.8, 0.8):
        for arousal in (-0.5, 0.5):
            with torch.no_grad():
                out = model(torch.as_tensor(emotion_embedding(valence, arousal)[None])).numpy()[0]
            cells = " | ".join(f"{out[k::12].sum():.3f}" for k in names)
            print(f"| {valence:+.1f} | {arousal:+.1f} | {cells} |")


if __name__ == "__main__":
    main()
