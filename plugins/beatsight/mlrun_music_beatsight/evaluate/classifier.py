"""``mlrun evaluate beatsight CHECKPOINT``: accuracy, per-class precision/recall/F1 (JSON + Markdown) and a
confusion-matrix PNG, next to the heuristic classifier and the majority class on the same hits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json, write_text

from ..transcribe import heuristic
from ..kits.classes import COMPONENTS
from ..data.classifier import HitDataset, HitSet, default_hits, export_folder, read_export, render_test_set


def predict(model: torch.nn.Module, hits: HitSet, device: Any, batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities ``[n, 12]`` for the (unaugmented) windows of ``hits``."""
    ds = HitDataset(hits, None)
    out = []
    with torch.no_grad():
        for start in range(0, len(ds), batch_size):
            x = torch.stack([ds[i][0] for i in range(start, min(start + batch_size, len(ds)))]).to(device)
            out.append(torch.softmax(model(x), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(COMPONENTS)), np.float32)


def per_class(labels: np.ndarray, pred: np.ndarray) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Precision, recall, F1 and support per class, and the confusion matrix [true, predicted]."""
    k = len(COMPONENTS)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    rows = []
    for i, c in enumerate(COMPONENTS):
        tp, fp, fn = cm[i, i], cm[:, i].sum() - cm[i, i], cm[i, :].sum() - cm[i, i]
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        rows.append({"component": c, "precision": float(p), "recall": float(r),
                     "f1": float(2 * p * r / (p + r)) if p + r else 0.0, "support": int(cm[i, :].sum())})
    return rows, cm


def plot_confusion(cm: np.ndarray, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mlrun_music.fileio import atomic_path

    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(COMPONENTS)), COMPONENTS, rotation=60, ha="right")
    ax.set_yticks(range(len(COMPONENTS)), COMPONENTS)
    for (i, j), v in np.ndenumerate(cm):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if v > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def markdown_table(rows: list[dict[str, Any]], accuracy: float, extra: str = "") -> str:
    lines = ["| component | precision | recall | F1 | support |", "| --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['component']} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['support']} |")
    return "\n".join([f"Accuracy: {accuracy:.4f}{extra}", "", *lines, ""])


def _hits_for(ctx: Any) -> tuple[HitSet, str]:
    config, split = ctx.config, ctx.split
    if ctx.data:
        if split not in ("train", "val", "test"):
            raise UserError(f"--split must be train, val or test, got {split!r}")
        use = "val" if split == "test" else split  # exports have train/ and val/ only
        hits, _ = read_export(ctx.data, use)
        return hits, f"{ctx.data} ({use})"
    if split == "test":
        hits = HitSet(**{k: v for k, v in zip(("segments", "labels"), _test_arrays(config, ctx.log))})
        return hits, f"held-out soundfont {Path(config.test_soundfont).name}"
    if ctx.info.get("dataset") == "folder":  # trained on an export: its own splits
        folder = export_folder(config)
        hits, _ = read_export(folder, "val" if split == "val" else "train")
        return hits, f"{folder} ({split})"
    train, val, _ = default_hits(config, ctx.log)
    if split not in ("train", "val"):
        raise UserError(f"--split must be train, val or test, got {split!r}")
    return (val if split == "val" else train), f"embedded default ({split})"


def kit_relative_accuracy(config: Any, probs: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy on the held-out kit's one-shots when toms and crashes are then named by their order among all the
    kit's hits (:mod:`..kits.kit_relative`, as ``process`` does), and that of a perfect classifier
    (:func:`..kits.kit_relative.ceiling`): the one-shot sequence is rendered again to measure each hit's pitch and
    brightness."""
    from ..kits import synth
    from ..kits.kit_relative import ceiling, rename

    hits = synth.one_shots(max(4, config.default_velocities), seed=99)  # the sequence render_test_set cut
    if len(hits) != len(labels):
        raise UserError(f"the cached test set holds {len(labels)} hits, the held-out one-shots {len(hits)}")
    audio = synth.render(hits, config.test_soundfont, "fluidsynth")
    times = np.array([h.time for h in hits])
    named = [COMPONENTS[int(i)] for i in probs.argmax(axis=1)]
    names = rename(audio, synth.SAMPLE_RATE, times, named, probs).components
    accuracy = float(np.mean([COMPONENTS.index(c) == int(y) for c, y in zip(names, labels)]))
    return accuracy, ceiling(audio, synth.SAMPLE_RATE, times, [h.component for h in hits])


def _test_arrays(config: Any, log: Any) -> tuple[np.ndarray, np.ndarray]:
    data = render_test_set(config, log)
    return data["segments"], data["labels"]


def evaluate(ctx: Any) -> dict[str, Any]:
    """The evaluate hook."""
    hits, source = _hits_for(ctx)
    if len(hits) == 0:
        raise UserError(f"nothing to evaluate: {source} holds no hits")
    probs = predict(ctx.model, hits, ctx.device)
    pred = probs.argmax(axis=1)
    labels = hits.labels
    rows, cm = per_class(labels, pred)
    accuracy = float((pred == labels).mean())
    present = [r for r in rows if r["support"]]
    result: dict[str, Any] = {
        "data": source, "n": int(len(labels)), "accuracy": accuracy,
        "macro_f1": float(np.mean([r["f1"] for r in present])) if present else 0.0,
        "majority_baseline_accuracy": float(np.bincount(labels).max() / len(labels)),
        "per_class": rows, "confusion_matrix": cm.tolist(), "components": list(COMPONENTS),
    }
    extra = f" on {len(labels)} hits of {source}"
    if ctx.split == "test" and not ctx.data:
        result["kit_relative_accuracy"], result["kit_relative_ceiling"] = kit_relative_accuracy(ctx.config, probs,
                                                                                                labels)
        extra += (f"; {result['kit_relative_accuracy']:.4f} with toms and crashes named kit-relative (a perfect "
                  f"classifier: {result['kit_relative_ceiling']:.4f})")
    if ctx.options is None or ctx.options.heuristic_baseline:
        h_pred, _ = heuristic.classify(hits.segments)
        result["heuristic_accuracy"] = float((h_pred == labels).mean())
        h_rows, _ = per_class(labels, h_pred)
        result["heuristic_per_class"] = h_rows
        extra += f" (heuristic baseline {result['heuristic_accuracy']:.4f}, majority class " \
                 f"{result['majority_baseline_accuracy']:.4f})"
    write_json(ctx.out_dir / "per_class.json", {"data": source, "accuracy": accuracy, "per_class": rows})
    write_text(ctx.out_dir / "per_class.md", markdown_table(rows, accuracy, extra))
    plot_confusion(cm, ctx.out_dir / "confusion_matrix.png", f"beatsight: {source}")
    return result
