"""``mlrun train kelly``: the five models in sequence, one ``mlrun_music.training.fit`` each, in the guide's tree.

Run folder: ``models/<name>.json`` (RTNeural), ``exports/<Name>.onnx`` (the core's --onnx), ``checkpoints/<name>_{best,latest,final}.pt``,
``history/<name>_history.{json,csv}``, ``plots/<name>_loss.png``, ``data/<name>_report.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrun_music.config import build_config, to_dict
from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json
from mlrun_music.training import RunContext, RunLayout, fit
from mlrun_music.training.run import summarize
from mlrun_music.training.seeding import seed_everything

from .config import effective_settings
from .data.select import splits_for
from .models import build, loss
from .specs import MODELS, find


def layout_for(run_dir: Path, config: Any, stem: str) -> RunLayout:
    """Where fit writes for one model: the guide's checkpoints/, history/ and plots/ folders."""
    return RunLayout(
        checkpoint_dir=(run_dir / config.checkpoint_dir).resolve(),
        history_json=run_dir / "history" / f"{stem}_history.json",
        history_csv=run_dir / "history" / f"{stem}_history.csv",
        curves_png=run_dir / "plots" / f"{stem}_loss.png",
        tensorboard_dir=run_dir / "tensorboard" / stem,
        prefix=f"{stem}_",
    )


def train(config: Any, ctx: RunContext) -> dict[str, Any]:
    """Train the selected models (all five unless ``--model``), export each, and summarise."""
    from .export import export_all_formats

    chosen = [find(config.model)] if config.model else list(MODELS)
    summary: dict[str, Any] = {"models": {}}
    best_all, final_all = [], []
    for spec in chosen:
        settings = effective_settings(config, spec.name)
        overrides = {k: v for k, v in settings.items() if k != "dataset" and v != getattr(config, k)}
        model_config = build_config(type(config), {**to_dict(config), **overrides},
                                    where=f"model settings of {spec.name}: ") if overrides else config
        if overrides and ctx.is_main:
            ctx.log.info("%s: per-model settings %s", spec.name,
                         ", ".join(f"{k}={v}" for k, v in sorted(overrides.items())))
        data = splits_for(spec.name, model_config, ctx.log, force_synthetic=settings["dataset"] == "synthetic")
        if ctx.is_main:
            write_json(ctx.run_dir / "data" / f"{spec.file_stem}_report.json", data.report)
        seed_everything(model_config.seed)
        model = build(spec.name)
        result = fit(config=model_config, model=model, data=data, loss_fn=loss, ctx=ctx, model_name=spec.name,
                     model_info=data.info, layout=layout_for(ctx.run_dir, model_config, spec.file_stem))
        entry = summarize(result)
        entry["data_source"] = data.info.get("source")
        checkpoint = result.best_path or result.final_path
        if ctx.is_main and checkpoint is not None:
            entry["exports"] = export_all_formats(model_config, checkpoint, ctx.run_dir / "models", ctx.log)
        summary["models"][spec.name] = entry
        best_all += entry["best"]
        if entry["final"]:
            final_all.append(entry["final"])
    if not summary["models"]:
        raise UserError("no model was trained")
    summary["best"] = best_all
    summary["final"] = final_all
    return summary
