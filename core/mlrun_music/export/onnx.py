"""One ONNX export path for every task: export, then check at once with onnxruntime against PyTorch."""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import UserError
from ..fileio import atomic_path, write_json
from ..training.types import OnnxSpec


def _as_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def export_onnx(model: torch.nn.Module, spec: OnnxSpec, out_path: str | Path,
                metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """Export ``spec.module or model`` to ``out_path`` and verify it with onnxruntime on ``spec.args``.

    Uses the TorchScript-based exporter (``dynamo=False``): it keeps dynamic axes on recurrent outputs, which the
    dynamo exporter fixed to the sample length (see reference/machine.md). The max abs difference is printed by
    the caller and stored beside the file as ``<file>.check.json``; above ``spec.tolerance`` is a UserError and no
    ONNX file is left behind. ``metadata`` goes into the model's ``metadata_props`` (e.g. the model card).
    """
    import onnx
    import onnxruntime as ort

    module = (spec.module or model).eval().cpu()
    args = tuple(a.cpu() if isinstance(a, torch.Tensor) else a for a in spec.args)
    out_path = Path(out_path)
    with torch.no_grad():
        expected = module(*args)
    expected_list = list(expected) if isinstance(expected, (tuple, list)) else [expected]

    with atomic_path(out_path, suffix=".onnx") as tmp:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, str(tmp), input_names=list(spec.input_names),
                              output_names=list(spec.output_names), dynamic_axes=spec.dynamic_axes or None,
                              opset_version=spec.opset, dynamo=False)
        if metadata:
            proto = onnx.load(str(tmp))
            for key, value in metadata.items():
                proto.metadata_props.add(key=key, value=value)
            onnx.save(proto, str(tmp))
        onnx.checker.check_model(str(tmp))
        session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        feeds = {i.name: _as_numpy(a) for i, a in zip(session.get_inputs(), args)}
        got = session.run(None, feeds)
        diffs = [float(np.max(np.abs(_as_numpy(e).astype(np.float64) - np.asarray(g, dtype=np.float64))))
                 if np.size(g) else 0.0 for e, g in zip(expected_list, got)]
        max_diff = max(diffs) if diffs else 0.0
        if not np.isfinite(max_diff) or max_diff > spec.tolerance:
            raise UserError(f"ONNX export of {out_path.name} does not match PyTorch: max abs difference "
                            f"{max_diff:.3g} > tolerance {spec.tolerance:g}")
    report = {
        "file": out_path.name, "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
        "torch": torch.__version__, "opset": spec.opset, "onnxruntime": ort.__version__,
        "inputs": {i.name: [d if isinstance(d, int) else str(d) for d in i.shape] for i in session.get_inputs()},
        "outputs": {o.name: [d if isinstance(d, int) else str(d) for d in o.shape] for o in session.get_outputs()},
        "dynamic_axes": {k: {str(a): n for a, n in v.items()} for k, v in (spec.dynamic_axes or {}).items()},
        "max_abs_diff": max_diff, "tolerance": spec.tolerance,
    }
    write_json(out_path.with_name(out_path.name + ".check.json"), report)
    return report
