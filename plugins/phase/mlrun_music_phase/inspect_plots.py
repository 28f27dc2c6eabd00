"""``mlrun phase inspect``: PNG plots of predicted against true phase for a few chunks (try_model of the original
project)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlrun_music.errors import UserError


def inspect_chunks(checkpoint: Path | None, dataset_path: str, anticipation: float, count: int, seed: int, device: str,
                   output: str | None, shipped: str | None = None) -> list[Path]:
    """Plot ``count`` randomly picked chunks of ``dataset_path``; returns the PNG paths. No ``checkpoint``: the
    shipped model (``shipped`` names one other than the default)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlrun_music.api import default_output_dir, load_model
    from mlrun_music.audio import load_audio
    from mlrun_music.fileio import atomic_path
    from mlrun_music.training.run import pick_device

    from .apply import check_anticipation, predict_phase
    from .config import FPS, SAMPLE_RATE
    from .data.chunks import AUDIO_SUFFIXES
    from .data.labels import circular_distance, circular_interp, read_phase_file

    folder = Path(dataset_path)
    if not folder.is_dir():
        raise UserError(f"--dataset-path: {folder} is not a folder")
    chunks = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES
                    and p.with_suffix(".phase").is_file())
    if not chunks:
        raise UserError(f"--dataset-path: no chunks (audio + .phase) in {folder}")
    dev = pick_device(device)
    loaded = load_model("phase", checkpoint, str(dev), shipped=shipped)
    check_anticipation(anticipation, loaded.config)
    out_dir = Path(output) if output else default_output_dir(loaded.path, "inspect", loaded)
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(chunks), size=min(count, len(chunks)), replace=False).tolist())
    warm = loaded.config.warmup_seconds
    written = []
    for k in picked:
        audio_path = chunks[k]
        labels = read_phase_file(audio_path.with_suffix(".phase")).astype(np.float64)
        audio = load_audio(audio_path, SAMPLE_RATE)
        pred = predict_phase(loaded.model, audio, anticipation, dev)
        pos = np.arange(len(pred)) + anticipation * FPS
        valid = pos <= len(labels) - 1
        truth = np.where(valid, circular_interp(labels, np.clip(pos, 0, len(labels) - 1)), np.nan)
        t = np.arange(len(pred)) / FPS
        after = (t >= warm) & valid
        mae = float(circular_distance(pred[after], truth[after]).mean()) if after.any() else float("nan")
        fig, ax = plt.subplots(figsize=(12, 3.5))
        ax.axvspan(0, min(warm, t[-1] if len(t) else 0), color="0.9", label="warmup (ignored)")
        ax.plot(t, truth, lw=1.6, label=f"true phase at t + {anticipation:g} s")
        ax.plot(t, pred, lw=1, label="predicted")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("bar phase")
        ax.set_title(f"{audio_path.name}: circular MAE after warmup {mae:.3f} bar")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        png = out_dir / f"{audio_path.stem}_a{anticipation:g}.png"
        with atomic_path(png, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=80)
        plt.close(fig)
        written.append(png)
    return written
