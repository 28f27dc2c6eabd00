"""``mlrun train phase``: the core's one-model training, with the guide's --continue-from semantics."""

from __future__ import annotations

from typing import Any

import attrs


def train(config: Any, ctx: Any) -> dict[str, Any]:
    """Train phase_tcn_mel through :func:`mlrun_music.training.run.default_train` (one ``fit``).

    The guide continues a 30-epoch run with ``--continue-from 30 --num-epochs 20``, meaning 20 more epochs; the
    core counts epochs in total, so a ``--num-epochs`` not above ``--continue-from`` is taken as additional epochs.
    """
    import torch

    from mlrun_music import api
    from mlrun_music.training.run import default_train, write_resolved_config

    if config.num_threads:
        torch.set_num_threads(config.num_threads)

    if config.continue_from >= 0 and config.epochs <= config.continue_from:
        total = config.continue_from + config.epochs
        if ctx.is_main:
            ctx.log.info("phase: --continue-from %d with --num-epochs %d: training %d more epochs (to epoch %d)",
                         config.continue_from, config.epochs, config.epochs, total)
        config = attrs.evolve(config, epochs=total)
        write_resolved_config(ctx, config)  # config.json shows the epoch count actually trained
    if not config.init_from:
        return default_train(api.task("phase"), config, ctx)
    return _train_from_weights(config, ctx)


def _train_from_weights(config: Any, ctx: Any) -> dict[str, Any]:
    """``--init-from CKPT``: default_train's steps, with the model's weights taken from an earlier run.

    A fresh run (own optimizer, schedule and options such as augmentation), unlike --continue-from, which the core
    allows only with an unchanged config.
    """
    from mlrun_music import api
    from mlrun_music.errors import UserError
    from mlrun_music.task import resolve
    from mlrun_music.training.checkpoint import load_checkpoint
    from mlrun_music.training.fit import fit
    from mlrun_music.training.run import build_data, loss_of, model_spec, summarize
    from mlrun_music.training.seeding import seed_everything

    registered = api.task("phase")
    state = load_checkpoint(config.init_from, task="phase")
    data = build_data(registered, config, ctx)
    spec = model_spec(registered, config.model)
    seed_everything(config.seed)
    model = resolve(spec.factory)(config, data.info)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError) as exc:
        raise UserError(f"--init-from {config.init_from}: its weights do not fit this model "
                        f"({str(exc).splitlines()[0][:200]})") from None
    if ctx.is_main:
        ctx.log.info("phase: model weights from %s", config.init_from)
    result = fit(config=config, model=model, data=data, loss_fn=loss_of(registered, config.loss), ctx=ctx,
                 model_name=spec.name, model_info=data.info)
    return summarize(result)
