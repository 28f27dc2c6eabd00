"""Setting up a run: run folder, logging, device, seeding, resolved config; and the default train of a task."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable

import torch

from ..config import check_run_names, shorten, to_dict
from ..errors import UserError, did_you_mean
from ..fileio import write_json
from ..task import resolve
from . import distributed
from .fit import FitResult, fit
from .seeding import seed_everything
from .types import DataSplits, RunContext

LOGGER_NAME = "mlrun_music"


def pick_device(name: str) -> torch.device:
    """``auto`` = cuda, then mps, then cpu; otherwise the named device, checked to exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UserError(f"--device: unknown device '{name}' (use auto, cpu, cuda, cuda:N or mps)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here (use --device cpu or auto)")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise UserError("--device mps: MPS is not available here (use --device cpu or auto)")
    return device


def run_dir_of(config: Any, task: str) -> Path:
    """The run folder: ``<output_dir>/<run_layout>`` with {task} and {tag} filled in.

    UserError (naming the option) for a tag, run layout or checkpoint folder that would put files outside
    ``output_dir``, and when the filled-in layout, resolved, is not a folder inside the resolved ``output_dir``.
    """
    check_run_names(config)
    rel = config.run_layout.format(task=task, tag=config.tag)
    output_dir = Path(config.output_dir)
    run_dir = output_dir / rel
    try:
        base, resolved = output_dir.resolve(), run_dir.resolve()
    except (OSError, RuntimeError, ValueError) as exc:
        raise UserError(f"--output-dir {_path(output_dir)}: cannot resolve the run folder ({exc})") from None
    if resolved == base:
        raise UserError(f"--run-layout {shorten(config.run_layout)} makes --output-dir itself the run folder; "
                        "name a folder under it")
    if not resolved.is_relative_to(base):
        raise UserError(f"--run-layout {shorten(config.run_layout)} puts the run folder {_path(resolved)} "
                        f"outside --output-dir {_path(base)}")
    return run_dir


def _path(path: Path, limit: int = 300) -> str:
    text = str(path)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def setup_logging(run_dir: Path | None, is_main: bool) -> logging.Logger:
    """Log to stderr (main process) and to ``<run_dir>/train.log``."""
    log = logging.getLogger(LOGGER_NAME)
    log.setLevel(logging.INFO)
    for h in list(log.handlers):
        if getattr(h, "_mlrun_music", False):
            log.removeHandler(h)
            h.close()
    log.propagate = False
    if not is_main:
        return log
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(logging.Formatter("%(message)s"))
    console._mlrun_music = True  # type: ignore[attr-defined]
    log.addHandler(console)
    if run_dir is not None:
        fh = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        fh._mlrun_music = True  # type: ignore[attr-defined]
        log.addHandler(fh)
    return log


def package_versions(*names: str) -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("mlrun-music", "torch", "numpy", *names):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def apply_threads(config: Any) -> None:
    """Set torch's CPU thread count from ``config.num_threads`` (0 leaves torch's default)."""
    threads = getattr(config, "num_threads", 0)
    if threads:
        torch.set_num_threads(threads)


def make_context(registered: Any, config: Any) -> RunContext:
    """Create the run folder, logging and device for ``config``; joins DDP when launched by torchrun."""
    task = registered.task.name
    run_dir = run_dir_of(config, task)
    device = pick_device(config.device)
    rank, world, device = distributed.init(device)
    if rank == 0:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe = run_dir / ".write-test"
            probe.write_bytes(b"")  # fileio: a probe that the folder is writable, removed at once
            probe.unlink()
        except OSError as exc:
            raise UserError(f"cannot write to output folder {run_dir}: {exc.strerror or exc}") from None
    log = setup_logging(run_dir, rank == 0)
    return RunContext(task=task, plugin=registered.source.distribution, plugin_version=registered.source.version,
                      run_dir=run_dir, device=device, rank=rank, world_size=world, log=log)


def write_resolved_config(ctx: RunContext, config: Any) -> None:
    if ctx.is_main:
        write_json(ctx.run_dir / "config.json", {
            "task": ctx.task, "plugin": ctx.plugin, "plugin_version": ctx.plugin_version,
            "config": to_dict(config), "versions": package_versions(ctx.plugin),
            "world_size": ctx.world_size, "device": str(ctx.device),
        })


def build_data(registered: Any, config: Any, ctx: RunContext, write_report: bool = True) -> DataSplits:
    """Call the chosen dataset's factory (the embedded default when ``--dataset`` is empty).

    ``write_report``: write ``data_report.json`` into the run folder (off when evaluation rebuilds the data)."""
    datasets = registered.datasets
    name = registered.dataset_name(config.dataset)
    spec, source = datasets[name]
    if ctx.is_main and source.distribution != ctx.plugin:
        ctx.log.info("dataset '%s' from %s", name, source.distribution)
    data = resolve(spec.factory)(config, ctx)
    if not isinstance(data, DataSplits):
        raise TypeError(f"dataset '{name}' returned {type(data).__name__}, expected DataSplits")
    if write_report and ctx.is_main and data.report:
        write_json(ctx.run_dir / "data_report.json", data.report)
    return data


def model_spec(registered: Any, name: str) -> Any:
    models = registered.models
    if not name:
        if not models:
            raise UserError(f"task '{registered.task.name}' registers no models")
        name = next(iter(models))
    if name not in models:
        raise UserError(f"--model: unknown model '{name}' for task '{registered.task.name}'"
                        f"{did_you_mean(name, list(models))}; "
                        f"available: {', '.join(models)}")
    return models[name][0]


def loss_of(registered: Any, name: str) -> Any:
    if name not in registered.losses:
        raise UserError(f"--loss: unknown loss '{name}'; available: {', '.join(sorted(registered.losses))}")
    return resolve(registered.losses[name][0])


def default_train(registered: Any, config: Any, ctx: RunContext) -> dict[str, Any]:
    """One dataset, one model, one fit: what most tasks need."""
    data = build_data(registered, config, ctx)
    spec = model_spec(registered, config.model)
    seed_everything(config.seed)  # the same initial weights on every rank and every run
    model = resolve(spec.factory)(config, data.info)
    result = fit(config=config, model=model, data=data, loss_fn=loss_of(registered, config.loss), ctx=ctx,
                 model_name=spec.name, model_info=data.info)
    return summarize(result)


def summarize(result: FitResult) -> dict[str, Any]:
    last = result.history[-1] if result.history else {}
    return {
        "latest": str(result.latest_path), "final": str(result.final_path) if result.final_path else None,
        "best": [str(p) for p in result.best_paths], "best_metric": result.best_metric,
        "epochs": len(result.history), "stopped_early": result.stopped_early,
        "resumed_from": str(result.resumed_from) if result.resumed_from else None,
        "last_epoch": last,
    }


def train_task(registered: Any, config: Any, after: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None
               ) -> dict[str, Any]:
    """Train a task with ``config``: the task's own ``train`` orchestration if it has one, else the default.
    ``after(registered, summary)`` (rank 0, before summary.json is written) adds to the summary, e.g. exports."""
    ctx = make_context(registered, config)
    apply_threads(config)
    seed_everything(config.seed)
    write_resolved_config(ctx, config)
    try:
        if registered.task.train is not None:
            summary = resolve(registered.task.train)(config, ctx)
        else:
            summary = default_train(registered, config, ctx)
        summary = dict(summary or {})
        summary["run_dir"] = str(ctx.run_dir)
        if after is not None and ctx.is_main:
            summary.update(after(registered, summary))
        if ctx.is_main:
            write_json(ctx.run_dir / "summary.json", summary)
        return summary
    finally:
        distributed.shutdown()
