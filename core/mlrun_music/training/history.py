"""Per-epoch history: JSON, CSV and a learning-curve PNG (loss, metrics, learning rate, generalization gap)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..fileio import atomic_path, write_json, write_text


def write_history(rows: list[dict[str, Any]], json_path: Path, csv_path: Path) -> None:
    """Write the rows as a JSON list and a CSV table (columns: the union of keys in first-seen order)."""
    write_json(json_path, rows)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    write_text(csv_path, buf.getvalue())


def plot_curves(rows: list[dict[str, Any]], png_path: Path, title: str = "") -> None:
    """Draw loss, other metrics, learning rate and generalization gap (val - train loss) per epoch."""
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in rows]
    metric_names = sorted({k[len("train_"):] for r in rows for k in r if k.startswith("train_")} - {"loss"})
    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    ax = axes[0][0]
    for split in ("train", "val"):
        ys = [r.get(f"{split}_loss") for r in rows]
        if any(y is not None for y in ys):
            ax.plot(epochs, ys, marker="o", label=f"{split} loss")
    ax.set_title("loss"); ax.set_xlabel("epoch"); ax.legend()
    ax = axes[0][1]
    for name in metric_names:
        for split in ("train", "val"):
            ys = [r.get(f"{split}_{name}") for r in rows]
            if any(y is not None for y in ys):
                ax.plot(epochs, ys, marker=".", label=f"{split} {name}")
    ax.set_title("metrics"); ax.set_xlabel("epoch")
    if metric_names:
        ax.legend(fontsize=7)
    ax = axes[1][0]
    ax.plot(epochs, [r.get("lr") for r in rows], marker="o", color="tab:green")
    ax.set_title("learning rate"); ax.set_xlabel("epoch")
    if all((r.get("lr") or 0) > 0 for r in rows):
        ax.set_yscale("log")
    ax = axes[1][1]
    gap = [(r["val_loss"] - r["train_loss"]) if r.get("val_loss") is not None and r.get("train_loss") is not None
           else None for r in rows]
    ax.plot(epochs, gap, marker="o", color="tab:red"); ax.axhline(0, color="grey", lw=0.5)
    ax.set_title("generalization gap (val - train loss)"); ax.set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(png_path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
