"""The Python API, mirroring the CLI: list tasks, build configs, train, evaluate, export, load models.

Only :func:`train`, :func:`evaluate`, :func:`export` and :func:`load_model` import torch.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import attrs

from .config import build_config, fields_of, to_dict
from .errors import UserError
from .plugins import Registered, get_registry
from .task import resolve


@attrs.frozen
class LoadedModel:
    """A model rebuilt from a checkpoint, in eval mode."""

    model: Any
    config: Any
    info: dict[str, Any]
    checkpoint: dict[str, Any]
    path: Path


def task(name: str) -> Registered:
    """The registered task ``name`` (UserError listing installed tasks when unknown)."""
    return get_registry().get(name)


def list_tasks() -> list[dict[str, Any]]:
    """Installed tasks and broken plugins, as plain dicts (what ``mlrun list --json`` prints)."""
    reg = get_registry()
    out = []
    for name in sorted(reg.tasks):
        r = reg.tasks[name]
        own = r.source.distribution
        out.append({
            "name": name, "description": r.task.description, "distribution": own, "version": r.source.version,
            "models": [{"name": n, "description": s.description, **({"source": src.distribution}
                        if src.distribution != own else {})} for n, (s, src) in r.models.items()],
            "datasets": [{"name": n, "description": s.description, "embedded": s.embedded,
                          **({"source": src.distribution} if src.distribution != own else {})}
                         for n, (s, src) in r.datasets.items()],
            "exports": r.export_formats(),
        })
    return out


def broken_plugins() -> list[dict[str, str]]:
    return [attrs.asdict(b) for b in get_registry().broken]


def make_config(task_name: str, values: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """A validated config of the task's config class from a dict and keyword overrides."""
    r = task(task_name)
    return build_config(r.task.config_class, {**(values or {}), **overrides})


def train(task_name: str, config: Any = None, **overrides: Any) -> dict[str, Any]:
    """Train ``task_name``; ``config`` is a config object or dict, ``overrides`` set single fields."""
    from .training.run import train_task

    r = task(task_name)
    if config is None or isinstance(config, dict):
        config = build_config(r.task.config_class, {**(config or {}), **overrides})
    elif overrides:
        config = build_config(r.task.config_class, {**to_dict(config), **overrides})
    return train_task(r, config)


def load_model(task_name: str, checkpoint: str | Path, device: str = "cpu") -> LoadedModel:
    """Rebuild a task's model from a checkpoint (loaded safely), in eval mode on ``device``."""
    from .training.checkpoint import load_checkpoint
    from .training.fit import _load_model_state
    from .training.run import apply_threads, model_spec, pick_device

    r = task(task_name)
    path = Path(checkpoint)
    state = load_checkpoint(path, task=task_name)
    known = {f.name for f in fields_of(r.task.config_class)}
    stored = {k: v for k, v in state.get("config", {}).items() if k in known}
    config = build_config(r.task.config_class, stored, where=f"{path}: ")
    spec = model_spec(r, state.get("model_name", ""))
    apply_threads(config)  # the run's --num-threads also governs evaluate, export and plugin commands
    model = resolve(spec.factory)(config, state.get("model_info", {}))
    _load_model_state(model, state, path)
    model.to(pick_device(device)).eval()
    return LoadedModel(model, config, state.get("model_info", {}), state, path)


def run_dir_of_checkpoint(loaded: LoadedModel) -> Path | None:
    """The training run's folder: as recorded in the checkpoint if it still exists, else guessed from where the
    checkpoint lies (``<run>/<checkpoint_dir>/x.pt``)."""
    recorded = loaded.checkpoint.get("run_dir")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    guess = default_output_dir(loaded.path, "x").parent
    return guess if guess.is_dir() else None


def default_output_dir(checkpoint: Path, kind: str) -> Path:
    """``<run folder>/<kind>`` for a checkpoint inside a run's checkpoint folder, else beside the file."""
    parent = checkpoint.resolve().parent
    run = parent.parent if parent.name == "checkpoints" else parent
    return run / kind


def evaluate(task_name: str, checkpoint: str | Path, *, split: str = "test", data: str | None = None,
             output: str | Path | None = None, device: str = "cpu", evaluator: str = "default",
             options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the task's evaluate hook on a checkpoint; writes ``metrics.json`` into ``output``."""
    from .fileio import write_json
    from .training.run import pick_device, setup_logging
    from .training.types import EvalContext

    r = task(task_name)
    if evaluator not in r.evaluators:
        avail = ", ".join(sorted(r.evaluators)) or "none"
        raise UserError(f"--evaluator: task '{task_name}' has no evaluator '{evaluator}'; available: {avail}")
    loaded = load_model(task_name, checkpoint, device)
    out_dir = Path(output) if output else default_output_dir(loaded.path, "evaluation")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--output: cannot create {out_dir}: {exc.strerror or exc}") from None
    eval_options = None
    if r.task.evaluate_config is not None:
        eval_options = build_config(r.task.evaluate_config, options or {})
    elif options:
        raise UserError(f"task '{task_name}' takes no evaluation options")
    log = setup_logging(None, True)
    ctx = EvalContext(task=task_name, model=loaded.model, config=loaded.config, info=loaded.info,
                      checkpoint_path=loaded.path, out_dir=out_dir, device=pick_device(device), split=split,
                      data=data, options=eval_options, log=log, run_dir=run_dir_of_checkpoint(loaded))
    metrics = resolve(r.evaluators[evaluator][0])(ctx)
    result = {"task": task_name, "checkpoint": str(loaded.path), "split": split, "metrics": metrics}
    write_json(out_dir / "metrics.json", result)
    result["output"] = str(out_dir / "metrics.json")
    return result


def export(task_name: str, checkpoint: str | Path, fmt: str = "onnx", output: str | Path | None = None) -> dict:
    """Export a checkpoint's model to ``fmt``; ONNX files are verified with onnxruntime. ``checkpoint`` (every
    task) writes a model-only checkpoint: weights, config and model info, without optimizer or RNG state."""
    r = task(task_name)
    formats = r.export_formats()
    if fmt not in formats:
        raise UserError(f"--format: task '{task_name}' cannot export '{fmt}'; formats: {', '.join(formats)}")
    loaded = load_model(task_name, checkpoint, "cpu")
    stem = loaded.checkpoint.get("model_name") or task_name
    if fmt == "checkpoint":
        from .training.checkpoint import save_model_only

        out = Path(output) if output else default_output_dir(loaded.path, "exports") / f"{stem}.pt"
        if out.resolve() == loaded.path.resolve():
            raise UserError(f"--output {out}: that is the checkpoint being exported; choose another file")
        save_model_only(loaded.checkpoint, out)
        return {"format": "checkpoint", "path": str(out)}
    if fmt == "onnx":
        from .export.onnx import export_onnx

        out = Path(output) if output else default_output_dir(loaded.path, "exports") / f"{stem}.onnx"
        spec = resolve(r.task.onnx)(loaded.model, loaded.config, loaded.info)
        report = export_onnx(loaded.model, spec, out)
        return {"format": "onnx", "path": str(out), **report}
    out = Path(output) if output else default_output_dir(loaded.path, "exports") / f"{stem}.{fmt}"
    exporter = resolve(r.exporters[fmt][0])
    extra = {"checkpoint": loaded.path} if "checkpoint" in inspect.signature(exporter).parameters else {}
    written = exporter(loaded.model, loaded.config, loaded.info, out, **extra)
    return {"format": fmt, "path": str(written or out)}


def describe_config(cls: type) -> list[dict[str, Any]]:
    """Every field of a config class: name, option, type, default, help, allowed values."""
    from .config import base_type, describe_allowed

    out = []
    for f in fields_of(cls):
        out.append({"name": f.name, "option": "--" + f.name.replace("_", "-"), "type": base_type(f.type).__name__,
                    "default": f.default, "help": f.metadata.get("help", ""), "allowed": describe_allowed(f)})
    return out
