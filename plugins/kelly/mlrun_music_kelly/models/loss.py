"""The five models' losses: each model trains with the loss its spec names."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mlrun_music.errors import UserError
from mlrun_music.training import StepOutput

from .specs import BY_NAME


def loss_value(kind: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The reference's loss for ``kind``: mse, bce (on sigmoid outputs) or kl_div (batchmean, softmax outputs)."""
    if kind == "mse":
        return nn.functional.mse_loss(pred, target)
    if kind == "bce":
        return nn.functional.binary_cross_entropy(pred.clamp(1e-7, 1 - 1e-7), target)
    if kind == "kl_div":
        return nn.functional.kl_div(torch.log(pred.clamp_min(1e-8)), target, reduction="batchmean")
    raise ValueError(f"unknown loss kind {kind!r}")


def loss(model: nn.Module, batch: Any, config: Any) -> StepOutput:
    """Task loss: picks the reference loss from the model's name; reports MAE as a metric too."""
    x, y = batch
    net = model.module if hasattr(model, "module") else model
    name = getattr(net, "model_name", None)
    if name not in BY_NAME:
        raise UserError(f"the kelly loss does not know model {name!r}")
    pred = model(x)
    value = loss_value(BY_NAME[name].loss, pred, y)
    return StepOutput(value, {"mae": (pred - y).abs().mean().detach()})
