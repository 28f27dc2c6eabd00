"""The training loop: one function, used by every task.

``fit`` trains one model on one dataset with the config's settings: seeded order, gradient accumulation and
clipping, mixed precision on CUDA, schedules, validation, early stopping, best-k/periodic/latest/final checkpoints,
exact resume, DDP under torchrun, history, plots and progress.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from pathlib import Path
from typing import Any, Callable

import attrs
import torch
from torch.utils.data import DataLoader, Subset

from ..config import diff_configs, fields_of, run_control_fields, to_dict
from ..errors import UserError
from . import distributed
from .checkpoint import checkpoint_payload, load_checkpoint, save_checkpoint
from .early_stopping import EarlyStopping
from .history import plot_curves, write_history
from .optim import build_optimizer, build_scheduler
from .sampler import EpochSampler, KeyedDataset
from .seeding import derive_seed, rng_state, set_rng_state
from .types import DataSplits, RunContext, StepOutput

#: Config fields that may change when a run is resumed (they do not change what the run computes).
RESUMABLE_CHANGES = {"epochs", "device", "num_workers", "num_threads", "tensorboard", "onnx", "plots", "history",
                     "checkpoint_every_steps", "checkpoint_every", "early_stopping_patience", "max_steps",
                     "max_minutes"}


#: Seconds between plain progress lines when stderr is not a terminal.
PLAIN_PROGRESS_SECONDS = 30.0


class NonFiniteLoss(UserError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint is intact."""

    def __init__(self, message: str) -> None:
        super().__init__(message, exit_code=3)


@attrs.define
class RunLayout:
    """Where ``fit`` writes. ``prefix`` is prepended to file names (several models in one run folder)."""

    checkpoint_dir: Path
    history_json: Path
    history_csv: Path
    curves_png: Path
    tensorboard_dir: Path
    prefix: str = ""

    @classmethod
    def default(cls, run_dir: Path, config: Any, prefix: str = "") -> "RunLayout":
        return cls(
            checkpoint_dir=(run_dir / config.checkpoint_dir).resolve(),
            history_json=run_dir / f"{prefix}history.json",
            history_csv=run_dir / f"{prefix}history.csv",
            curves_png=run_dir / f"{prefix}curves.png",
            tensorboard_dir=run_dir / "tensorboard" / (prefix.rstrip("_") or "main"),
            prefix=prefix,
        )

    def checkpoint(self, template: str, **fields: Any) -> Path:
        return self.checkpoint_dir / (self.prefix + template.format(**fields))


@attrs.define
class FitResult:
    """What training produced."""

    latest_path: Path
    final_path: Path | None
    best_paths: list[Path]
    history: list[dict[str, Any]]
    best_metric: float | None
    stopped_early: bool
    resumed_from: Path | None
    epochs_run: int

    @property
    def best_path(self) -> Path | None:
        return self.best_paths[0] if self.best_paths else None


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside nested tuples, lists and dicts to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [to_device(v, device) for v in batch]
        return type(batch)(*moved) if hasattr(batch, "_fields") else type(batch)(moved)
    return batch


def _as_output(out: Any) -> StepOutput:
    if isinstance(out, StepOutput):
        return out
    return StepOutput(loss=out)


def _batch_count(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, dict):
        return _batch_count(next(iter(batch.values())))
    if isinstance(batch, (list, tuple)) and batch:
        return _batch_count(batch[0])
    return 1


def _worker_init(worker_id: int) -> None:
    # Seed NumPy and Python in workers from torch's per-worker seed (itself from the loader's seeded generator).
    import random

    import numpy as np

    seed = torch.initial_seed() % (2**32)
    np.random.seed(seed)
    random.seed(seed)


class _Metrics:
    """Weighted sums of loss and metrics over an epoch, reduced over ranks at the end."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, out: StepOutput, loss_value: float, n: int) -> None:
        self.count += n
        self.sums["loss"] = self.sums.get("loss", 0.0) + loss_value * n
        for k, v in out.metrics.items():
            v = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
            self.sums[k] = self.sums.get(k, 0.0) + v * n

    def means(self, names: list[str]) -> dict[str, float]:
        vec = torch.tensor([self.sums.get(k, 0.0) for k in names] + [float(self.count)], dtype=torch.float64)
        vec = distributed.all_reduce_sum(vec)
        total = vec[-1].item()
        return {k: (vec[i].item() / total if total else float("nan")) for i, k in enumerate(names)}


def _autocast(config: Any, device: torch.device) -> contextlib.AbstractContextManager:
    if config.precision == "fp32":
        return contextlib.nullcontext()
    if device.type != "cuda":
        if config.precision == "fp16":
            raise UserError("--precision fp16 needs a CUDA device (use bf16 or fp32 on CPU)")
        return torch.autocast(device_type="cpu", dtype=torch.bfloat16)
    dtype = torch.bfloat16 if config.precision == "bf16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def _split_validation(data: DataSplits, config: Any) -> tuple[Any, Any]:
    if data.val is not None or config.val_fraction <= 0:
        return data.train, data.val
    n = len(data.train)
    n_val = max(1, int(round(n * config.val_fraction)))
    if n - n_val < 1:
        raise UserError(f"the dataset has {n} samples: too few to hold out --val-fraction {config.val_fraction}")
    g = torch.Generator().manual_seed(derive_seed(config.seed, 0x5A11))
    perm = torch.randperm(n, generator=g).tolist()
    return Subset(data.train, sorted(perm[n_val:])), Subset(data.train, sorted(perm[:n_val]))


def _find_resume(config: Any, layout: RunLayout) -> Path | None:
    if config.restart:
        return None
    if config.resume:
        path = Path(config.resume)
        if not path.is_file():
            raise UserError(f"--resume: checkpoint {path} does not exist")
        return path
    if config.continue_from >= 0:
        path = layout.checkpoint(config.periodic_name, epoch=config.continue_from, model="", metric=0.0)
        if not path.is_file():
            raise UserError(f"--continue-from {config.continue_from}: no checkpoint {path} "
                            f"(periodic checkpoints need --checkpoint-every)")
        return path
    latest = layout.checkpoint(config.latest_name)
    return latest if latest.is_file() else None


@attrs.define
class Loop:
    """Everything one ``fit`` call trains with and keeps between epochs (what a checkpoint holds)."""

    config: Any
    ctx: RunContext
    layout: RunLayout
    model: torch.nn.Module
    wrapped: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: Any
    stopper: EarlyStopping
    loss_fn: Callable[[Any, Any, Any], Any]
    collate_fn: Any
    model_name: str
    model_info: dict[str, Any]
    config_dict: dict[str, Any]
    history: list[dict[str, Any]] = attrs.field(factory=list)
    best: list[tuple[float, int, str]] = attrs.field(factory=list)  # (metric, epoch, file name), best first
    metric_names: list[str] = attrs.field(factory=list)
    start_epoch: int = 0
    start_step: int = 0
    global_step: int = 0
    stopped_early: bool = False
    limit_reached: bool = False
    resumed_from: Path | None = None
    epochs_run: int = 0

    @property
    def device(self) -> torch.device:
        return self.ctx.device

    @property
    def latest(self) -> Path:
        return self.layout.checkpoint(self.config.latest_name)


def fit(
    *,
    config: Any,
    model: torch.nn.Module,
    data: DataSplits,
    loss_fn: Callable[[Any, Any, Any], Any],
    ctx: RunContext,
    model_name: str,
    model_info: dict[str, Any] | None = None,
    layout: RunLayout | None = None,
    seeded_items: bool | None = None,
) -> FitResult:
    """Train ``model`` on ``data`` with ``loss_fn(model, batch, config)``.

    ``seeded_items``: give every dataset item its own seed from (seed, epoch, index), making random augmentation
    exactly reproducible on resume whatever the worker count. Resumes automatically from the latest checkpoint in
    the run (unless ``config.restart``). Only rank 0 writes files.
    """
    layout = layout or RunLayout.default(ctx.run_dir, config)
    seeded_items = data.seeded_items if seeded_items is None else seeded_items
    train_set, val_set = _split_validation(data, config)
    if len(train_set) == 0:
        raise UserError("the training set is empty")
    loop = setup_loop(config, model, data, loss_fn, ctx, model_name, dict(model_info or data.info or {}), layout)
    resume_path = _find_resume(config, layout)
    if resume_path is not None:
        restore(loop, resume_path)
    elif config.init_from:
        init_weights(loop, config.init_from)
    if ctx.world_size > 1:  # wrapped once the weights are final: DDP broadcasts rank 0's at construction
        loop.wrapped = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
    train_sampler = EpochSampler(len(train_set), config.seed, True, ctx.rank, ctx.world_size, seeded_items)
    val_sampler = (EpochSampler(len(val_set), config.seed, False, ctx.rank, ctx.world_size, seeded_items)
                   if val_set else None)
    keyed_train = KeyedDataset(train_set) if seeded_items else train_set
    keyed_val = (KeyedDataset(val_set) if seeded_items else val_set) if val_set else None
    writer = _tensorboard(config, layout) if ctx.is_main else None

    for epoch in range(loop.start_epoch, config.epochs):
        epoch_start = time.perf_counter()
        first_step = loop.start_step if epoch == loop.start_epoch else 0
        train_sampler.set_epoch(epoch, first_step * config.batch_size)
        train_metrics, steps_done = train_epoch(loop, make_loader(loop, keyed_train, train_sampler, epoch), epoch,
                                                first_step, epoch_start)
        train_time = time.perf_counter() - epoch_start
        row: dict[str, Any] = {"epoch": epoch + 1}
        names = ["loss"] + loop.metric_names
        row.update({f"train_{k}": v for k, v in train_metrics.means(names).items()})
        if keyed_val is not None:
            val_sampler.set_epoch(0)
            row.update(_validate(loop.wrapped, make_loader(loop, keyed_val, val_sampler, 0), loss_fn, config,
                                 loop.device, names))
        row["lr"] = loop.optimizer.param_groups[0]["lr"]
        row["time_s"] = time.perf_counter() - epoch_start
        row["steps_per_s"] = steps_done / train_time if train_time > 0 else None
        if end_epoch(loop, row, epoch, writer) or loop.limit_reached or out_of_time(loop):
            break
    return finish(loop, writer)


def setup_loop(config: Any, model: torch.nn.Module, data: DataSplits, loss_fn: Callable, ctx: RunContext,
               model_name: str, model_info: dict[str, Any], layout: RunLayout) -> Loop:
    """Model on its device, optimizer, schedule, scaler and early stopping: a fresh loop at epoch 0."""
    model.to(ctx.device)
    optimizer = build_optimizer(config, model.parameters())
    use_scaler = config.precision == "fp16" and ctx.device.type == "cuda"
    return Loop(config=config, ctx=ctx, layout=layout, model=model, wrapped=model, optimizer=optimizer,
                scheduler=build_scheduler(config, optimizer),
                scaler=torch.amp.GradScaler("cuda") if use_scaler else None,
                stopper=EarlyStopping(mode=config.monitor_mode, patience=config.early_stopping_patience,
                                      min_delta=config.min_delta),
                loss_fn=loss_fn, collate_fn=data.collate_fn, model_name=model_name, model_info=model_info,
                config_dict=to_dict(config))


def restore(loop: Loop, path: Path) -> None:
    """Continue a run from its checkpoint: weights, optimizer, schedule, scaler, trainer state and RNG."""
    config, ctx = loop.config, loop.ctx
    state = load_checkpoint(path, task=ctx.task)
    if state.get("model_name") != loop.model_name:
        raise UserError(f"checkpoint {path} holds model '{state.get('model_name')}', not '{loop.model_name}'")
    ignore = set(run_control_fields(type(config))) | RESUMABLE_CHANGES
    # A field the checkpoint predates counts as its default (older checkpoints stay resumable).
    stored = {f.name: f.default for f in fields_of(type(config))} | dict(state.get("config", {}))
    diffs = diff_configs(stored, loop.config_dict, ignore=ignore)
    if diffs:
        raise UserError(f"cannot resume from {path}: the config differs ({'; '.join(diffs)}); "
                        f"use --restart to start over or a new --tag")
    _load_model_state(loop.model, state, path)
    loop.optimizer.load_state_dict(state["optimizer"])
    if loop.scheduler is not None and state.get("scheduler") is not None:
        loop.scheduler.load_state_dict(state["scheduler"])
        if isinstance(loop.scheduler, torch.optim.lr_scheduler.CosineAnnealingLR) \
                and loop.scheduler.T_max != config.epochs:
            _stretch_cosine(loop.scheduler, config.epochs)
    if loop.scaler is not None and state.get("scaler") is not None:
        loop.scaler.load_state_dict(state["scaler"])
    trainer = state["trainer"]
    loop.start_epoch, loop.start_step = trainer["epoch"], trainer["step_in_epoch"]
    loop.global_step = trainer["global_step"]
    loop.history = list(trainer["history"])
    loop.best = [tuple(b) for b in trainer["best"]]
    loop.stopper.load_state_dict(state["early_stopping"])
    set_rng_state(state["rng"])
    loop.resumed_from = path
    loop.stopped_early = bool(trainer.get("stopped_early"))
    if ctx.is_main:
        where = f"epoch {loop.start_epoch + 1}" + (f", step {loop.start_step}" if loop.start_step else "")
        ctx.log.info("resuming from %s at %s", path, where)
    if loop.stopped_early:
        loop.start_epoch = config.epochs


def init_weights(loop: Loop, path: str) -> None:
    """Start a fresh run from another run's weights (``--init-from``: a checkpoint file or ``shipped:NAME``)."""
    from ..pretrained import shipped_reference

    path = str(shipped_reference(loop.ctx.task, path) or path)
    init = load_checkpoint(path, task=loop.ctx.task)
    try:
        loop.model.load_state_dict(init["model"])
    except (RuntimeError, KeyError) as exc:
        raise UserError(f"--init-from {path}: its weights do not fit this model "
                        f"({str(exc).strip().splitlines()[0][:200]})") from None
    if loop.ctx.is_main:
        loop.ctx.log.info("model weights from %s", path)


def make_loader(loop: Loop, dataset: Any, sampler: EpochSampler, epoch: int) -> DataLoader:
    """A loader whose shuffling and worker seeds derive from (seed, epoch)."""
    config = loop.config
    g = torch.Generator().manual_seed(derive_seed(config.seed, epoch, 0xD47A))
    return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler, collate_fn=loop.collate_fn,
                      num_workers=config.num_workers, worker_init_fn=_worker_init if config.num_workers else None,
                      generator=g, pin_memory=loop.device.type == "cuda")


def save(loop: Loop, path: Path, epoch: int, step_in_epoch: int) -> None:
    """Write a resumable checkpoint (rank 0 only)."""
    if loop.ctx.is_main:
        save_checkpoint(path, checkpoint_payload(
            loop.ctx, model_name=loop.model_name, config=loop.config_dict, model_info=loop.model_info,
            model=loop.model.state_dict(), optimizer=loop.optimizer.state_dict(),
            scheduler=loop.scheduler.state_dict() if loop.scheduler is not None else None,
            scaler=loop.scaler.state_dict() if loop.scaler is not None else None,
            trainer={"epoch": epoch, "step_in_epoch": step_in_epoch, "global_step": loop.global_step,
                     "history": loop.history, "best": [list(b) for b in loop.best],
                     "stopped_early": loop.stopped_early},
            early_stopping=loop.stopper.state_dict(), rng=rng_state()))


def train_epoch(loop: Loop, loader: DataLoader, epoch: int, first_step: int,
                epoch_start: float) -> tuple[_Metrics, int]:
    """One pass over the training loader (from ``first_step`` on a resumed epoch); returns metrics and steps."""
    config, ctx = loop.config, loop.ctx
    metrics = _Metrics()
    loop.wrapped.train()
    steps_total = first_step + len(loader)
    bar = _progress(ctx.is_main and sys.stderr.isatty(), steps_total, first_step,
                    f"epoch {epoch + 1}/{config.epochs}")
    loop.optimizer.zero_grad(set_to_none=True)
    step, last_line = first_step, epoch_start
    for step, batch in enumerate(loader, start=first_step):
        loss_value = train_step(loop, to_device(batch, loop.device), metrics, epoch, step, steps_total)
        if bar is not None:
            bar.set_postfix(loss=f"{loss_value:.4f}", refresh=False)
            bar.update(1)
        elif ctx.is_main and time.perf_counter() - last_line >= PLAIN_PROGRESS_SECONDS:
            # Not a terminal: a plain line now and then, so long epochs still show progress in logs.
            last_line = time.perf_counter()
            ctx.log.info("epoch %d/%d  step %d/%d  loss %.4g  %.2f steps/s", epoch + 1, config.epochs, step + 1,
                         steps_total, loss_value, (step + 1 - first_step) / max(last_line - epoch_start, 1e-9))
        if loop.limit_reached:
            break
    if bar is not None:
        bar.close()
    return metrics, step + 1 - first_step


def train_step(loop: Loop, batch: Any, metrics: _Metrics, epoch: int, step: int, steps_total: int) -> float:
    """Forward, backward, and (every ``grad_accum_steps`` batches) an optimizer step; returns the loss."""
    config, ctx = loop.config, loop.ctx
    with _autocast(config, loop.device):
        out = _as_output(loop.loss_fn(loop.wrapped, batch, config))
    loss_value = float(out.loss.detach())
    finite = math.isfinite(loss_value)
    if ctx.world_size > 1:
        finite = bool(distributed.all_reduce_sum(torch.tensor([0.0 if finite else 1.0]))[0] == 0)
    if not finite:
        good = f"; last good checkpoint: {loop.latest}" if loop.latest.is_file() else ""
        raise NonFiniteLoss(f"non-finite loss ({loss_value}) at epoch {epoch + 1}, step {step + 1}; "
                            f"training stopped{good}")
    scaled = out.loss / config.grad_accum_steps if config.grad_accum_steps > 1 else out.loss
    (loop.scaler.scale(scaled) if loop.scaler is not None else scaled).backward()
    metrics.add(out, loss_value, out.count if out.count is not None else _batch_count(batch))
    loop.metric_names.extend(k for k in out.metrics if k not in loop.metric_names)
    if (step + 1) % config.grad_accum_steps == 0 or step + 1 == steps_total:
        optimizer_step(loop)
        if config.checkpoint_every_steps and loop.global_step % config.checkpoint_every_steps == 0 \
                and step + 1 < steps_total:
            save(loop, loop.latest, epoch, step + 1)
        if config.max_steps and loop.global_step >= config.max_steps:
            loop.limit_reached = True
    return loss_value


def optimizer_step(loop: Loop) -> None:
    """Unscale, clip, step and zero the gradients."""
    if loop.scaler is not None:
        loop.scaler.unscale_(loop.optimizer)
    if loop.config.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(loop.model.parameters(), loop.config.grad_clip)
    if loop.scaler is not None:
        loop.scaler.step(loop.optimizer)
        loop.scaler.update()
    else:
        loop.optimizer.step()
    loop.optimizer.zero_grad(set_to_none=True)
    loop.global_step += 1


def end_epoch(loop: Loop, row: dict[str, Any], epoch: int, writer: Any) -> bool:
    """Record the epoch, step the schedule, keep the best-k/periodic/latest checkpoints, log; True to stop early."""
    config, ctx = loop.config, loop.ctx
    monitor = config.monitor if config.monitor in row else ("val_loss" if "val_loss" in row else "train_loss")
    value = row.get(monitor)
    loop.history.append(row)
    loop.epochs_run += 1
    if loop.scheduler is not None:
        if isinstance(loop.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            loop.scheduler.step(value if value is not None and math.isfinite(value) else float("inf"))
        else:
            loop.scheduler.step()
    if config.keep_best > 0 and value is not None and math.isfinite(value):
        keep_best(loop, value, epoch)
    should_stop = loop.stopper.update(value) if value is not None else False
    loop.stopped_early = should_stop
    if config.checkpoint_every and (epoch + 1) % config.checkpoint_every == 0:
        save(loop, loop.layout.checkpoint(config.periodic_name, epoch=epoch + 1, model=loop.model_name,
                                          metric=value or 0.0), epoch + 1, 0)
    save(loop, loop.latest, epoch + 1, 0)
    if ctx.is_main:
        _log_epoch(ctx.log, row, config.epochs, monitor)
        if writer is not None:
            for k, v in row.items():
                if isinstance(v, (int, float)) and k != "epoch":
                    writer.add_scalar(k, v, epoch + 1)
            writer.flush()
        if config.history:
            write_history(loop.history, loop.layout.history_json, loop.layout.history_csv)
    distributed.barrier()
    if should_stop and ctx.is_main:
        ctx.log.info("early stopping: %s did not improve by %g for %d epochs", monitor, config.min_delta,
                     config.early_stopping_patience)
    return should_stop


def out_of_time(loop: Loop) -> bool:
    """--max-minutes: True once the run's epochs (resumed ones included) took that long; any rank over stops all."""
    limit = loop.config.max_minutes
    if not limit:
        return False
    spent = sum(row.get("time_s") or 0.0 for row in loop.history)
    over = bool(distributed.all_reduce_sum(torch.tensor([1.0 if spent >= limit * 60 else 0.0],
                                                        device=loop.device))[0] > 0)
    if over and loop.ctx.is_main:
        loop.ctx.log.info("stopping after %d epochs: %.1f min of training reached --max-minutes %g", len(loop.history),
                          spent / 60, limit)
    return over


def keep_best(loop: Loop, value: float, epoch: int) -> None:
    """Save this epoch among the best ``keep_best`` by the monitored metric, deleting the one it displaces."""
    config = loop.config
    sign = 1 if config.monitor_mode == "min" else -1
    ranked = sorted(loop.best + [(value, epoch + 1, "")], key=lambda b: (sign * b[0], b[1]))
    if (value, epoch + 1, "") not in ranked[: config.keep_best]:
        return
    path = loop.layout.checkpoint(config.best_name, epoch=epoch + 1, metric=value, model=loop.model_name)
    loop.best = [b for b in loop.best if b[2] != path.name]
    save(loop, path, epoch + 1, 0)
    loop.best = sorted(loop.best + [(value, epoch + 1, path.name)], key=lambda b: (sign * b[0], b[1]))
    for _, _, old in loop.best[config.keep_best:]:
        if loop.ctx.is_main and old != path.name:
            (loop.layout.checkpoint_dir / old).unlink(missing_ok=True)
    loop.best = loop.best[: config.keep_best]


def finish(loop: Loop, writer: Any) -> FitResult:
    """The final checkpoint, history, curves, and (under DDP) the measured weight drift between ranks."""
    ctx, config, history = loop.ctx, loop.config, loop.history
    if ctx.world_size > 1:
        # Every rank must hold the same weights; measure it instead of assuming it.
        drift = _max_rank_drift(loop.model)
        if ctx.is_main:
            ctx.log.info("DDP: %d ranks, max weight difference from rank 0: %.3g", ctx.world_size, drift)
            history[-1]["ddp_max_weight_diff"] = drift if history else None
    final_path = loop.layout.checkpoint(config.final_name, model=loop.model_name, epoch=len(history), metric=0.0)
    save(loop, final_path, len(history), 0)
    if ctx.is_main:
        if config.history:
            write_history(history, loop.layout.history_json, loop.layout.history_csv)
        if config.plots:
            plot_curves(history, loop.layout.curves_png, title=f"{ctx.task} / {loop.model_name}")
    if writer is not None:
        writer.close()
    distributed.barrier()
    return FitResult(loop.latest, final_path, [loop.layout.checkpoint_dir / b[2] for b in loop.best], history,
                     loop.stopper.best, loop.stopped_early, loop.resumed_from, loop.epochs_run)


def _stretch_cosine(scheduler: Any, epochs: int) -> None:
    """"Train longer" with a cosine schedule: continue on the cosine that ends at the new epoch count
    (closed form: PyTorch's recursive update would stay at the old end's minimum)."""
    scheduler.T_max = max(1, epochs)
    t = min(scheduler.last_epoch, scheduler.T_max)
    lrs = [scheduler.eta_min + (base - scheduler.eta_min) * (1 + math.cos(math.pi * t / scheduler.T_max)) / 2
           for base in scheduler.base_lrs]
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = lrs


def _max_rank_drift(model: torch.nn.Module) -> float:
    import torch.distributed as dist

    drift = torch.zeros(1, dtype=torch.float64)
    for p in model.state_dict().values():
        if not torch.is_floating_point(p):
            continue
        ref = p.detach().clone()
        dist.broadcast(ref, src=0)
        drift = torch.maximum(drift, (p.detach() - ref).abs().max().double().reshape(1).cpu())
    dist.all_reduce(drift, op=dist.ReduceOp.MAX)
    return float(drift[0])


def _load_model_state(model: torch.nn.Module, state: dict[str, Any], path: Path) -> None:
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        raise UserError(f"checkpoint {path} does not match the model: {' '.join(lines[1:3])[:300]}") from None


@torch.no_grad()
def _validate(model: torch.nn.Module, loader: DataLoader, loss_fn: Callable, config: Any, device: torch.device,
              names: list[str]) -> dict[str, float]:
    model.eval()
    metrics = _Metrics()
    for batch in loader:
        batch = to_device(batch, device)
        with _autocast(config, device):
            out = _as_output(loss_fn(model, batch, config))
        n = out.count if out.count is not None else _batch_count(batch)
        metrics.add(out, float(out.loss.detach()), n)
        for k in out.metrics:
            if k not in names:
                names.append(k)
    model.train()
    return {f"val_{k}": v for k, v in metrics.means(names).items()}


def _progress(enabled: bool, total: int, initial: int, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit="step", leave=False, dynamic_ncols=True)


def _log_epoch(log: Any, row: dict[str, Any], epochs: int, monitor: str) -> None:
    parts = [f"epoch {row['epoch']}/{epochs}"]
    for k, v in row.items():
        if k in ("epoch",) or v is None:
            continue
        parts.append(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}")
    log.info("  ".join(parts))


def _tensorboard(config: Any, layout: RunLayout) -> Any:
    if not config.tensorboard:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as exc:
        raise UserError("--tensorboard needs the tensorboard package: pip install tensorboard") from exc
    return SummaryWriter(log_dir=str(layout.tensorboard_dir))
