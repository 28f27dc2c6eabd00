"""``mlrun evaluate phase``: circular error, share within 0.05 bar and downbeat F-measure on held-out audio,
at several anticipations, next to an untrained model and a tempo-only guess."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Callable

import attrs
import numpy as np
import torch

from mlrun_music.errors import UserError

from .apply import predict_phase
from .config import FPS, SAMPLE_RATE, TRACKER_GAIN, TRACKER_RATE_GAIN
from .data.labels import circular_distance, circular_interp, phase_at, read_bars, read_phase_file, wrap_times
from .tracker import track


@attrs.define
class EvalItem:
    """One song or chunk: audio, the true phase at any frame position, reference downbeats, a bar length."""

    name: str
    audio: np.ndarray
    truth: Callable[[np.ndarray], np.ndarray]  # times (s, audio clock) -> phase or NaN
    downbeats: np.ndarray
    bar_seconds: float
    meter: str
    source: str = "?"


def load_items(folder: Path, max_items: int = 0) -> list[EvalItem]:
    """Rendered songs (folders with bars.csv) or chunks (audio + .phase) under ``folder``."""
    from mlrun_music.audio import load_audio

    from .data.songs import song_audio

    if not folder.is_dir():
        raise UserError(f"--data: {folder} is not a folder")
    items: list[EvalItem] = []
    songs = sorted(p.parent for p in folder.rglob("bars.csv"))
    if songs:
        for song in songs[: max_items or None]:
            audio_path = song_audio(song)
            if audio_path is None:
                continue
            bars = read_bars(song / "bars.csv")
            meters, source = "?", "?"
            if (song / "render.json").is_file():
                info = json.loads((song / "render.json").read_text(encoding="utf-8"))
                meters, source = "+".join(info.get("meters", [])), info.get("source", "?")
            audio = load_audio(audio_path, SAMPLE_RATE)
            items.append(EvalItem(song.relative_to(folder).as_posix(), audio,
                                  (lambda b: lambda t: phase_at(t, b))(bars), bars[:-1],
                                  float(np.median(np.diff(bars))), meters, source))
    else:
        from .data.chunks import AUDIO_SUFFIXES

        audio_files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        for a in audio_files:
            label = a.with_suffix(".phase")
            if not label.is_file():
                continue
            phases = read_phase_file(label).astype(np.float64)
            truth = (lambda ph: lambda t: np.where(t * FPS <= len(ph) - 1, circular_interp(ph, np.clip(
                t * FPS, 0, len(ph) - 1)), np.nan))(phases)
            refs = wrap_times(phases, FPS)
            bar = float(np.median(np.diff(refs))) if len(refs) > 1 else len(phases) / FPS
            items.append(EvalItem(a.stem, load_audio(a, SAMPLE_RATE), truth, refs, bar, "?"))
            if max_items and len(items) >= max_items:
                break
    if not items:
        raise UserError(f"--data: no rendered songs (bars.csv) or chunks (audio + .phase) under {folder}")
    return items


def score(pred: np.ndarray, item: EvalItem, anticipation: float, warmup: float, tol: float) -> dict[str, Any]:
    """Metrics of one predicted phase track (one value per frame) against the item's truth."""
    import mir_eval

    n = len(pred)
    times = np.arange(n) / FPS + anticipation  # the target time of each frame
    truth = item.truth(times)
    keep = (np.arange(n) / FPS >= warmup) & np.isfinite(truth)
    if not keep.any():
        return {"frames": 0}
    err = circular_distance(pred[keep], truth[keep])
    lo, hi = warmup + anticipation, (n - 1) / FPS + anticipation
    est = wrap_times(np.where(np.arange(n) / FPS >= warmup, pred, np.nan), FPS, anticipation)
    est = est[(est >= lo) & (est < hi)]
    valid_times = times[keep]
    ref = item.downbeats[(item.downbeats >= max(lo, valid_times[0])) & (item.downbeats < valid_times[-1])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=tol)) if len(ref) else float("nan")
    return {"frames": int(keep.sum()), "circ_mae_sum": float(err.sum()), "within_sum": float((err <= 0.05).sum()),
            "f": f, "ref": int(len(ref)), "est": int(len(est))}


def tempo_only(item: EvalItem, n: int, anticipation: float) -> np.ndarray:
    """The baseline: the true median bar length, with no idea where bars start (phase 0 at the audio start)."""
    return np.mod((np.arange(n) / FPS + anticipation) / item.bar_seconds, 1.0)


def _aggregate(rows: list[dict[str, Any]]) -> dict[str, Any]:
    frames = sum(r.get("frames", 0) for r in rows)
    fs = [r["f"] for r in rows if r.get("frames") and np.isfinite(r.get("f", np.nan))]
    refs = sum(r.get("ref", 0) for r in rows)
    # Predicted downbeats per true one: about 1 for a tracker on the right bar length, k for one whose phase wraps
    # k times per bar (jitter or a bar length 1/k too short).
    return {"circ_mae_bars": sum(r.get("circ_mae_sum", 0.0) for r in rows) / frames if frames else None,
            "within_0.05_bar": sum(r.get("within_sum", 0.0) for r in rows) / frames if frames else None,
            "downbeat_f": float(np.mean(fs)) if fs else None, "items": len(fs), "frames": frames,
            "downbeats_per_true_downbeat": sum(r.get("est", 0) for r in rows) / refs if refs else None}


def evaluate(ctx: Any) -> dict[str, Any]:
    """The evaluate hook."""
    from .models.tcn import build

    opts = ctx.options
    try:
        anticipations = [float(a) for a in opts.anticipations.split(",") if a.strip()]
    except ValueError:
        raise UserError(f"--anticipations must be comma-separated numbers, got '{opts.anticipations}'") from None
    if not anticipations or any(not 0 <= a <= 1 for a in anticipations):
        raise UserError("--anticipations must hold values in [0, 1]")
    if opts.tracker == "none" and (opts.tracker_gain != TRACKER_GAIN or opts.tracker_rate_gain != TRACKER_RATE_GAIN):
        raise UserError("--tracker-gain and --tracker-rate-gain apply to --tracker pll only")
    scores_report = None
    if opts.dataset in ("scores", "songs"):
        folder = _scores_folder(ctx) if opts.dataset == "scores" else _songs_folder(ctx)
        scores_report = json.loads((folder / f"{opts.dataset}_report.json").read_text(encoding="utf-8"))
    else:
        folder = _data_folder(ctx)
    items = load_items(folder, opts.max_items)
    warmup = ctx.config.warmup_seconds if opts.warmup_seconds < 0 else opts.warmup_seconds
    predictors: dict[str, Callable[[EvalItem, float], np.ndarray]] = {
        "model": lambda it, a: track(predict_phase(ctx.model, it.audio, a, ctx.device), opts.tracker,
                                     opts.tracker_gain, opts.tracker_rate_gain)}
    if opts.tracker != "none":  # the network's own phase beside the tracked one
        predictors["raw_model"] = lambda it, a: predict_phase(ctx.model, it.audio, a, ctx.device)
    if opts.baselines:
        torch.manual_seed(ctx.config.seed)
        untrained = build(ctx.config, ctx.info).to(ctx.device).eval()
        predictors["untrained_model"] = lambda it, a: predict_phase(untrained, it.audio, a, ctx.device)
        predictors["tempo_only"] = lambda it, a: tempo_only(it, len(it.audio) // 320, a)
    results: dict[str, Any] = {}
    per_meter: dict[str, dict[str, list]] = {}
    per_source: dict[str, dict[str, list]] = {}
    traces = {}
    for a in anticipations:
        key = f"anticipation_{a:g}"
        results[key] = {}
        for name, fn in predictors.items():
            rows = []
            for it in items:
                pred = fn(it, a)
                row = score(pred, it, a, warmup, opts.tolerance)
                rows.append(row)
                if name == "model":
                    per_meter.setdefault(it.meter, {}).setdefault(key, []).append(row)
                    per_source.setdefault(it.source, {}).setdefault(key, []).append(row)
                    if it is items[0]:
                        traces[a] = (pred, it.truth(np.arange(len(pred)) / FPS + a))
            results[key][name] = _aggregate(rows)
    meters = {m: {k: _aggregate(v) for k, v in by_a.items()} for m, by_a in sorted(per_meter.items())}
    sources = {s: {k: _aggregate(v) for k, v in by_a.items()} for s, by_a in sorted(per_source.items())}
    holdout = getattr(ctx.config, "default_holdout_meter", "")
    embedded = not ctx.config.chunks_path and ctx.data is None and scores_report is None
    summary = {"data": str(folder), "items": len(items), "warmup_seconds": warmup, "tolerance_seconds": opts.tolerance,
               "tracker": opts.tracker if opts.tracker == "none" else {
                   "name": opts.tracker, "gain": opts.tracker_gain, "rate_gain": opts.tracker_rate_gain},
               "by_anticipation": results, "model_by_meter": meters,
               **({"model_by_source": sources, f"{opts.dataset}_report": scores_report} if scores_report else {}),
               "held_out_meter": holdout if embedded else None,
               "tempo_only_baseline": "true median bar length, phase 0 at the audio start (knows tempo and meter, "
                                      "not where bars start)"}
    _plot(summary, traces, items[0].name, warmup, ctx.out_dir / "evaluation.png")
    summary["plot"] = str(ctx.out_dir / "evaluation.png")
    return summary


def _scores_folder(ctx: Any) -> Path:
    from .data.scores import build_scores

    opts = ctx.options
    if ctx.data:
        raise UserError("--data and --dataset scores name two data sets; give one")
    if ctx.split != "test":
        raise UserError("--dataset scores is one evaluation set; --split does not apply")
    return build_scores(per_source=opts.scores_per_source, sources=opts.scores_sources, first=opts.scores_first,
                        max_bars=opts.scores_max_bars, max_seconds=opts.scores_max_seconds,
                        soundfont=opts.scores_soundfont, timeout=opts.scores_timeout, log=ctx.log)


def _songs_folder(ctx: Any) -> Path:
    from .data.songset import build_songs

    opts = ctx.options
    if ctx.data:
        raise UserError("--data and --dataset songs name two data sets; give one")
    if ctx.split != "test":
        raise UserError("--dataset songs chooses its split with --songs-split; --split does not apply")
    return build_songs(dirs=opts.songs_dirs, split=opts.songs_split, max_seconds=opts.songs_max_seconds,
                       soundfont=opts.songs_soundfont, log=ctx.log)


def _data_folder(ctx: Any) -> Path:
    if ctx.data:
        return Path(ctx.data)
    if ctx.config.chunks_path:
        raise UserError(f"this checkpoint was trained on --chunks-path {ctx.config.chunks_path}; pass --data DIR "
                        f"with held-out rendered songs (bars.csv) or chunks (.phase)")
    from .data.default import prepare_default

    prepared = prepare_default(ctx.config, ctx.log)
    if ctx.split == "train":
        return prepared.root / "rendered" / "train"
    if ctx.split != "test":
        raise UserError(f"--split must be test or train for the embedded default, got '{ctx.split}'")
    return prepared.test_songs


def _plot(summary: dict[str, Any], traces: dict[float, tuple[np.ndarray, np.ndarray]], name: str, warmup: float,
          path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlrun_music.fileio import atomic_path

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5))
    res = summary["by_anticipation"]
    ants = [float(k.split("_", 1)[1]) for k in res]
    for name_p in next(iter(res.values())):
        ys = [res[k][name_p]["downbeat_f"] or 0.0 for k in res]
        ax1.plot(ants, ys, marker="o", label=name_p)
    ax1.set_xlabel("anticipation (s)")
    ax1.set_ylabel("downbeat F-measure (70 ms)")
    ax1.set_ylim(0, 1)
    ax1.grid(alpha=0.3)
    ax1.legend()
    ax1.set_title(f"held-out items: {summary['items']}")
    a0 = min(traces) if traces else None
    if a0 is not None:
        pred, truth = traces[a0]
        t = np.arange(len(pred)) / FPS
        sel = (t >= warmup) & (t < warmup + 30)
        ax2.plot(t[sel], truth[sel], lw=1.5, label="true phase")
        ax2.plot(t[sel], pred[sel], lw=1, label="predicted")
        ax2.set_xlabel("time (s)")
        ax2.set_ylabel("bar phase")
        ax2.set_title(f"{name}, anticipation {a0:g} s")
        ax2.legend(loc="upper right")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
