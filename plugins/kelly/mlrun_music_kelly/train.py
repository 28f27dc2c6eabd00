"""``mlrun train kelly``: the five models in sequence, one ``mlrun_music.training.fit`` each, in the
folder tree of train.py of the original project.

Run folder: ``models/<name>.json`` (RTNeural), ``exports/<Name>.onnx`` (the core's --onnx), ``checkpoints/<name>_{best,latest,final}.pt``,
``history/<name>_history.{json,csv}``, ``plots/<name>_loss.png``, ``data/<name>_report.json``.

Audio features (EmotionRecognizer's input, HarmonyPredictor's audio half) are log-mel values around -6 with a
spread of about 1 per band: on real data the model trains on them centred per sample (each sample's mean over its
audio bands subtracted, which leaves the spectrum's shape) and standardised with the training split's mean and
spread. Both steps are linear, so afterwards they are folded into the first dense layer of the best and final
checkpoints (W' = (W / std) C with C the centring, b' = b - W @ (mean / std)), and every export takes the raw
features the plugin computes. The latest
checkpoint (the resume point) stays in the standardised space it trains in; folded files carry
``kelly_folded: true``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlrun_music.fileio import write_json
from mlrun_music.training import RunContext, RunLayout, fit
from mlrun_music.training.multi_model import train_each
from mlrun_music.training.run import summarize
from mlrun_music.training.seeding import seed_everything

from .config import models_in_run
from .data.select import splits_for
from .models.loss import loss
from .models.networks import build
from .models.specs import find


def layout_for(run_dir: Path, config: Any, stem: str) -> RunLayout:
    """Where fit writes for one model: checkpoints/, history/ and plots/ folders as train.py
    of the original project has them."""
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
    from .data.select import check_datasets_dir
    from .rtneural.export import export_all_formats

    check_datasets_dir(config)

    def train_one(name: str, options: Any) -> dict[str, Any]:
        spec = find(name)
        data = splits_for(spec.name, options, ctx.log)
        if ctx.is_main:
            write_json(ctx.run_dir / "data" / f"{spec.file_stem}_report.json", data.report)
        norm = standardisation(spec.name, data)
        if norm is not None:
            data = standardised(data, *norm)
            if ctx.is_main:
                ctx.log.info("%s: audio features standardised for training (folded into the first layer after)",
                             spec.name)
        seed_everything(options.seed)
        result = fit(config=options, model=build(spec.name), data=data, loss_fn=loss, ctx=ctx, model_name=spec.name,
                     model_info=data.info, layout=layout_for(ctx.run_dir, options, spec.file_stem))
        entry = summarize(result)
        if norm is not None and ctx.is_main:
            for path in [*entry["best"], entry["final"]]:
                if path:
                    fold_checkpoint(Path(path), *norm)
        entry["data_source"] = data.info.get("source")
        checkpoint = result.best_path or result.final_path
        if ctx.is_main and checkpoint is not None:
            entry["exports"] = export_all_formats(options, checkpoint, ctx.run_dir / "models", ctx.log)
        return entry

    return train_each(config, ctx, models_in_run(config), train_one)


#: Input dimensions that hold audio features, per model.
AUDIO_DIMS = {"EmotionRecognizer": slice(0, 128), "HarmonyPredictor": slice(64, 128)}


def standardisation(name: str, data: Any) -> tuple[Any, Any] | None:
    """(mean, std) per input dimension for a model trained on real audio features, else None (identity outside
    the audio dimensions; a constant dimension keeps std 1)."""
    import numpy as np

    if name not in AUDIO_DIMS or data.info.get("source") not in ("corpus", "deam"):
        return None
    dims = AUDIO_DIMS[name]
    x = centred(data.train.x.numpy().astype(np.float64), dims)
    mean, std = np.zeros(x.shape[1]), np.ones(x.shape[1])
    mean[dims], spread = x[:, dims].mean(axis=0), x[:, dims].std(axis=0)
    std[dims] = np.where(spread > 1e-6, spread, 1.0)
    data.info["input_standardisation"] = ("audio bands centred per sample and standardised; folded into the first "
                                          "layer of the best and final checkpoints")
    return mean.astype(np.float32), std.astype(np.float32), dims


def centred(x: Any, dims: slice) -> Any:
    """``x`` with each row's mean over ``dims`` subtracted from those dimensions."""
    x = x.copy()
    x[:, dims] -= x[:, dims].mean(axis=1, keepdims=True)
    return x


def standardised(data: Any, mean: Any, std: Any, dims: slice) -> Any:
    """The splits with centred and standardised inputs."""
    import attrs
    import numpy as np

    from .data.common import Pairs

    def scale(part: Any) -> Any:
        if part is None:
            return None
        return Pairs((centred(part.x.numpy().astype(np.float64), dims) - mean) / std, part.y.numpy())

    return attrs.evolve(data, train=scale(data.train), val=scale(data.val), test=scale(data.test))


def fold_checkpoint(path: Path, mean: Any, std: Any, dims: slice) -> None:
    """Fold the centring and standardisation into the first dense layer of the checkpoint at ``path`` (once)."""
    import torch

    from mlrun_music.training.checkpoint import load_checkpoint, save_checkpoint

    state = load_checkpoint(path, "kelly")
    if state.get("kelly_folded"):
        return
    weights = state["model"]
    w, b = weights["layers.0.weight"].double(), weights["layers.0.bias"].double()
    m, s = torch.as_tensor(mean, dtype=torch.float64), torch.as_tensor(std, dtype=torch.float64)
    scaled = w / s
    folded = scaled.clone()
    folded[:, dims] = scaled[:, dims] - scaled[:, dims].mean(dim=1, keepdim=True)  # (W / std) C, C symmetric
    weights["layers.0.weight"] = folded.to(torch.float32)
    weights["layers.0.bias"] = (b - w @ (m / s)).to(torch.float32)
    state.pop("format", None)
    save_checkpoint(path, {**state, "kelly_folded": True})
