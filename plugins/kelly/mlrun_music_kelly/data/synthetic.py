"""Synthetic datasets for all five models: targets are a fixed, learnable function of the inputs plus noise.

Each model has its own "teacher": a small random two-layer network whose weights come from a seed fixed per
model (not from ``--seed``), so the function to learn is the same in every run, while the samples drawn follow
``--seed``. The held-out test set is drawn from a separate fixed stream, so evaluation is repeatable.
"""

from __future__ import annotations

import zlib

import numpy as np

from ..models.specs import BY_NAME, KellyModelSpec
from .common import Pairs

NOISE = 0.05
TEACHER_HIDDEN = 16
TEST_SAMPLES = 512


def _teacher(spec: KellyModelSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()))
    a = rng.normal(size=(spec.input_size, TEACHER_HIDDEN)) * (2.0 / np.sqrt(spec.input_size))
    b = rng.normal(size=(TEACHER_HIDDEN, spec.output_size)) * (1.5 / np.sqrt(TEACHER_HIDDEN))
    c = rng.normal(size=spec.output_size) * 0.3
    return a, b, c


def inputs(spec: KellyModelSpec, n: int, rng: np.random.Generator) -> np.ndarray:
    """Inputs in each model's range: standardised mel-like vectors for EmotionRecognizer, embedding-like values in
    [-1, 1] for the emotion-driven models, and for HarmonyPredictor emotion (64) then audio-like values (64)."""
    if spec.name == "EmotionRecognizer":
        return rng.normal(size=(n, spec.input_size))
    if spec.name == "HarmonyPredictor":
        return np.concatenate([rng.uniform(-1, 1, size=(n, 64)), rng.normal(size=(n, 64))], axis=1)
    if spec.name == "DynamicsEngine":
        return rng.uniform(0, 1, size=(n, spec.input_size))
    return rng.uniform(-1, 1, size=(n, spec.input_size))


def targets(spec: KellyModelSpec, x: np.ndarray, rng: np.random.Generator | None, noise: float = NOISE) -> np.ndarray:
    """The teacher's output for ``x`` in the model's output range, plus noise when ``rng`` is given."""
    a, b, c = _teacher(spec)
    z = np.tanh(x @ a) @ b + c
    eps = rng.normal(size=z.shape) * noise if rng is not None else 0.0
    act = spec.output_activation
    if act == "tanh":
        return np.clip(np.tanh(z) + eps, -1, 1)
    if act == "sigmoid":
        return np.clip(1 / (1 + np.exp(-z)) + eps, 0, 1)
    if act == "softmax":
        logits = 2.0 * (z + eps)  # noise on the logits keeps each target a distribution
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(f"no synthetic targets for activation {act!r}")


def make(name: str, n: int, seed: int) -> Pairs:
    """``n`` training samples for the model ``name`` drawn with ``seed``."""
    spec = BY_NAME[name]
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    x = inputs(spec, n, rng)
    return Pairs(x, targets(spec, x, rng))


def held_out(name: str, n: int = TEST_SAMPLES) -> Pairs:
    """The fixed held-out test set of model ``name`` (the same in every run, never trained on)."""
    spec = BY_NAME[name]
    rng = np.random.default_rng([0x7E57, zlib.crc32(name.encode())])
    x = inputs(spec, n, rng)
    return Pairs(x, targets(spec, x, rng))
