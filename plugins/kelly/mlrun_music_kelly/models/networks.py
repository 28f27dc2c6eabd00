"""The five networks in PyTorch, built from the spec table, and their ONNX export spec."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mlrun_music.errors import UserError
from mlrun_music.training import OnnxSpec

from .specs import BY_NAME, KellyModelSpec

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid,
                "softmax": lambda x: torch.softmax(x, dim=-1), "": lambda x: x}


class KellyNet(nn.Module):
    """A stack of dense and one-layer LSTM blocks, as the spec lists them.

    ``forward`` takes ``[batch, features]`` (one frame: each LSTM starts from a zero state, as the original fed a
    sequence of length 1) or ``[batch, time, features]`` (a sequence: dense layers act per step and each LSTM keeps
    its state across steps, which is what RTNeural does when fed frame after frame).
    """

    def __init__(self, spec: KellyModelSpec) -> None:
        super().__init__()
        self.model_name = spec.name
        self.activations = [layer.activation for layer in spec.layers]
        blocks: list[nn.Module] = []
        for layer in spec.layers:
            if layer.kind == "dense":
                blocks.append(nn.Linear(layer.inputs, layer.outputs))
            else:
                blocks.append(nn.LSTM(layer.inputs, layer.outputs, num_layers=1, batch_first=True))
        self.layers = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        single = x.dim() == 2
        if single:
            x = x.unsqueeze(1)
        for block, act in zip(self.layers, self.activations):
            if isinstance(block, nn.LSTM):
                x, _ = block(x)
            else:
                x = _ACTIVATIONS[act](block(x))
        return x[:, 0] if single else x


def build(name: str) -> KellyNet:
    """A fresh network for the model called ``name``."""
    return KellyNet(BY_NAME[name])


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ModelSpec factories: ``factory(config, info)``; the architecture is fixed, so config and info are not needed.
def build_emotion_recognizer(config: Any = None, info: Any = None) -> KellyNet:
    return build("EmotionRecognizer")


def build_melody_transformer(config: Any = None, info: Any = None) -> KellyNet:
    return build("MelodyTransformer")


def build_harmony_predictor(config: Any = None, info: Any = None) -> KellyNet:
    return build("HarmonyPredictor")


def build_dynamics_engine(config: Any = None, info: Any = None) -> KellyNet:
    return build("DynamicsEngine")


def build_groove_predictor(config: Any = None, info: Any = None) -> KellyNet:
    return build("GroovePredictor")


def fingerprint(model: torch.nn.Module) -> str:
    """SHA-256 of the model's parameters (names and float32 bytes): identifies the checkpoint a JSON came from."""
    import hashlib

    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def model_spec(model: nn.Module) -> KellyModelSpec:
    """The spec of a kelly network (UserError for any other module)."""
    name = getattr(model, "model_name", None)
    if name not in BY_NAME:
        raise UserError(f"not a kelly model: {type(model).__name__}")
    return BY_NAME[name]


def onnx_spec(model: nn.Module, config: Any, info: dict[str, Any]) -> OnnxSpec:
    """One frame per row (``[batch, inputs]``), batch axis dynamic; each LSTM starts from zero state."""
    spec = model_spec(model)
    g = torch.Generator().manual_seed(0)
    return OnnxSpec(args=(torch.randn(3, spec.input_size, generator=g),), input_names=["input"],
                    output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                    tolerance=1e-5)
