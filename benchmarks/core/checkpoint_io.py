"""Checkpoint cost: mlrun's atomic save (temporary file, fsync, rename) and safe load (weights_only=True)
against plain torch.save / torch.load of the same state, alternated in one run.

    .venv/bin/python benchmarks/core/checkpoint_io.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from mlrun_music.training.checkpoint import load_checkpoint, save_checkpoint


def make_state() -> dict:
    model = torch.nn.Sequential(*[torch.nn.Linear(512, 512) for _ in range(24)])  # ~6.3M parameters, 25 MB
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 512)).sum().backward()
    opt.step()
    return {"task": "bench", "model": model.state_dict(), "optimizer": opt.state_dict(),
            "rng": {"torch": torch.get_rng_state()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    state = make_state()
    res: dict[str, list[float]] = {"mlrun save": [], "torch.save": [], "mlrun load": [], "torch.load": []}
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.pt", Path(tmp) / "b.pt"
        for _ in range(args.repeats):
            t0 = time.perf_counter(); save_checkpoint(a, state); res["mlrun save"].append(time.perf_counter() - t0)
            t0 = time.perf_counter(); torch.save(state, b); res["torch.save"].append(time.perf_counter() - t0)
            t0 = time.perf_counter(); load_checkpoint(a); res["mlrun load"].append(time.perf_counter() - t0)
            t0 = time.perf_counter(); torch.load(b, weights_only=False); res["torch.load"].append(
                time.perf_counter() - t0)
        size = a.stat().st_size / 1e6
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"state: {size:.1f} MB (model + Adam), {args.repeats} alternated repeats")
    for k, v in med.items():
        print(f"  {k:11s} median {v * 1e3:8.1f} ms")
    print(f"save ratio mlrun/torch = {med['mlrun save'] / med['torch.save']:.2f} (mlrun adds fsync + rename)")
    print(f"load ratio mlrun/torch = {med['mlrun load'] / med['torch.load']:.2f} (weights_only=True vs pickle)")


if __name__ == "__main__":
    main()
