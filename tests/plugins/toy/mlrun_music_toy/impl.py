"""Toy task implementation (imports torch)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mlrun_music.training import DataSplits, OnnxSpec, StepOutput


class ToyData(torch.utils.data.Dataset):
    def __init__(self, x: np.ndarray, y: np.ndarray, augment: float) -> None:
        self.x, self.y, self.augment = torch.tensor(x), torch.tensor(y), augment

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int):
        x = self.x[i]
        if self.augment:
            x = x + self.augment * torch.randn_like(x)
        return x, self.y[i]


def load_data(config, ctx) -> DataSplits:
    rng = np.random.default_rng(1234)
    w = rng.normal(size=(8, 2)).astype(np.float32)
    x = rng.normal(size=(config.samples, 8)).astype(np.float32)
    y = (x @ w + config.noise * rng.normal(size=(config.samples, 2))).astype(np.float32)
    xt = rng.normal(size=(64, 8)).astype(np.float32)
    yt = (xt @ w).astype(np.float32)
    return DataSplits(train=ToyData(x, y, config.augment), test=ToyData(xt, yt, 0.0),
                      info={"inputs": 8, "outputs": 2}, seeded_items=config.augment > 0)


_STEPS = {"n": 0}


def load_npz(config, ctx) -> DataSplits:
    from mlrun_music.errors import UserError

    try:
        arrays = np.load(config.dataset)
        x, y = arrays["x"].astype(np.float32), arrays["y"].astype(np.float32)
    except (OSError, KeyError, ValueError) as exc:
        raise UserError(f"--dataset {config.dataset}: not an .npz file with x and y ({exc})") from None
    return DataSplits(train=ToyData(x, y, 0.0), info={"inputs": x.shape[1], "outputs": y.shape[1]})


def build_model(config, info) -> nn.Module:
    _STEPS["n"] = 0  # steps are counted per training run (tests run several in one process)
    return nn.Sequential(nn.Linear(info["inputs"], config.hidden), nn.Tanh(), nn.Linear(config.hidden, info["outputs"]))


def build_linear(config, info) -> nn.Module:
    return nn.Linear(info["inputs"], info["outputs"])


def loss(model, batch, config) -> StepOutput:
    x, y = batch
    pred = model(x)
    value = nn.functional.mse_loss(pred, y)
    if model.training:
        _STEPS["n"] += 1
        if config.nan_at_step >= 0 and _STEPS["n"] > config.nan_at_step:
            value = value * float("nan")
        if config.kill_at_step >= 0 and _STEPS["n"] > config.kill_at_step:
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)  # a real, uncatchable kill in the middle of an epoch
    mae = (pred - y).abs().mean()
    return StepOutput(value, {"mae": mae})


def evaluate(ctx) -> dict:
    data = load_data(ctx.config, None)
    ds = data.test if ctx.split == "test" else data.train
    with torch.no_grad():
        x, y = ds.x.to(ctx.device), ds.y.to(ctx.device)
        mse = float(nn.functional.mse_loss(ctx.model(x), y))
        base = float(nn.functional.mse_loss(torch.zeros_like(y), y))
    return {"mse": mse, "baseline_zero_mse": base, "n": len(ds)}


def onnx_spec(model, config, info) -> OnnxSpec:
    return OnnxSpec(args=(torch.randn(3, info["inputs"]),), input_names=["x"], output_names=["y"],
                    dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def models_in_run(config, models) -> list[str]:
    """toy-pair: --model mlp or linear trains that one; empty trains both."""
    return [config.model] if config.model else ["mlp", "linear"]


def train_pair(config, ctx) -> dict:
    """toy-pair: each model with its own options, through the core's loop for multi-model runs."""
    from mlrun_music.training import RunLayout, fit
    from mlrun_music.training.multi_model import train_each
    from mlrun_music.training.run import summarize

    data = load_data(config, ctx)
    builders = {"mlp": build_model, "linear": build_linear}

    def train_one(name, options):
        model = builders[name](options, data.info)
        layout = RunLayout.default(ctx.run_dir, options, prefix=f"{name}_")
        return summarize(fit(config=options, model=model, data=data, loss_fn=loss, ctx=ctx, model_name=name,
                             model_info=data.info, layout=layout))

    return train_each(config, ctx, models_in_run(config, tuple(builders)), train_one)
