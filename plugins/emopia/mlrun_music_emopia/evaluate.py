"""`mlrun evaluate emopia CHECKPOINT`: test loss and perplexity (next to unigram and trigram token models),
objective metrics of generated vs real music per emotion, controllability measured by an emotion classifier trained
on the training clips, and the overlap of per-piece feature distributions (``mlrun_music.symbolic_features``) of
generated pieces and the held-out real clips, for the model and for pieces sampled from the trigram model."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path
from mlrun_music.symbolic_features import FEATURES as OVERLAP_FEATURES
from mlrun_music.symbolic_features import midi_features, overlap_table

from . import tokens
from .config import EmopiaEvalConfig
from .data import loader as data_mod
from .emotions import QUADRANTS
from .features import FEATURES, EmotionClassifier, matrix, metrics
from .generate import MAX_SECONDS, MIN_SECONDS, emotion_steering, guidance_for, sample, write_midi
from .models.ngram import TrigramModel


def _run_dir(ctx: Any) -> Path:
    """The training run's folder (its split.json and generated corpus): the core records it in checkpoints."""
    if ctx.run_dir is not None:
        return Path(ctx.run_dir)
    parent = Path(ctx.checkpoint_path).resolve().parent
    return parent.parent if parent.name == "checkpoints" else parent


@torch.no_grad()
def _loss(model: Any, items: list, batch_size: int, device: Any) -> tuple[float, int]:
    """Mean next-token cross-entropy (nats) over all real tokens of ``items``."""
    ds = data_mod.Windows(items)
    pad = tokens.vocab().pad
    total, count = 0.0, 0
    for i in range(0, len(ds), batch_size):
        batch = data_mod.collate([ds[j] for j in range(i, min(len(ds), i + batch_size))])
        logits = model(batch["tokens"].to(device), batch["emotion"].to(device), batch["duration"].to(device))
        tgt = batch["targets"].to(device)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), tgt.reshape(-1),
                                               ignore_index=pad, reduction="sum")
        total += float(ce)
        count += int((tgt != pad).sum())
    return total / max(count, 1), count


def _unigram_loss(train_ids: list[list[int]], items: list) -> float:
    """Cross-entropy of a unigram (token frequency) model from the training tokens: the baseline."""
    v = tokens.vocab()
    counts = np.ones(v.size)
    for seq in train_ids:
        np.add.at(counts, np.asarray(seq + [v.eos]), 1)
    logp = np.log(counts / counts.sum())
    tgt = np.concatenate([w[1:] for w, _, _ in items])
    return float(-logp[tgt].mean())


def _clip_features(prep: data_mod.Prepared, clips: list) -> tuple[list[dict[str, float]], list[int]]:
    rows, labels = [], []
    for c in clips:
        score, _ = tokens.piano_score(tokens.load_score(str(c.path)))
        m = metrics(score)
        if m is not None:
            rows.append(m)
            labels.append(c.quadrant)
    return rows, labels


def evaluate(ctx: Any) -> dict[str, Any]:
    """The evaluate hook (see module docstring)."""
    opts = ctx.options or EmopiaEvalConfig()
    config, info, model, device = ctx.config, ctx.info, ctx.model, ctx.device
    split = ctx.split
    if split not in ("train", "val", "test"):
        raise UserError(f"--split must be train, val or test, got '{split}'")
    run_dir = _run_dir(ctx)
    prep = data_mod.prepare(config, run_dir, ctx.log, data_dir=ctx.data, save_split=False,
                            reuse_split=not ctx.data, restart=False)
    eval_clips = prep.clips[split]
    if not eval_clips:
        raise UserError(f"the {split} split of {prep.root} is empty")
    train_clips = prep.clips["train"]
    if not train_clips:
        raise UserError(f"the training split of {prep.root} is empty: the emotion classifier needs it")

    # 1. Likelihood on held-out windows, next to a unigram baseline.
    items = data_mod.window_items(prep, eval_clips, config.max_seq_len)
    nll, n_tokens = _loss(model, items, opts.batch_size, device)
    base = _unigram_loss([prep.ids[c.clip_id] for c in train_clips], items)
    v = tokens.vocab()
    trigram = TrigramModel(([v.bos, *prep.ids[c.clip_id], v.eos] for c in train_clips), v.size, config.max_seq_len)
    tri_nll, tri_n = trigram.nll((w for w, _, _ in items), v.pad)
    guidance = guidance_for(info, opts.guidance, str(ctx.checkpoint_path))
    result: dict[str, Any] = {
        "data": prep.source, "split": split, "clips": len(eval_clips), "tokens": n_tokens,
        "loss": nll, "perplexity": math.exp(nll), "baseline_unigram_perplexity": math.exp(base),
        "baseline_trigram_perplexity": math.exp(tri_nll / max(tri_n, 1)), "guidance": guidance,
    }

    # 2. Emotion classifier on objective metrics of real clips.
    x_tr, y_tr = _clip_features(prep, train_clips)
    x_ev, y_ev = _clip_features(prep, eval_clips)
    clf = EmotionClassifier().fit(matrix(x_tr), np.asarray(y_tr) - 1)
    pred_real = clf.predict(matrix(x_ev)) + 1
    real_acc = float(np.mean(pred_real == np.asarray(y_ev)))
    per_q_real = {f"Q{q}": float(np.mean(pred_real[np.asarray(y_ev) == q] == q))
                  for q in (1, 2, 3, 4) if (np.asarray(y_ev) == q).any()}

    # 3. Generate per trained emotion; same metrics, same classifier.
    trained = [int(q) for q in info.get("trained_quadrants", (1, 2, 3, 4))]
    sample_dir = ctx.out_dir / "samples"
    gen_rows, per_q_gen, durations, gen_files = _generate(model, info, opts, clf, trained, sample_dir, ctx.log,
                                                          steer=False, guidance=guidance)
    gen_acc = float(np.mean(list(per_q_gen.values())))
    within = [abs(d["seconds"] - d["target"]) <= 0.1 * d["target"] for d in durations]

    # 4. Metrics of real vs generated music per emotion.
    table: dict[str, Any] = {}
    for q in (1, 2, 3, 4):
        real = [r for r, y in zip(x_ev, y_ev) if y == q]
        entry: dict[str, Any] = {}
        if real:
            entry["real"] = {f: float(np.mean([r[f] for r in real])) for f in FEATURES}
        if gen_rows.get(q):
            entry["generated"] = {f: float(np.mean([r[f] for r in gen_rows[q]])) for f in FEATURES}
        if entry:
            table[f"Q{q} ({QUADRANTS[q][0]})"] = entry
    result.update({
        "classifier": {"kind": "logistic regression on objective metrics", "features": list(FEATURES),
                       "train_clips": len(y_tr), "chance": 0.25,
                       "real_accuracy": real_acc, "real_per_quadrant": per_q_real,
                       "generated_accuracy": gen_acc, "generated_per_quadrant": per_q_gen,
                       "generated_vs_real": gen_acc / real_acc if real_acc > 0 else None},
        "duration_control": {"samples": len(durations), "within_10_percent": float(np.mean(within)),
                             "max_relative_error": float(max(abs(d["seconds"] - d["target"]) / d["target"]
                                                             for d in durations))},
        "metrics_per_emotion": table,
        "samples_dir": str(sample_dir),
    })
    result["classifier"]["generated_cues"] = _cues(gen_rows, info)

    # 5. Feature overlap with the held-out clips: the model's pieces and the trigram model's.
    real_features = [f for f in (midi_features(c.path) for c in eval_clips) if f is not None]
    _, _, _, tri_files = _generate(trigram, info, opts, None, trained, ctx.out_dir / "samples-trigram", ctx.log,
                                   steer=False, guidance=1.0)
    result["feature_overlap"] = {
        "kind": "overlapping area of the Gaussian KDEs of per-piece features, generated vs the real clips of the "
                "split (1 = same distribution)",
        "model": _overlap(real_features, gen_files),
        "trigram": _overlap(real_features, tri_files)}
    if opts.steer:
        steered_dir = ctx.out_dir / "samples-steered"
        rows_s, per_q_s, dur_s, files_s = _generate(model, info, opts, clf, trained, steered_dir, ctx.log,
                                                    steer=True, guidance=guidance)
        acc_s = float(np.mean(list(per_q_s.values())))
        result["steered"] = {
            "kind": "generation-time steering: pitches constrained to a key of the quadrant's mode (tonic and "
                    "fifth +tonic_bias), onset gaps, tempo and chord size biased by density_bias toward the "
                    "quadrant's arousal",
            "tonic_bias": opts.tonic_bias, "density_bias": opts.density_bias,
            "generated_accuracy": acc_s, "generated_per_quadrant": per_q_s,
            "generated_vs_real": acc_s / real_acc if real_acc > 0 else None,
            "generated_cues": _cues(rows_s, info),
            "within_10_percent": float(np.mean([abs(d["seconds"] - d["target"]) <= 0.1 * d["target"]
                                                for d in dur_s])),
            "metrics_per_emotion": {f"Q{q} ({QUADRANTS[q][0]})": {f: float(np.mean([r[f] for r in rows]))
                                                                  for f in FEATURES}
                                    for q, rows in rows_s.items() if rows},
            "feature_overlap": _overlap(real_features, files_s),
            "samples_dir": str(steered_dir)}
    _plot(table, per_q_real, per_q_gen, ctx.out_dir / "comparison.png")
    result["plot"] = str(ctx.out_dir / "comparison.png")
    return result


def _overlap(real: list[dict[str, float]], files: list[Path]) -> dict[str, Any]:
    """The feature-overlap table of the generated ``files`` against the real pieces' features."""
    generated = [f for f in (midi_features(p) for p in files) if f is not None]
    return {"features": list(OVERLAP_FEATURES), **overlap_table(real, generated)}


def _generate(model: Any, info: dict[str, Any], opts: EmopiaEvalConfig, clf: EmotionClassifier | None,
              trained: list[int], sample_dir: Path, log: Any, steer: bool, guidance: float
              ) -> tuple[dict[int, list], dict[str, float], list[dict], list[Path]]:
    """Samples per trained quadrant (steered or not, with classifier-free ``guidance``), written as MIDI; their
    metrics, the share the classifier recognises (no classifier: not measured), durations and files."""
    gen_rows: dict[int, list[dict[str, float]]] = {}
    per_q_gen: dict[str, float] = {}
    durations: list[dict[str, float]] = []
    files: list[Path] = []
    for q in trained:
        seconds = opts.duration or float(info.get("mean_seconds", {}).get(f"Q{q}", 30.0))
        seconds = min(max(seconds, MIN_SECONDS), MAX_SECONDS)
        steering = (emotion_steering(q, opts.samples_per_emotion, opts.seed + q, tonic_bias=opts.tonic_bias,
                                     density_bias=opts.density_bias) if steer else None)
        samples = sample(model, info, q, seconds, n=opts.samples_per_emotion, temperature=opts.temperature,
                         top_k=opts.top_k, seed=opts.seed + q, steering=steering, guidance=guidance,
                         fill_beats=opts.fill_beats)
        rows = []
        for i, s in enumerate(samples):
            path = sample_dir / f"{QUADRANTS[q][0]}_Q{q}_{i:02d}.mid"
            length = write_midi(s.score, path)
            files.append(path)
            durations.append({"quadrant": q, "target": seconds, "seconds": length})
            m = metrics(s.score)
            if m is not None:
                m["onsets_per_second"] = _onset_rate(s.score)
                rows.append(m)
        gen_rows[q] = rows
        if clf is None:
            continue
        if rows:
            pred = clf.predict(matrix(rows)) + 1
            per_q_gen[f"Q{q}"] = float(np.mean(pred == q))
        else:
            per_q_gen[f"Q{q}"] = 0.0
        log.info("Q%d (%s)%s: %d samples of %.0f s, classifier recognises %.2f", q, QUADRANTS[q][0],
                 " steered" if steer else "", len(samples), seconds, per_q_gen[f"Q{q}"])
    return gen_rows, per_q_gen, durations, files


def _onset_rate(score: Any) -> float:
    """Distinct note onsets per second (the `scores` dataset's arousal cue)."""
    notes = [n for t in score.tracks for n in t.notes]
    starts = {round(float(n.time), 3) for n in notes}
    span = max(float(max(n.time + n.duration for n in notes)) - min(starts), 1e-3)
    return len(starts) / span


def _cues(rows: dict[int, list[dict[str, float]]], info: dict[str, Any]) -> dict[str, Any]:
    """Per quadrant: the share of pieces whose key profile leans the quadrant's way (major for Q1/Q4, minor for
    Q2/Q3) and their mean onset rate."""
    out: dict[str, Any] = {}
    for q, rs in rows.items():
        if rs:
            major = np.array([r["major_minor"] > 0 for r in rs])
            out[f"Q{q}"] = {"mode_as_prompted": float(np.mean(major == (q in (1, 4)))),
                            "onsets_per_second": float(np.mean([r["onsets_per_second"] for r in rs]))}
    if out:
        out["mode_as_prompted"] = float(np.mean([v["mode_as_prompted"] for v in out.values()]))
    return out


def _plot(table: dict[str, Any], real_acc: dict[str, float], gen_acc: dict[str, float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    panels = list(FEATURES) + ["classifier"]
    cols = 5
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.8 * rows))
    x = np.arange(len(names))
    for ax, feat in zip(axes.flat, panels):
        if feat == "classifier":
            r = [real_acc.get(n.split()[0], np.nan) for n in names]
            g = [gen_acc.get(n.split()[0], np.nan) for n in names]
            ax.axhline(0.25, color="grey", lw=0.8, ls="--")
            ax.set_ylim(0, 1.05)
        else:
            r = [table[n].get("real", {}).get(feat, np.nan) for n in names]
            g = [table[n].get("generated", {}).get(feat, np.nan) for n in names]
        ax.bar(x - 0.2, r, 0.4, label="real")
        ax.bar(x + 0.2, g, 0.4, label="generated")
        ax.set_xticks(x, [n.split()[0] for n in names])
        ax.set_title(feat if feat != "classifier" else "emotion recognised", fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
