"""Does the data pipeline keep up with the model? Times one augmented training item (cut, speed change, EQ, gain,
noise, mixing: `HitDataset.__getitem__`) against one training step of the CNN per item, single-threaded.

    nice python docs/experiments/beatsight/loader_vs_model.py --items 64 --batch-size 32
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mlrun_music_beatsight.kits import synthkit
from mlrun_music_beatsight.data.classifier import HitDataset, HitSet, class_weights
from mlrun_music_beatsight.models.classifier import DrumClassifierCNN


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    segs, labels = synthkit.synthetic_hits(max(1, args.items // 12), 1, seed=0)
    synth_s = (time.perf_counter() - t0) / len(labels)
    hits = HitSet(segs, labels, ["synthetic"] * len(labels))
    mix = np.random.default_rng(0).standard_normal(44100 * 4).astype(np.float32) * 0.1
    ds = HitDataset(hits, class_weights(labels), augment=True, mix_bank=mix)
    np.random.seed(0)
    t0 = time.perf_counter()
    items = [ds[i % len(ds)] for i in range(args.items)]
    item_s = (time.perf_counter() - t0) / args.items
    model = DrumClassifierCNN()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.stack([it[0] for it in items[: args.batch_size]])
    y = torch.stack([it[1] for it in items[: args.batch_size]])
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    step_s = min(times) / len(x)
    print(f"synthesising a kit hit (once, cached): {synth_s * 1000:.1f} ms per hit")
    print(f"augmented item: {item_s * 1000:.2f} ms; CNN training step: {step_s * 1000:.1f} ms per item "
          f"(batch {len(x)}, {args.threads} thread(s)); loader/model = {item_s / step_s:.3f}")


if __name__ == "__main__":
    main()
