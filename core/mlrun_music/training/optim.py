"""Optimizers and learning-rate schedules from config fields."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import UserError


def build_optimizer(config: Any, params: Any) -> torch.optim.Optimizer:
    lr, wd = config.learning_rate, config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=wd)
    raise UserError(f"unknown optimizer '{config.optimizer}'")


def build_scheduler(config: Any, optimizer: torch.optim.Optimizer) -> Any:
    """A scheduler stepped once per epoch (reduce_on_plateau with the monitored metric), or None."""
    kind = config.lr_scheduler
    if kind == "none":
        return None
    if kind == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=config.lr_decay)
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step_size, gamma=config.lr_decay)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, config.epochs))
    if kind == "reduce_on_plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=config.monitor_mode, factor=config.lr_plateau_factor,
            patience=config.lr_plateau_patience)
    raise UserError(f"unknown lr_scheduler '{kind}'")
