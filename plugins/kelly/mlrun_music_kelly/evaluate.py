"""``mlrun evaluate kelly CKPT``: the model's loss on held-out data next to an untrained model and a mean baseline.

Default data: the model's fixed held-out synthetic set (never trained on). ``--data DIR`` evaluates on the
model's real dataset found under DIR (a datasets folder in the guide's layout) instead.
"""

from __future__ import annotations

from typing import Any

import torch

from mlrun_music.errors import UserError
from mlrun_music.training import EvalContext

from .data import synthetic
from .models import build, loss_value
from .specs import BY_NAME


@torch.no_grad()
def evaluate(ctx: EvalContext) -> dict[str, Any]:
    name = getattr(ctx.model, "model_name", None)
    if name not in BY_NAME:
        raise UserError(f"{ctx.checkpoint_path}: not a kelly model")
    spec = BY_NAME[name]
    if ctx.data:
        import attrs

        from .data.select import splits_for

        config = attrs.evolve(ctx.config, datasets_dir=ctx.data, use_synthetic=False, dataset="",
                              **{f: "" for f in ("deam_path", "lakh_path", "maestro_path", "groove_path",
                                                 "chords_path")})
        splits = splits_for(name, config, ctx.log)
        if splits.info.get("source") == "synthetic":
            raise UserError(f"--data {ctx.data}: no {spec.dataset} dataset for {name} there")
        data, source = splits.train, f"{spec.dataset} at {splits.info.get('location')}"
        train_targets = data.y
    else:
        data, source = synthetic.held_out(name), "held-out synthetic (fixed seed, never trained on)"
        train_targets = synthetic.make(name, 2048, ctx.config.seed).y
    x, y = data.x.to(ctx.device), data.y.to(ctx.device)
    trained = loss_value(spec.loss, ctx.model(x), y).item()
    torch.manual_seed(ctx.config.seed)
    untrained_model = build(name).to(ctx.device).eval()
    untrained = loss_value(spec.loss, untrained_model(x), y).item()
    mean = train_targets.mean(dim=0, keepdim=True).to(ctx.device)
    if spec.loss == "kl_div":
        mean = mean / mean.sum()
    baseline = loss_value(spec.loss, mean.expand_as(y), y).item()
    mae = (ctx.model(x) - y).abs().mean().item()
    return {"model": name, "data": source, "samples": len(y), "loss_kind": spec.loss,
            "loss": trained, "untrained_loss": untrained, "mean_baseline_loss": baseline, "mae": mae,
            "improvement_over_untrained": untrained / trained if trained > 0 else None}
