"""How closely an RTNeural JSON file, run by the NumPy runner, reproduces the PyTorch model it was exported from."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .runner import JsonModel

#: Largest absolute difference between the JSON and PyTorch that an export and the validator accept.
TOLERANCE = 1e-5


def numeric_difference(json_path: Path, model: Any, frames: int = 8, steps: int = 6, seed: int = 0) -> float:
    """Max abs difference between the NumPy runner on ``json_path`` and the PyTorch ``model`` (eval mode)."""
    import torch

    runner = JsonModel.load(json_path)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(frames, runner.in_size)).astype(np.float32)
    seq = rng.normal(size=(1, steps, runner.in_size)).astype(np.float32)
    model = model.eval()
    with torch.no_grad():
        single = model(torch.from_numpy(x)).numpy()
        sequence = model(torch.from_numpy(seq)).numpy()
    runner.reset()
    got_single = runner.forward(x)
    got_sequence = runner.run_sequence(seq)
    diffs = [np.max(np.abs(single.astype(np.float64) - got_single)),
             np.max(np.abs(sequence.astype(np.float64) - got_sequence))]
    value = float(max(diffs))
    return value if math.isfinite(value) else float("inf")
