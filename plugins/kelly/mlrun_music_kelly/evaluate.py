"""``mlrun evaluate kelly CKPT``: the model's loss on held-out data next to an untrained model and a mean baseline.

Default data: the held-out pieces of the music21 corpus dataset for a model trained on it (``info.source`` is
``corpus``), the held-out songs of the drum-parts dataset for a GroovePredictor trained on it, else the model's
fixed held-out synthetic set (never trained on). ``--data DIR`` evaluates on the
model's real dataset found under DIR (a --datasets-dir folder) instead. On the corpus,
EmotionRecognizer also reports how often the sign of its valence agrees with the mode and how often its arousal
ranks two tempi of one piece (in one texture) in the right order, for the model, an untrained model and the mean
predictor.
"""

from __future__ import annotations

from typing import Any

import torch

from mlrun_music.errors import UserError
from mlrun_music.training import EvalContext

from .data import synthetic
from .models.loss import loss_value
from .models.networks import build
from .models.specs import BY_NAME


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
        # Without the dataset in DIR, splits_for falls back (corpus, drum parts, synthetic): none of them is DIR's.
        if splits.info.get("source") != spec.dataset:
            raise UserError(f"--data {ctx.data}: no {spec.dataset} dataset for {name} there")
        data, source = splits.train, f"{spec.dataset} at {splits.info.get('location')}"
        train_targets = data.y
    elif ctx.info.get("source") == "corpus":
        from .data import corpus

        train_data, _, data, report = corpus.splits(name, ctx.config, ctx.log)
        if data is None:
            raise UserError(f"the corpus dataset at {report['location']} has no held-out (test) piece; prepare more "
                            f"pieces (`mlrun kelly prepare-corpus --pieces N`)")
        source = (f"corpus held-out pieces ({report['test_pieces']} pieces, {report['test_samples']} samples; "
                  f"proxy labels)")
        train_targets = train_data.y
    elif ctx.info.get("source") == "drum-parts":
        from .data import drums

        train_data, _, data, report = drums.splits(ctx.config, ctx.log)
        if data is None:
            raise UserError(f"the drum parts in {report['location']} give no held-out (test) song; add songs with "
                            f"--drum-parts-dirs")
        source = (f"drum-parts held-out songs ({report['test_songs']} songs, {report['test_samples']} two-bar "
                  f"windows; proxy emotion inputs)")
        train_targets = train_data.y
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
    out = {"model": name, "data": source, "samples": len(y), "loss_kind": spec.loss,
           "loss": trained, "untrained_loss": untrained, "mean_baseline_loss": baseline, "mae": mae,
           "improvement_over_untrained": untrained / trained if trained > 0 else None}
    if name == "GroovePredictor" and spec.loss == "mse":
        # The two halves of the groove vector: timing offsets (0-15) and velocities (16-31).
        for label, pred in (("", ctx.model(x)), ("untrained_", untrained_model(x)), ("mean_", mean.expand_as(y))):
            out[f"{label}timing_mse"] = ((pred[:, :16] - y[:, :16]) ** 2).mean().item()
            out[f"{label}velocity_mse"] = ((pred[:, 16:] - y[:, 16:]) ** 2).mean().item()
    if name == "EmotionRecognizer" and ctx.info.get("source") == "corpus" and not ctx.data:
        from .data import corpus

        records = corpus.test_records(ctx.config)
        feats = torch.as_tensor([r["features"] for r in records], dtype=torch.float32, device=ctx.device)
        for label, predict in (("", ctx.model), ("untrained_", untrained_model),
                               ("mean_", lambda f: mean.expand(len(f), -1))):
            out.update({f"{label}{k}": v for k, v in emotion_checks(records, predict(feats).cpu().numpy()).items()})
    return out


def emotion_checks(records: list[dict[str, Any]], emotion: Any) -> dict[str, float]:
    """Valence sign vs mode (share of variants) and arousal order vs tempo (share of pairs of two tempi of one piece
    in one texture)."""
    import numpy as np

    valence, arousal = emotion[:, :32].mean(axis=1), emotion[:, 32:].mean(axis=1)
    agree = [(v > 0) == (r["mode"] == "major") for v, r in zip(valence, records)]
    by_piece: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(records):
        by_piece.setdefault((r["piece"], r.get("texture", "full")), []).append(i)
    right = []
    for idx in by_piece.values():
        for a in idx:
            for b in idx:
                if records[a]["bpm"] < records[b]["bpm"]:
                    right.append(1.0 if arousal[b] > arousal[a] else 0.5 if arousal[b] == arousal[a] else 0.0)
    return {"valence_sign_agreement": float(np.mean(agree)), "arousal_tempo_order": float(np.mean(right)),
            "tempo_pairs": len(right)}
