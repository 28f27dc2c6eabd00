"""Trainer overhead: the same model, data, seed and epochs through mlrun's ``fit`` and through a plain
hand-written PyTorch loop, alternated in one process. Reports whether the final weights are identical and the
median per-step time ratio (fit / plain), plus whole-run wall time (fit also writes checkpoints and history).

    .venv/bin/python benchmarks/core/trainer_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import Dataset

from mlrun_music.config import TrainConfig
from mlrun_music.training import DataSplits, RunContext, fit
from mlrun_music.training.seeding import derive_seed, seed_everything

SAMPLES, BATCH, EPOCHS, SEED = 4096, 64, 3, 7


class Pairs(Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(SAMPLES, 64, generator=g)
        self.y = torch.randn(SAMPLES, 10, generator=g)

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]


def make_model() -> nn.Module:
    seed_everything(SEED)
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def loss_fn(model, batch, config):
    x, y = batch
    return nn.functional.mse_loss(model(x), y)


def run_fit(data: Pairs, out: Path) -> tuple[nn.Module, list[float], float]:
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, seed=SEED, val_fraction=0.0, plots=False,
                         output_dir=str(out))
    model = make_model()
    ctx = RunContext(task="bench", plugin="bench", plugin_version="0", run_dir=out, device=torch.device("cpu"),
                     log=logging.getLogger("bench"))
    t0 = time.perf_counter()
    result = fit(config=config, model=model, data=DataSplits(train=data), loss_fn=loss_fn, ctx=ctx,
                 model_name="mlp")
    wall = time.perf_counter() - t0
    return model, [1.0 / r["steps_per_s"] for r in result.history], wall


def run_plain(data: Pairs) -> tuple[nn.Module, list[float], float]:
    """What one writes by hand: shuffle per epoch from a seeded generator, Adam, MSE, a loss.item() per step."""
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step_times = []
    t0 = time.perf_counter()
    for epoch in range(EPOCHS):
        perm = torch.randperm(SAMPLES, generator=torch.Generator().manual_seed(derive_seed(SEED, epoch))).tolist()
        loader = torch.utils.data.DataLoader(data, batch_size=BATCH, sampler=perm)
        start, steps, total = time.perf_counter(), 0, 0.0
        for x, y in loader:
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            total += loss.item()
            steps += 1
        step_times.append((time.perf_counter() - start) / steps)
    return model, step_times, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    logging.getLogger("bench").addHandler(logging.NullHandler())
    data = Pairs()
    fit_steps, plain_steps, fit_walls, plain_walls, identical = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            order = (("fit", "plain") if r % 2 == 0 else ("plain", "fit"))
            models = {}
            for kind in order:
                if kind == "fit":
                    m, steps, wall = run_fit(data, Path(tmp) / f"r{r}")
                    fit_steps += steps; fit_walls.append(wall)
                else:
                    m, steps, wall = run_plain(data)
                    plain_steps += steps; plain_walls.append(wall)
                models[kind] = m
            a, b = models["fit"].state_dict(), models["plain"].state_dict()
            identical.append(all(torch.equal(a[k], b[k]) for k in a))
    f, p = statistics.median(fit_steps), statistics.median(plain_steps)
    print(f"model MLP 64-256-256-10, {SAMPLES} samples, batch {BATCH}, {EPOCHS} epochs, {args.repeats} alternated "
          f"repeats, 1 thread")
    print(f"final weights identical: {'yes' if all(identical) else 'no'} ({sum(identical)}/{len(identical)})")
    print(f"median step time: fit {f * 1e3:.3f} ms, plain {p * 1e3:.3f} ms, ratio {f / p:.3f} "
          f"(overhead {100 * (f / p - 1):+.1f} %)")
    print(f"median whole run: fit {statistics.median(fit_walls):.3f} s (with latest/best/final checkpoints and "
          f"history), plain {statistics.median(plain_walls):.3f} s")


if __name__ == "__main__":
    main()
