"""Export to RTNeural's own JSON format (what ``RTNeural::json_parser::parseJson`` reads).

RTNeural JSON: ``{"in_shape": [null, null, N], "layers": [...]}``; each layer has ``type``, ``activation``,
``shape`` ([null, null, outputs]) and ``weights``. Dense weights are ``[kernel [in][out], bias [out]]`` (Keras
layout: PyTorch's ``[out][in]`` transposed). LSTM weights are ``[kernel [in][4H], recurrent [H][4H], bias [4H]]``
with PyTorch's gate order i, f, c(g), o, which is RTNeural's too, and the bias ``b_ih + b_hh``. The parser applies
a layer's activation after dense layers only, so an LSTM carries ``""``. A ``metadata`` block is added for the
plugin's log and for ``mlrun kelly validate``; RTNeural ignores keys it does not know.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path

from ..models.networks import fingerprint, model_spec
from .compare import TOLERANCE, numeric_difference

EXPORT_VERSION = "2.0"


def to_rtneural(model: torch.nn.Module, source_checkpoint: str | None = None,
                card: dict[str, Any] | None = None) -> dict[str, Any]:
    """The RTNeural JSON document of a kelly model (weights as float32 NumPy arrays, serialised later); the model
    card, when the model has one, goes into the metadata as ``card``."""
    spec = model_spec(model)
    layers = []
    for layer, block in zip(spec.layers, model.layers):
        if layer.kind == "dense":
            weights = [block.weight.detach().cpu().numpy().T, block.bias.detach().cpu().numpy()]
        else:
            weights = [block.weight_ih_l0.detach().cpu().numpy().T, block.weight_hh_l0.detach().cpu().numpy().T,
                       (block.bias_ih_l0 + block.bias_hh_l0).detach().cpu().numpy()]
        layers.append({"type": layer.kind, "activation": layer.activation if layer.kind == "dense" else "",
                       "shape": [None, None, layer.outputs],
                       "weights": [np.ascontiguousarray(w, dtype=np.float32) for w in weights]})
    count = sum(p.numel() for p in model.parameters())
    meta = {"model_name": spec.name, "framework": "PyTorch", "export_version": EXPORT_VERSION,
            "parameter_count": count, "memory_bytes": count * 4, "input_size": spec.input_size,
            "output_size": spec.output_size, "layer_count": len(spec.layers), "weights_sha256": fingerprint(model)}
    if source_checkpoint:
        meta["source_checkpoint"] = source_checkpoint
    if card:
        meta["card"] = card
    return {"in_shape": [None, None, spec.input_size], "layers": layers, "metadata": meta}


def _fmt(value: Any, indent: str = "") -> str:
    """Compact JSON with float32 weights written to 9 significant digits (exact for float32, half the size)."""
    if isinstance(value, np.ndarray):
        if value.ndim == 1:
            return "[" + ",".join(f"{v:.9g}" for v in value.tolist()) + "]"
        return "[" + ",".join(_fmt(row) for row in value) + "]"
    if isinstance(value, dict):
        inner = indent + "  "
        items = [f'\n{inner}"{k}": {_fmt(v, inner)}' for k, v in value.items()]
        return "{" + ",".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if value and isinstance(value[0], (dict, np.ndarray)):
            inner = indent + "  "
            return "[" + ",".join(f"\n{inner}{_fmt(v, inner)}" for v in value) + "\n" + indent + "]"
        import json

        return json.dumps(value)
    import json

    return json.dumps(value)


def refuse_non_finite(model: torch.nn.Module, checkpoint: Path | None = None) -> None:
    """UserError naming the checkpoint (and the first tensor) when any weight is NaN or infinite."""
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            what = f"checkpoint {checkpoint}" if checkpoint is not None else "the model"
            raise UserError(f"{what} has non-finite weights (NaN or infinity) in {name}; nothing exported")


def write_rtneural(model: torch.nn.Module, out_path: Path, checkpoint: Path | None = None,
                   card: dict[str, Any] | None = None) -> Path:
    """Write the JSON atomically once the NumPy runner on it matches PyTorch (UserError otherwise).

    Non-finite weights are refused before anything is written; a failed check leaves ``out_path`` as it was.
    """
    out_path = Path(out_path)
    refuse_non_finite(model, checkpoint)
    source = None
    if checkpoint is not None:
        try:
            source = os.path.relpath(Path(checkpoint).resolve(), out_path.resolve().parent)
        except ValueError:  # another drive on Windows
            source = str(Path(checkpoint).resolve())
    doc = to_rtneural(model, source, card)
    with atomic_path(out_path, suffix=".json") as tmp:
        tmp.write_text(_fmt(doc) + "\n", encoding="utf-8")
        diff = numeric_difference(tmp, model)
        if not diff <= TOLERANCE:
            raise UserError(f"RTNeural export {out_path} does not match PyTorch (max abs difference {diff:.3g})")
    return out_path


def export_rtneural(model: torch.nn.Module, config: Any, info: dict[str, Any], out_path: Path,
                    checkpoint: Path | None = None, card: dict[str, Any] | None = None) -> Path:
    """``mlrun export kelly CKPT --format rtneural``: the ``--output`` .json file, else
    ``<exports>/<lower-case model name>.json``; any other ``--output`` is a one-line error (nothing is written).

    The core passes the checkpoint's path, recorded as ``source_checkpoint`` for ``mlrun kelly validate``, and the
    model's card (a shipped model's, or the one an exported checkpoint carries), recorded as ``card``."""
    spec = model_spec(model)
    out_path = Path(out_path)
    if out_path.name == f"{spec.name}.rtneural":
        # The core's default name when no --output is given (<Model>.<format>): the file RTNeural users expect.
        out_path = out_path.with_name(f"{spec.file_stem}.json")
    elif out_path.suffix.lower() != ".json":
        raise UserError(f"--output {out_path}: the rtneural format writes one JSON file; name a .json file "
                        f"(e.g. {out_path.with_name(spec.file_stem + '.json')}) or leave --output out")
    # The weights' fingerprint in the metadata still finds the checkpoint when the JSON is moved elsewhere.
    return write_rtneural(model, out_path, checkpoint, card)


def export_all_formats(config: Any, checkpoint: Path, models_dir: Path, log: logging.Logger) -> dict[str, Any]:
    """After training: RTNeural JSON of one checkpoint into ``models_dir`` (with ``--rtneural``, the default).

    ONNX needs nothing here: the core exports every model's best checkpoint with ``--onnx`` (on by default for
    kelly) into ``<run>/exports/<Model>.onnx``, verified with onnxruntime.
    """
    from mlrun_music.api import load_model

    loaded = load_model("kelly", checkpoint)
    spec = model_spec(loaded.model)
    out: dict[str, Any] = {"checkpoint": str(checkpoint)}
    if config.rtneural:
        path = write_rtneural(loaded.model, models_dir / f"{spec.file_stem}.json", checkpoint)
        out["rtneural"] = str(path)
        log.info("%s: RTNeural JSON %s (NumPy runner matches PyTorch)", spec.name, path)
    return out
