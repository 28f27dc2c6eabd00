"""Runs that train several models one after another (kelly's five, chromasonic's three): one loop for every task.

Each model trains with the run's options plus its own (``per_model``, see :func:`mlrun_music.config.model_config`);
the run's summary lists every model's checkpoints.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..config import model_config
from ..errors import UserError


def train_each(config: Any, ctx: Any, names: Iterable[str],
               train_one: Callable[[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """Call ``train_one(name, options_of_that_model)`` for each model in order; ``train_one`` returns the model's
    summary (``best``: list of paths, ``final``: a path or None, as :func:`mlrun_music.training.run.summarize`).

    The run's summary: ``{"models": {name: summary}, "best": [...all best...], "final": [...all final...]}``."""
    summary: dict[str, Any] = {"models": {}, "best": [], "final": []}
    for name in names:
        options = model_config(config, name)
        own = config.per_model.get(name)
        if own and ctx.is_main:
            ctx.log.info("%s: own options %s", name, ", ".join(f"{k}={v}" for k, v in sorted(own.items())))
        entry = train_one(name, options)
        summary["models"][name] = entry
        summary["best"] += list(entry.get("best") or [])
        if entry.get("final"):
            summary["final"].append(entry["final"])
    if not summary["models"]:
        raise UserError("no model was trained")
    return summary
