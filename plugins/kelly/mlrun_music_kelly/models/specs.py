"""The five models' architectures as data (torch-free): layers, activations, losses, sizes and parameter counts.

Everything else (the PyTorch modules, the RTNeural export, the validator, the pipeline) reads this table, so the
architecture is written down exactly once.
"""

from __future__ import annotations

from typing import Iterable

import attrs


@attrs.frozen
class LayerSpec:
    """One layer: ``kind`` is ``dense`` or ``lstm``; ``activation`` is RTNeural's name ('' for none)."""

    kind: str
    inputs: int
    outputs: int
    activation: str = ""

    @property
    def parameters(self) -> int:
        """Parameter count as PyTorch has it (an LSTM carries two bias vectors)."""
        if self.kind == "dense":
            return self.inputs * self.outputs + self.outputs
        gates = 4 * self.outputs
        return gates * (self.inputs + self.outputs) + 2 * gates


@attrs.frozen
class KellyModelSpec:
    """One of the five networks."""

    name: str
    layers: tuple[LayerSpec, ...]
    loss: str  # mse | bce | kl_div
    dataset: str  # the real dataset it trains on: deam | lakh | chords | maestro | groove
    expected_parameters: int
    description: str

    @property
    def file_stem(self) -> str:
        """The file name stem train.py of the original project uses: the lower-cased model name."""
        return self.name.lower()

    @property
    def input_size(self) -> int:
        return self.layers[0].inputs

    @property
    def output_size(self) -> int:
        return self.layers[-1].outputs

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def output_activation(self) -> str:
        return self.layers[-1].activation


def _dense(i: int, o: int, act: str) -> LayerSpec:
    return LayerSpec("dense", i, o, act)


def _lstm(i: int, o: int) -> LayerSpec:
    return LayerSpec("lstm", i, o, "")


MODELS: tuple[KellyModelSpec, ...] = (
    KellyModelSpec("EmotionRecognizer",
                   (_dense(128, 512, "tanh"), _dense(512, 256, "tanh"), _lstm(256, 128), _dense(128, 64, "tanh")),
                   "mse", "deam", 403_264, "128 mel bands (time average) -> 64-d emotion embedding."),
    KellyModelSpec("MelodyTransformer",
                   (_dense(64, 256, "relu"), _lstm(256, 256), _dense(256, 256, "relu"), _dense(256, 128, "sigmoid")),
                   "bce", "lakh", 641_664, "Emotion embedding (64) -> probability of each of 128 MIDI pitches."),
    KellyModelSpec("HarmonyPredictor",
                   (_dense(128, 256, "tanh"), _dense(256, 128, "tanh"), _dense(128, 64, "softmax")),
                   "kl_div", "chords", 74_176, "Emotion (64) + audio (64) -> distribution over 64 chords."),
    KellyModelSpec("DynamicsEngine",
                   (_dense(32, 128, "relu"), _dense(128, 64, "relu"), _dense(64, 16, "sigmoid")),
                   "mse", "maestro", 13_520, "Compact context (32) -> 16 velocity/timing/expression values."),
    KellyModelSpec("GroovePredictor",
                   (_dense(64, 128, "tanh"), _dense(128, 64, "tanh"), _dense(64, 32, "tanh")),
                   "mse", "groove", 18_656, "Emotion embedding (64) -> 32 groove parameters."),
)

# The original project's model table states 1,152,280 in total, but its own per-model counts (each checked
# exactly) add up to 1,151,280: the stated total is off by 1,000. We keep the per-model counts and the true sum.
TOTAL_PARAMETERS = 1_151_280
STATED_TOTAL = 1_152_280
BY_NAME = {m.name: m for m in MODELS}
BY_STEM = {m.file_stem: m for m in MODELS}
MODEL_NAMES = tuple(m.name for m in MODELS)


def find(name: str) -> KellyModelSpec | None:
    """The spec named ``name`` (case-insensitive, also the file stem), or None."""
    key = name.strip().lower()
    return BY_STEM.get(key)


def select(names: Iterable[str]) -> list[KellyModelSpec]:
    """Specs for the given names in pipeline order; unknown names are a ValueError naming them."""
    wanted, unknown = [], []
    for n in names:
        spec = find(n)
        (wanted if spec else unknown).append(spec or n)
    if unknown:
        raise ValueError(f"unknown model(s) {', '.join(unknown)}; models: {', '.join(MODEL_NAMES)}")
    return [m for m in MODELS if m in wanted]
