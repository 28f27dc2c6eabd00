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
from .fileio import refuse_overwrite_of_inputs
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
    #: The model card: the shipped card when ``path`` is a shipped model, else the card a checkpoint carries (an
    #: export of a shipped model), else None.
    card: dict[str, Any] | None = None
    #: The shipped model's name when ``path`` is one.
    shipped: str | None = None


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
            "shipped": shipped_summaries(r),
        })
    return out


def shipped_summaries(r: Registered) -> list[dict[str, Any]]:
    """Each shipped model of a task: name, checkpoint, card and its headline figure (or why it is unusable)."""
    from .pretrained import headline, shipped_models

    out = []
    for m in shipped_models(r):
        entry: dict[str, Any] = {"name": m.spec.name, "distribution": m.distribution}
        try:
            card = m.card()
            entry.update(checkpoint=str(m.require_files()), card=card, headline=headline(card))
        except UserError as exc:
            entry["error"] = str(exc)
        out.append(entry)
    return out


def broken_plugins() -> list[dict[str, str]]:
    return [attrs.asdict(b) for b in get_registry().broken]


def make_config(task_name: str, values: dict[str, Any] | None = None, **overrides: Any) -> Any:
    """A validated config of the task's config class from a dict and keyword overrides."""
    r = task(task_name)
    return build_config(r.config_class, {**(values or {}), **overrides})


def train(task_name: str, config: Any = None, **overrides: Any) -> dict[str, Any]:
    """Train ``task_name``; ``config`` is a config object or dict, ``overrides`` set single fields."""
    from .training.run import train_task

    r = task(task_name)
    if config is None or isinstance(config, dict):
        given = {**(config or {}), **overrides}
        config = build_config(r.config_class, given)
        r.check_options_used(config, given)
    elif overrides:
        config = build_config(r.config_class, {**to_dict(config), **overrides})
        r.check_options_used(config, overrides)
    return train_task(r, config, after=export_trained if config.onnx else None)


def export_trained(registered: Registered, summary: dict[str, Any]) -> dict[str, list[str]]:
    """ONNX-export the best (else final) checkpoint of each model a training run produced (``--onnx``).

    A task's own ``train`` reports several models as ``summary["models"] = {name: summary_of_fit}``.
    """
    import logging

    if registered.task.onnx is None:
        raise UserError(f"--onnx: task '{registered.task.name}' has no ONNX export")
    runs = summary.get("models") or {"": summary}
    written = []
    for fit_summary in runs.values():
        ckpt = (fit_summary.get("best") or [None])[0] or fit_summary.get("final")
        if ckpt is None:
            continue
        result = export(registered.task.name, ckpt, "onnx")
        logging.getLogger("mlrun_music").info("exported %s (onnxruntime max abs difference %.2e)", result["path"],
                                              result["max_abs_diff"])
        written.append(result["path"])
    return {"onnx": written}


def load_model(task_name: str, checkpoint: str | Path | None = None, device: str = "cpu", *,
               shipped: str | None = None, quiet: bool = False) -> LoadedModel:
    """Rebuild a task's model from a checkpoint (loaded safely), in eval mode on ``device``.

    No checkpoint: the task's shipped model (``shipped`` names one other than the default), announced on one line
    unless ``quiet``. A shipped model's card is checked against the checkpoint it describes.
    """
    from .pretrained import check_card_matches, resolve_checkpoint, shipped_for_path
    from .training.checkpoint import check_finite, load_checkpoint
    from .training.fit import _load_model_state
    from .training.run import apply_threads, model_spec, pick_device

    r = task(task_name)
    path = resolve_checkpoint(r, checkpoint, shipped, quiet=quiet)
    state = load_checkpoint(path, task=task_name)
    check_finite(state, path)
    known = {f.name for f in fields_of(r.config_class)}
    stored = {k: v for k, v in state.get("config", {}).items() if k in known}
    # A stored config describes a finished run: its run-folder names are not re-checked here.
    config = build_config(r.config_class, stored, where=f"{path}: ", check_run_folder=False)
    spec = model_spec(r, state.get("model_name", ""))
    apply_threads(config)  # the run's --num-threads also governs evaluate, export and plugin commands
    model = resolve(spec.factory)(config, state.get("model_info", {}))
    _load_model_state(model, state, path)
    model.to(pick_device(device)).eval()
    card, shipped_name = state.get("card"), None
    ship = shipped_for_path(r, path)
    if ship is not None:
        card, shipped_name = ship.card(), ship.spec.name
        check_card_matches(card, ship.card_path, path, state, sum(p.numel() for p in model.parameters()))
    return LoadedModel(model, config, state.get("model_info", {}), state, path, card, shipped_name)


def run_dir_of_checkpoint(loaded: LoadedModel) -> Path | None:
    """The training run's folder: as recorded in the checkpoint if it still exists, else guessed from where the
    checkpoint lies (``<run>/<checkpoint_dir>/x.pt``)."""
    recorded = loaded.checkpoint.get("run_dir")
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    guess = default_output_dir(loaded.path, "x").parent
    return guess if guess.is_dir() else None


def default_output_dir(checkpoint: Path, kind: str, loaded: LoadedModel | None = None) -> Path:
    """``<run folder>/<kind>`` for a checkpoint inside a run's checkpoint folder, else beside the file; for a
    shipped model (never write into the installed package) ``runs/<task>/shipped-<name>/<kind>``."""
    if loaded is not None and loaded.shipped is not None:
        return Path("runs") / loaded.checkpoint.get("task", "task") / f"shipped-{loaded.shipped}" / kind
    parent = checkpoint.resolve().parent
    run = parent.parent if parent.name == "checkpoints" else parent
    return run / kind


def evaluate(task_name: str, checkpoint: str | Path | None = None, *, shipped: str | None = None, split: str = "test", data: str | None = None,
             output: str | Path | None = None, device: str = "cpu", evaluator: str = "default",
             options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the task's evaluate hook on a checkpoint (default: the shipped model); writes ``metrics.json`` into
    ``output``."""
    from .fileio import write_json
    from .training.run import pick_device, setup_logging
    from .training.types import EvalContext

    r = task(task_name)
    if evaluator not in r.evaluators:
        avail = ", ".join(sorted(r.evaluators)) or "none"
        raise UserError(f"--evaluator: task '{task_name}' has no evaluator '{evaluator}'; available: {avail}")
    loaded = load_model(task_name, checkpoint, device, shipped=shipped)
    out_dir = Path(output) if output else default_output_dir(loaded.path, "evaluation", loaded)
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


def export(task_name: str, checkpoint: str | Path | None = None, fmt: str = "onnx", output: str | Path | None = None,
           *, shipped: str | None = None) -> dict:
    """Export a checkpoint's model (default: the shipped model) to ``fmt``; ONNX files are verified with
    onnxruntime. ``checkpoint`` (every task) writes a model-only checkpoint: weights, config and model info, without
    optimizer or RNG state. Every export carries the model's card when it has one (checkpoint key ``card``, ONNX
    metadata ``mlrun_music.card``, an exporter's ``card`` argument)."""
    r = task(task_name)
    formats = r.export_formats()
    if fmt not in formats:
        raise UserError(f"--format: task '{task_name}' cannot export '{fmt}'; formats: {', '.join(formats)}")
    loaded = load_model(task_name, checkpoint, "cpu", shipped=shipped)
    stem = loaded.checkpoint.get("model_name") or task_name
    exports_dir = default_output_dir(loaded.path, "exports", loaded)
    out = Path(output) if output else exports_dir / f"{stem}.{'pt' if fmt == 'checkpoint' else fmt}"
    refuse_overwrite_of_inputs(out, loaded.path)
    if fmt == "checkpoint":
        from .training.checkpoint import save_model_only

        state = {**loaded.checkpoint, **({"card": loaded.card} if loaded.card else {})}
        save_model_only(state, out)
        return {"format": "checkpoint", "path": str(out)}
    if fmt == "onnx":
        import json

        from .export.onnx import export_onnx

        spec = resolve(r.task.onnx)(loaded.model, loaded.config, loaded.info)
        metadata = {"mlrun_music.task": task_name, "mlrun_music.model": stem}
        if loaded.card:
            metadata["mlrun_music.card"] = json.dumps(loaded.card, sort_keys=True)
        report = export_onnx(loaded.model, spec, out, metadata=metadata)
        return {"format": "onnx", "path": str(out), **report}
    exporter = resolve(r.exporters[fmt][0])
    params = inspect.signature(exporter).parameters
    extra: dict[str, Any] = {"checkpoint": loaded.path} if "checkpoint" in params else {}
    if "card" in params:
        extra["card"] = loaded.card
    written = exporter(loaded.model, loaded.config, loaded.info, out, **extra)
    return {"format": fmt, "path": str(written or out)}


def describe_config(cls: type) -> list[dict[str, Any]]:
    """Every field of a config class: name, option, type, default, help, allowed values, and its group: ``task``
    (the task's own, or a trainer option with the task's own default), ``trainer`` (every task has it as is) or
    ``dataset:NAME`` (a dataset's own option)."""
    from .config import TrainConfig, base_type, describe_allowed

    # A trainer option whose default the task changes counts as the task's own: it says something about the task.
    trainer = {f.name: f.default for f in fields_of(TrainConfig)} if issubclass(cls, TrainConfig) else {}
    out = []
    for f in fields_of(cls):
        if f.metadata.get("table"):
            continue  # per_model: `mlrun info` names its --model.NAME.OPTION pattern
        dataset = f.metadata.get("dataset_option")
        own = f.name not in trainer or trainer[f.name] != f.default
        group = f"dataset:{dataset}" if dataset else ("task" if own else "trainer")
        out.append({"name": f.name, "option": "--" + f.name.replace("_", "-"), "type": base_type(f.type).__name__,
                    "default": f.default, "help": f.metadata.get("help", ""), "allowed": describe_allowed(f),
                    "group": group})
    return out
