"""``mlrun train phase``: the core's one-model training, with the original project's --continue-from meaning."""

from __future__ import annotations

from typing import Any

import attrs


def train(config: Any, ctx: Any) -> dict[str, Any]:
    """Train phase_tcn_mel through :func:`mlrun_music.training.run.default_train` (one ``fit``).

    In the original project ``--continue-from 30 --num-epochs 20`` continues a 30-epoch run for 20 more epochs;
    the core counts epochs in total, so a ``--num-epochs`` not above ``--continue-from`` is taken as additional
    epochs. The periodic checkpoint of that epoch must exist: the first run needs ``--keep-every``.
    """
    from mlrun_music import api
    from mlrun_music.training.run import default_train, write_resolved_config

    if config.continue_from >= 0 and config.epochs <= config.continue_from:
        total = config.continue_from + config.epochs
        if ctx.is_main:
            ctx.log.info("phase: --continue-from %d with --num-epochs %d: training %d more epochs (to epoch %d)",
                         config.continue_from, config.epochs, config.epochs, total)
        config = attrs.evolve(config, epochs=total)
        write_resolved_config(ctx, config)  # config.json shows the epoch count actually trained
    # --init-from (warm start from another run's weights) is the core's.
    return default_train(api.task("phase"), config, ctx)
