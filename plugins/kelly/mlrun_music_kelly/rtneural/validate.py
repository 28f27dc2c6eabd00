"""``mlrun kelly validate``: RTNeural JSON files checked for structure, against the specs, and numerically.

Numbers: the JSON runs in the NumPy runner (RTNeural's semantics, no PyTorch) and is compared with the PyTorch
model of the checkpoint it came from, on random single frames from a reset state and on a frame sequence with
LSTM state carried over; the largest absolute difference must be at most 1e-5.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from ..models.specs import BY_NAME, find
from .compare import TOLERANCE, numeric_difference
from .runner import ACTIVATIONS

METADATA_KEYS = ("model_name", "framework", "export_version", "parameter_count", "memory_bytes", "input_size",
                 "output_size")
LAYER_TYPES = ("dense", "lstm")


@attrs.define
class FileResult:
    path: Path
    problems: list[str] = attrs.field(factory=list)
    details: list[str] = attrs.field(factory=list)
    model_name: str | None = None
    parameters: int | None = None
    max_abs_diff: float | None = None
    checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


#: RTNeural weights are vectors and matrices: deeper nesting is refused before it is walked.
MAX_WEIGHT_DIMS = 2


def _shape(value: Any, dims_left: int = MAX_WEIGHT_DIMS) -> tuple[int, ...] | None:
    """Shape of a nested list of numbers, or None when it is ragged, holds non-numbers or has more than
    ``dims_left`` dimensions."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) or value is None:
        return () if value is not None else None
    if not isinstance(value, list) or dims_left == 0:
        return None
    if not value:
        return (0,)
    inner = [_shape(v, dims_left - 1) for v in value]
    if any(s is None for s in inner) or len(set(inner)) != 1:
        return None
    return (len(value), *inner[0])


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_structure(doc: Any, res: FileResult) -> list[dict[str, Any]]:
    """Structure, shapes, finiteness and self-consistency; returns the layers when usable."""
    if not isinstance(doc, dict):
        res.problems.append("top level is not a JSON object")
        return []
    in_shape = doc.get("in_shape")
    if not (isinstance(in_shape, list) and in_shape and _positive_int(in_shape[-1])):
        res.problems.append("'in_shape' must be a list ending in the input size, e.g. [null, null, 128]")
        return []
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        res.problems.append("'layers' is missing or empty")
        return []
    size = in_shape[-1]
    count = 0
    for i, layer in enumerate(layers):
        where = f"layer {i}"
        if not isinstance(layer, dict):
            res.problems.append(f"{where}: not an object")
            return []
        kind, act = layer.get("type"), layer.get("activation", None)
        if kind not in LAYER_TYPES:
            res.problems.append(f"{where}: type {kind!r} is not one of {', '.join(LAYER_TYPES)}")
            return []
        if not isinstance(act, str) or act not in ACTIVATIONS:
            res.problems.append(f"{where} ({kind}): unknown activation {act!r} "
                                f"(RTNeural knows {', '.join(repr(a) for a in ACTIVATIONS)})")
        elif kind == "lstm" and act:
            res.problems.append(f"{where} (lstm): activation {act!r} would be ignored by RTNeural's parser; use ''")
        shape = layer.get("shape")
        if not (isinstance(shape, list) and shape and _positive_int(shape[-1])):
            res.problems.append(f"{where}: 'shape' must be a list ending in the output size")
            return []
        out = shape[-1]
        weights = layer.get("weights")
        expected = [(size, out), (out,)] if kind == "dense" else [(size, 4 * out), (out, 4 * out), (4 * out,)]
        names = ["kernel", "bias"] if kind == "dense" else ["kernel", "recurrent kernel", "bias"]
        if not isinstance(weights, list) or len(weights) != len(expected):
            res.problems.append(f"{where} ({kind}): 'weights' must hold {len(expected)} arrays "
                                f"({', '.join(names)})")
            return []
        for name, w, exp in zip(names, weights, expected):
            got = _shape(w)
            if got is None:
                res.problems.append(f"{where} ({kind}) {name}: not a rectangular {len(exp)}-D array of numbers")
                return []
            if got != exp:
                res.problems.append(f"{where} ({kind}) {name}: shape {list(got)}, expected {list(exp)}"
                                    + (" (input size of this layer)" if got[:1] != exp[:1] else ""))
                return []
            if not np.all(np.isfinite(np.asarray(w, dtype=np.float64))):
                res.problems.append(f"{where} ({kind}) {name}: holds NaN or infinite values")
        n = size * out + out if kind == "dense" else 4 * out * (size + out) + 2 * 4 * out
        count += n
        res.details.append(f"  layer {i}: {kind:5s} {size:4d} -> {out:4d}  activation {act or '-':8s} "
                           f"params {n:,} (weights {', '.join(str(list(_shape(w))) for w in weights)})")
        size = out
    res.parameters = count
    return layers


def check_metadata(doc: dict[str, Any], layers: list[dict[str, Any]], res: FileResult) -> dict[str, Any]:
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        res.problems.append("'metadata' block is missing")
        return {}
    missing = [k for k in METADATA_KEYS if k not in meta]
    if missing:
        res.problems.append(f"metadata lacks {', '.join(missing)}")
    if "export_version" in meta and meta["export_version"] != "2.0":
        res.problems.append(f"metadata export_version is {meta['export_version']!r}, expected '2.0'")
    if res.parameters is not None and "parameter_count" in meta and meta["parameter_count"] != res.parameters:
        res.problems.append(f"metadata parameter_count {meta['parameter_count']} but the weights hold "
                            f"{res.parameters}")
    if res.parameters is not None and "memory_bytes" in meta and meta["memory_bytes"] != 4 * res.parameters:
        res.problems.append(f"metadata memory_bytes {meta['memory_bytes']} but float32 weights need "
                            f"{4 * res.parameters}")
    if layers:
        if meta.get("input_size") not in (None, doc["in_shape"][-1]):
            res.problems.append(f"metadata input_size {meta['input_size']} but in_shape says {doc['in_shape'][-1]}")
        if meta.get("output_size") not in (None, layers[-1]["shape"][-1]):
            res.problems.append(f"metadata output_size {meta['output_size']} but the last layer gives "
                                f"{layers[-1]['shape'][-1]}")
    return meta


def check_spec(doc: dict[str, Any], layers: list[dict[str, Any]], meta: dict[str, Any], res: FileResult) -> None:
    """Exact comparison with the model's spec: file name, layer count, types, activations, sizes, parameters."""
    spec = BY_NAME.get(meta.get("model_name", "")) or find(res.path.stem)
    if spec is None:
        res.problems.append(f"unknown model (metadata model_name {meta.get('model_name')!r}, file "
                            f"{res.path.name}); expected one of {', '.join(BY_NAME)}")
        return
    if res.path.name != f"{spec.file_stem}.json":
        res.problems.append(f"file name should be {spec.file_stem}.json for {spec.name}")
    if len(layers) != len(spec.layers):
        res.problems.append(f"{len(layers)} layers, {spec.name} has {len(spec.layers)}")
    if doc["in_shape"][-1] != spec.input_size:
        res.problems.append(f"input size {doc['in_shape'][-1]}, {spec.name} takes {spec.input_size}")
    for i, (layer, want) in enumerate(zip(layers, spec.layers)):
        got = (layer["type"], layer["shape"][-1], layer.get("activation"))
        exp = (want.kind, want.outputs, want.activation)
        if got != exp:
            res.problems.append(f"layer {i}: {got[0]} -> {got[1]} activation {got[2]!r}, spec says {exp[0]} -> "
                                f"{exp[1]} activation {exp[2]!r}")
    if res.parameters is not None and res.parameters != spec.expected_parameters:
        res.problems.append(f"{res.parameters:,} parameters, {spec.name} has exactly {spec.expected_parameters:,}")
    for key, want in (("input_size", spec.input_size), ("output_size", spec.output_size)):
        if key in meta and meta[key] != want:
            res.problems.append(f"metadata {key} {meta[key]}, {spec.name} has {want}")


def candidate_checkpoints(json_path: Path, meta: dict[str, Any], explicit: Path | None) -> list[Path]:
    """Where the checkpoint of a JSON may be: --checkpoint, metadata source_checkpoint, ../checkpoints/<stem>_*."""
    if explicit is not None:
        return [explicit]
    out: list[Path] = []
    src = meta.get("source_checkpoint")
    if isinstance(src, str) and src:
        p = Path(src)
        out.append(p if p.is_absolute() else Path(os.path.normpath(json_path.parent / p)))
    spec = BY_NAME.get(meta.get("model_name", "")) or find(json_path.stem)
    if spec is not None:
        for folder in (json_path.parent.parent / "checkpoints", json_path.parent / "checkpoints", json_path.parent):
            if folder.is_dir():
                out += [Path(os.path.normpath(p)) for p in sorted(folder.glob(f"{spec.file_stem}_*.pt"))]
    seen, unique = set(), []
    for p in out:
        if p.is_file() and p.resolve() not in seen:
            seen.add(p.resolve())
            unique.append(p)
    return unique


def check_numbers(json_path: Path, meta: dict[str, Any], explicit: Path | None, res: FileResult) -> None:
    from mlrun_music.api import load_model
    from mlrun_music.errors import UserError

    from ..models.networks import fingerprint

    candidates = candidate_checkpoints(json_path, meta, explicit)
    if not candidates:
        res.problems.append("no checkpoint to compare numbers with (give --checkpoint, or --no-numeric)")
        return
    chosen, fallback = None, None
    for path in candidates:
        try:
            lm = load_model("kelly", path)
        except UserError as exc:
            if explicit is not None:
                res.problems.append(str(exc))
                return
            continue
        if explicit is not None or (meta.get("weights_sha256") and fingerprint(lm.model) == meta["weights_sha256"]):
            chosen = (path, lm)
            break
        if not meta.get("weights_sha256") and fallback is None:
            fallback = (path, lm)
    chosen = chosen or fallback
    if chosen is None:
        res.problems.append(f"no checkpoint with these weights among {', '.join(str(p) for p in candidates)}")
        return
    path, lm = chosen
    res.checkpoint = str(path)
    name = lm.checkpoint.get("model_name")
    if meta.get("model_name") and name != meta["model_name"]:
        res.problems.append(f"checkpoint {path} holds {name}, not {meta['model_name']}")
        return
    diff = numeric_difference(json_path, lm.model)
    res.max_abs_diff = diff
    if not diff <= TOLERANCE:
        res.problems.append(f"numbers differ from PyTorch ({path.name}): max abs difference {diff:.3g} > "
                            f"{TOLERANCE:g}")


def validate_file(path: Path, check_specs: bool = False, checkpoint: Path | None = None,
                  numeric: bool = True) -> FileResult:
    """Every check on one JSON file; problems are collected, never raised."""
    res = FileResult(path)
    if path.is_dir():
        res.problems.append("a folder, not a JSON file")
        return res
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        res.problems.append("no such file")
        return res
    except UnicodeDecodeError as exc:
        res.problems.append(f"not UTF-8 text, so not JSON ({exc.reason} at byte {exc.start})")
        return res
    except json.JSONDecodeError as exc:
        res.problems.append(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; truncated?)"
                            if exc.pos >= len(exc.doc.rstrip()) else f"not valid JSON ({exc})")
        return res
    except OSError as exc:
        res.problems.append(f"cannot be read ({exc.strerror or exc})")
        return res
    except RecursionError:
        res.problems.append("not an RTNeural model (the JSON nests too deeply)")
        return res
    layers = check_structure(doc, res)
    if not layers:
        return res
    meta = check_metadata(doc, layers, res)
    res.model_name = meta.get("model_name")
    if check_specs:
        check_spec(doc, layers, meta, res)
    if numeric and res.ok:
        check_numbers(path, meta, checkpoint, res)
    return res
