"""Shared pieces of the datasets: a tensor dataset, the skip report, and the emotion embedding layout."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import torch

EMOTION_DIMS = 64


class Pairs(torch.utils.data.Dataset):
    """``(input, target)`` float32 pairs held in two tensors."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x = torch.as_tensor(np.asarray(x, dtype=np.float32))
        self.y = torch.as_tensor(np.asarray(y, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


class SkipReport:
    """Counts of what a loader used and skipped, with a few examples per reason (for data_report.json)."""

    def __init__(self) -> None:
        self.skipped: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self.notes: dict[str, Any] = {}

    def skip(self, reason: str, example: str) -> None:
        self.skipped[reason] += 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 5:
            ex.append(example)

    def as_dict(self) -> dict[str, Any]:
        return {"skipped": dict(self.skipped), "skipped_total": sum(self.skipped.values()),
                "skip_examples": self.examples, **self.notes}

    def summary(self) -> str:
        if not self.skipped:
            return "nothing skipped"
        return "; ".join(f"{n} {reason}" for reason, n in self.skipped.most_common())


def emotion_embedding(valence: float, arousal: float) -> np.ndarray:
    """The original's 64-d emotion layout: dims 0..31 carry valence, 32..63 arousal (both in [-1, 1])."""
    half = EMOTION_DIMS // 2
    return np.concatenate([np.full(half, valence, np.float32), np.full(half, arousal, np.float32)])
