"""Training several melody models in one run (``--model both|all|...``): one dataset, one vocabulary.

Neural models go through the core's ``fit`` with file names prefixed by the model (``lstm_best.pt``,
``lstm_epoch_10.pt``, ``lstm_final.pt``, ``lstm_history.json``, ``lstm_curves.png``). The Markov baseline has no
gradient loop: it is fitted by counting and saved in the same checkpoint format, with a one-row history.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from mlrun_music.config import to_dict
from mlrun_music.training import RunLayout, fit
from mlrun_music.training.checkpoint import save_checkpoint
from mlrun_music.training.history import plot_curves, write_history
from mlrun_music.training.multi_model import train_each
from mlrun_music.training.run import build_data, summarize
from mlrun_music.training.seeding import seed_everything
from mlrun_music.task import resolve

from .config import model_names
from .models.neural import log_probs, loss


def train(config: Any, ctx: Any) -> dict[str, Any]:
    """Fit every model named by ``--model`` on the same data; returns a summary per model."""
    from mlrun_music.api import task

    registered = task(ctx.task)
    data = build_data(registered, config, ctx)

    def train_one(name: str, options: Any) -> dict[str, Any]:
        seed_everything(options.seed)  # each model starts from the same seeded state, whatever ran before
        model = resolve(registered.models[name][0].factory)(options, data.info)
        layout = RunLayout.default(ctx.run_dir, options, prefix=f"{name}_")
        if ctx.is_main:
            ctx.log.info("training %s (%d parameters)", name, sum(p.numel() for p in model.parameters()))
        if not any(True for _ in model.parameters()):
            return fit_by_counting(options, model, data, ctx, name, layout)
        return summarize(fit(config=options, model=model, data=data, loss_fn=loss, ctx=ctx, model_name=name,
                             model_info=data.info, layout=layout))

    return train_each(config, ctx, model_names(config.model, tuple(registered.models)), train_one)


def fit_by_counting(config: Any, model: torch.nn.Module, data: Any, ctx: Any, name: str,
                    layout: RunLayout) -> dict[str, Any]:
    """Count the training tunes, score train/val like an epoch, and save best/final checkpoints and history."""
    start = time.perf_counter()
    model.fit(data.train.tunes)
    row: dict[str, Any] = {"epoch": 1}
    for split, ds in (("train", data.train), ("val", data.val)):
        if ds is not None and len(ds):
            nll, acc = window_loss(model, ds, config.batch_size)
            row[f"{split}_loss"], row[f"{split}_accuracy"] = nll, acc
    row["lr"] = 0.0
    row["time_s"] = time.perf_counter() - start
    state = {"task": ctx.task, "plugin": ctx.plugin, "plugin_version": ctx.plugin_version, "model_name": name,
             "config": to_dict(config), "model_info": dict(data.info), "model": model.state_dict(),
             "trainer": {"epoch": 1, "history": [row], "fitted_by": "counting"}}
    best = layout.checkpoint(config.best_name, epoch=1, metric=row.get("val_loss", 0.0), model=name)
    final = layout.checkpoint(config.final_name, epoch=1, metric=0.0, model=name)
    if ctx.is_main:
        save_checkpoint(best, state)
        save_checkpoint(final, state)
        if config.history:
            write_history([row], layout.history_json, layout.history_csv)
        if config.plots:
            plot_curves([row], layout.curves_png, title=f"{ctx.task} / {name} (fitted by counting)")
        ctx.log.info("%s: fitted by counting in %.2f s; train loss %.4g, val loss %.4g, val accuracy %.3f", name,
                     row["time_s"], row.get("train_loss", math.nan), row.get("val_loss", math.nan),
                     row.get("val_accuracy", math.nan))
    return {"best": [str(best)], "final": str(final), "latest": str(final), "epochs": 1, "best_metric":
            row.get("val_loss"), "stopped_early": False, "last_epoch": row}


@torch.no_grad()
def window_loss(model: torch.nn.Module, ds: Any, batch_size: int) -> tuple[float, float]:
    """Mean cross-entropy and accuracy over a window dataset (what ``fit`` reports as loss/accuracy)."""
    total = correct = 0
    nll = 0.0
    model.eval()
    for i in range(0, len(ds), batch_size):
        batch = torch.stack([ds[j] for j in range(i, min(len(ds), i + batch_size))])
        lp = log_probs(model, batch[:, :-1])
        targets = batch[:, 1:]
        valid = targets != 0
        picked = lp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        nll -= float(picked[valid].sum())
        correct += int(((lp.argmax(-1) == targets) & valid).sum())
        total += int(valid.sum())
    return (nll / total if total else math.nan), (correct / total if total else math.nan)
