"""Checkpoint files: written atomically, loaded with ``torch.load(weights_only=True)`` only."""

from __future__ import annotations

import io
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from ..errors import UserError
from ..fileio import atomic_path

FORMAT = "mlrun-music-checkpoint/1"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file, fsync, rename): a kill never leaves it corrupt."""
    path = Path(path)
    state = {"format": FORMAT, **state}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
    return path


def checkpoint_payload(ctx: Any, *, model_name: str, config: dict[str, Any], model_info: dict[str, Any],
                       model: dict[str, Any], trainer: dict[str, Any], **resume_state: Any) -> dict[str, Any]:
    """What every checkpoint holds: the task and plugin that wrote it, the model's name, config, info and weights,
    the trainer's progress, package versions, and ``resume_state`` (optimizer, scheduler, scaler, early_stopping,
    rng) when the run can be resumed from it."""
    return {"task": ctx.task, "plugin": ctx.plugin, "plugin_version": ctx.plugin_version, "model_name": model_name,
            "config": config, "model_info": model_info, "model": model, **resume_state,
            "run_dir": str(Path(ctx.run_dir).resolve()), "trainer": trainer, "versions": versions()}


def versions() -> dict[str, str]:
    """Python, torch and NumPy versions, recorded in every checkpoint."""
    import platform

    import numpy

    return {"python": platform.python_version(), "torch": str(torch.__version__), "numpy": str(numpy.__version__)}


#: What a model-only checkpoint keeps: enough to rebuild and run the model (``load_model``), nothing to resume.
MODEL_ONLY_KEYS = ("task", "plugin", "plugin_version", "model_name", "config", "model_info", "model", "versions",
                   "card")


def save_model_only(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` without its optimizer, scheduler, RNG and trainer state (about a third of the size for Adam):
    the form in which a trained model is shipped or handed on. Atomic like :func:`save_checkpoint`."""
    return save_checkpoint(path, {k: state[k] for k in MODEL_ONLY_KEYS if k in state})


def _container(path: Path) -> str | None:
    """``zip`` (torch.save's format), ``pickle`` (the legacy format) or None for any other file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise UserError(f"checkpoint {path}: cannot read it ({exc.strerror})") from None
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head[:1] == b"\x80" and len(head) > 1 and 2 <= head[1] <= 5:  # PROTO opcode, pickle protocols 2-5
        return "pickle"
    return None


def load_checkpoint(path: str | Path, task: str | None = None) -> dict[str, Any]:
    """Load a checkpoint safely.

    Refuses, with a one-line :class:`UserError` naming the file: missing or truncated files, pickles that would
    run code or build arbitrary objects, files that are not mlrun-music checkpoints, and checkpoints of another task.
    """
    path = Path(path)
    if path.is_dir():
        raise UserError(f"checkpoint {path} is a folder, not a checkpoint file")
    if not path.is_file():
        raise UserError(f"checkpoint {path} does not exist")
    kind = _container(path)
    if kind is None:
        raise UserError(f"{path} is not a checkpoint (neither a torch zip archive nor a pickle)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unsafe content"
        if "Weights only load failed" in str(exc):
            found = re.search(r"(Unsupported global: GLOBAL [\w.]+|Unsupported operand \d+|[\w ]+not supported)",
                              str(exc))
            detail = found.group(1) if found else "unsupported content"
            raise UserError(f"refusing to load {path}: it holds objects a safe load does not allow "
                            f"({detail}); it may run code when unpickled") from None
        raise UserError(f"refusing to load {path}: {first}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError,
            io.UnsupportedOperation) as exc:
        msg = str(exc).strip().splitlines()[0].split(". ")[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"checkpoint {path} is corrupt or truncated ({msg})") from None
    except Exception as exc:  # any other file (audio, text) makes the unpickler fail in its own way
        raise UserError(f"checkpoint {path} is corrupt or not a checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UserError(f"{path} is not an mlrun-music checkpoint")
    if task is not None and state.get("task") != task:
        raise UserError(f"checkpoint {path} belongs to task '{state.get('task')}', not '{task}'")
    if not isinstance(state.get("model"), dict):
        raise UserError(f"checkpoint {path} holds no model weights")
    return state


def check_finite(state: dict[str, Any], path: Path) -> None:
    """A one-line UserError naming the first tensor with NaN or infinite values (a diverged run's weights)."""
    for name, tensor in state["model"].items():
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise UserError(f"checkpoint {path} has non-finite weights (NaN or infinity) in {name}")
