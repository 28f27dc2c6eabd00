"""Tracking the monitored metric: improvement, patience, best-k bookkeeping."""

from __future__ import annotations

import math
from typing import Any

import attrs


@attrs.define
class EarlyStopping:
    """Counts epochs without improvement of at least ``min_delta``; ``patience`` 0 never stops."""

    mode: str = "min"
    patience: int = 0
    min_delta: float = 0.0
    best: float | None = None
    bad_epochs: int = 0

    def improved(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float) -> bool:
        """Record an epoch's value; return True when training should stop."""
        if self.improved(value):
            self.best, self.bad_epochs = value, 0
        else:
            self.bad_epochs += 1
        return self.patience > 0 and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
