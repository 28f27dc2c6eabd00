"""``mlrun chromasonic compare RUN...``: every model of the given runs on the same held-out tunes, as a table
(JSON + Markdown), bar charts and a radar chart."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from mlrun_music.api import load_model
from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json, write_text

from .heldout import evaluate_model, held_out_set

BARS = ("accuracy", "perplexity_score", "diversity", "coherence", "musicality", "overall")
RADAR = ("accuracy", "perplexity_score", "diversity", "coherence", "musicality")
MODEL_ORDER = {"lstm": 0, "transformer": 1, "markov": 2}
#: Column titles of the feature-overlap tables (``metrics.MELODY_FEATURES``).
FEATURE_TITLES = {"pitch_class_entropy": "pitch-class entropy", "scale_consistency": "scale consistency",
                  "groove_consistency": "groove consistency", "empty_beat_rate": "empty beats",
                  "pitch_range": "pitch range", "note_density": "note density"}


def checkpoints_of(run: str) -> list[Path]:
    """A checkpoint file, or for a run folder each model's best checkpoint (final when there is no best)."""
    path = Path(run)
    if path.is_file():
        return [path]
    folder = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    if not folder.is_dir():
        raise UserError(f"{run}: neither a checkpoint file nor a run folder")
    found: dict[str, Path] = {}
    for suffix in ("_final.pt", "_best.pt"):  # best wins
        for f in sorted(folder.glob(f"*{suffix}")):
            found[f.name[: -len(suffix)]] = f
    if not found:
        raise UserError(f"{run}: no <model>_best.pt or <model>_final.pt checkpoints in {folder}")
    return [found[k] for k in sorted(found, key=lambda k: (MODEL_ORDER.get(k, 9), k))]


def compare(runs: list[str], options: Any, output: str | None = None, split: str = "test",
            device: str = "cpu") -> dict[str, Any]:
    """Evaluate every model of ``runs`` and write the comparison; returns rows and the Markdown table."""
    log = logging.getLogger("mlrun_music")
    ckpts = [c for r in runs for c in checkpoints_of(r)]
    first = Path(runs[0])
    out_dir = Path(output) if output else ((first.parent.parent if first.is_file() and first.parent.name ==
                                            "checkpoints" else first) / "comparison_results")
    rows = []
    for ckpt in ckpts:
        loaded = load_model("chromasonic", ckpt, device)
        name = loaded.checkpoint.get("model_name", ckpt.stem)
        # several runs: say which run each row comes from
        label = name if len(runs) == 1 else f"{name} ({_run_name(ckpt)})"
        ds = held_out_set(loaded.config, loaded.info, split, None, log, out_dir, "chromasonic")
        log.info("evaluating %s (%s) on %d held-out tunes", label, ckpt, len(ds.tunes))
        row = evaluate_model(loaded.model, loaded.info, ds, options, device, None, label)
        row["checkpoint"] = str(ckpt)
        row["test_set"] = hashlib.sha1(repr([m.source + m.title for m in ds.melodies]).encode()).hexdigest()[:12]
        rows.append(row)
    same_set = len({r["test_set"] for r in rows}) == 1
    same_vocab = len({r["vocab_size"] for r in rows}) == 1
    markdown = table_markdown(rows, same_set and same_vocab)
    result = {"split": split, "options": {k: getattr(options, k) for k in ("num_generated", "opening_length",
              "generate_length", "temperature", "generation_seed", "rhythm")}, "comparable": same_set and same_vocab,
              "models": rows}
    write_json(out_dir / "model_comparison.json", result)
    write_text(out_dir / "model_comparison.md", markdown + "\n")
    bar_charts(rows, out_dir / "model_comparison.png")
    radar_chart(rows, out_dir / "model_radar.png")
    return {**result, "markdown": markdown, "out_dir": str(out_dir)}


def _run_name(ckpt: Path) -> str:
    return ckpt.parent.parent.name if ckpt.parent.name == "checkpoints" else ckpt.parent.name


def table_markdown(rows: list[dict[str, Any]], comparable: bool) -> str:
    head = ("| model | accuracy | perplexity | ppl score | diversity | coherence | musicality | overall |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['model']} | {r['accuracy']:.3f} | {r['perplexity']:.2f} | {r['perplexity_score']:.3f} | "
                     f"{r['diversity']:.3f} | {r['coherence']:.3f} | {r['musicality']:.3f} | {r['overall']:.3f} |")
    if rows:
        ref = rows[0]["reference"]
        lines.append(f"| real held-out tunes | - | - | - | {ref['diversity']:.3f} | {ref['coherence']:.3f} | "
                     f"{ref['musicality']:.3f} | - |")
    lines += ["", "| metre | onsets on the eighth grid | on the sixteenth grid | bar completeness | syncopation |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, fig in [(r["model"], r) for r in rows] + ([("real held-out tunes", rows[0]["reference"])]
                                                         if rows else []):
        lines.append(f"| {name} | {100 * fig['on_eighth_grid']:.1f} % | {100 * fig['on_sixteenth_grid']:.1f} % | "
                     f"{100 * fig['bar_completeness']:.1f} % | {100 * fig['syncopation']:.1f} % |")
    lines += ["", *overlap_tables(rows)]
    base = next((r for r in rows if r["model"].startswith("markov")), None)
    notes = []
    if base is not None:
        for r in rows:
            if r is not base:
                notes.append(f"{r['model']} against {base['model']}: {versus(r, base)}")
                if "mean" in r["feature_overlap"] and "mean" in base["feature_overlap"]:
                    notes.append(f"{r['model']} against {base['model']}: "
                                 f"{overlap_versus(r['feature_overlap'], base['feature_overlap'])}")
    lstms = [r for r in rows if r["model"].startswith("lstm")]
    transformers = [r for r in rows if r["model"].startswith("transformer")]
    if len(lstms) == 1 and len(transformers) == 1:
        notes.append(f"{transformers[0]['model']} against {lstms[0]['model']}: {versus(transformers[0], lstms[0])}")
    for r in rows:
        notes.append(f"{r['model']}: {metre_versus_real(r, r['reference'])}")
    if not comparable:
        notes.append("WARNING: the models were scored on different held-out sets or vocabularies; "
                     "perplexities are not comparable")
    held = rows[0]["held_out_tunes"] if rows else 0
    notes.append("metre: each continuation in its tune's metre after its opening; onsets on the metre's eighth / "
                 "sixteenth grid; bar completeness: bar lines that no note crosses; syncopation: notes starting off "
                 "a beat and lasting past the next beat")
    notes.append("feature overlap: the overlapping area (0-1) of the Gaussian kernel-density estimates of per-piece "
                 "features (Yang & Lerch 2020), generated continuations against the real continuations of the same "
                 "openings, each laid out at 120 bpm with bars of its tune's metre; polyphony (1 for every melody) "
                 "and tempo (not generated) are left out; 'other held-out tunes': the real continuations of the "
                 "held-out tunes that gave no opening, the overlap real tunes reach")
    skipped = sorted({r["feature_overlap"]["skipped"] for r in rows if "skipped" in r["feature_overlap"]})
    notes += [f"feature overlap not computed: {why}" for why in skipped]
    gen = rows[0]["generation"] if rows else {}
    rule = ("metre rule: no event crosses a bar line, one starting off the eighth grid ends by the next beat"
            if gen.get("rhythm") == "metre" else "free rhythm: no sampling rule")
    notes.append(f"{held} held-out tunes, {rows[0]['scored_events'] if rows else 0} scored events; generated: "
                 f"{gen.get('melodies', 0)} melodies from held-out openings at temperature {gen.get('temperature')}, "
                 f"{rule}")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes)


def overlap_tables(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown: per-feature overlap with the real tunes for each model and for other held-out tunes, then each
    feature's mean per piece (generated and real)."""
    names = list(FEATURE_TITLES)
    head = " | ".join(FEATURE_TITLES[k] for k in names)
    lines = [f"| feature overlap with the real tunes | {head} | mean |", "| --- |" + " ---: |" * (len(names) + 1)]
    figures = [(r["model"], r["feature_overlap"]) for r in rows]
    if rows:
        other = rows[0]["reference"]["feature_overlap_other_tunes"]
        count = f"{other['pieces']} " if "pieces" in other else ""
        figures.append((f"other held-out tunes ({count}real)", other))
    for name, fig in figures:
        if "mean" in fig:
            cells = " | ".join(f"{fig['overlap'][k]:.3f}" for k in names)
            lines.append(f"| {name} | {cells} | {fig['mean']:.3f} |")
        else:
            lines.append(f"| {name} | " + " | ".join("-" for _ in names) + " | - |")
    lines += ["", f"| mean per piece | {head} |", "| --- |" + " ---: |" * len(names)]
    means = [(r["model"], r["feature_overlap"].get("generated_mean")) for r in rows]
    real = next((r["feature_overlap"]["real_mean"] for r in rows if "real_mean" in r["feature_overlap"]), None)
    for name, mean in means + [("real held-out tunes", real)]:
        if mean is not None:
            lines.append(f"| {name} | " + " | ".join(f"{mean[k]:.3f}" for k in names) + " |")
    return lines


def overlap_versus(row: dict[str, Any], base: dict[str, Any]) -> str:
    """``feature overlap 0.835 vs 0.661 (mean), 0.174 higher; higher on 5 of 6 features``."""
    a, b = round(row["mean"], 3), round(base["mean"], 3)
    diff = round(a - b, 3)
    word = "the same" if diff == 0 else f"{abs(diff):.3f} {'higher' if diff > 0 else 'lower'}"
    higher = sum(round(row["overlap"][k], 3) > round(base["overlap"][k], 3) for k in row["overlap"])
    return f"feature overlap {a:.3f} vs {b:.3f} (mean), {word}; higher on {higher} of {len(row['overlap'])} features"


def versus(row: dict[str, Any], base: dict[str, Any]) -> str:
    """``perplexity 8.02 vs 10.84, 26.0 % lower; accuracy 0.387 vs 0.332, 0.055 higher (absolute)``: the row's
    value first, the base's second, then the difference as a magnitude with its direction in words (relative for
    perplexity, absolute for accuracy)."""
    ppl, base_ppl = row["perplexity"], base["perplexity"]
    change = abs(1 - ppl / base_ppl) * 100
    ppl_dir = "lower" if ppl < base_ppl else "higher" if ppl > base_ppl else "equal"
    acc, base_acc = row["accuracy"], base["accuracy"]
    acc_dir = "higher" if acc > base_acc else "lower" if acc < base_acc else "equal"
    return (f"perplexity {ppl:.2f} vs {base_ppl:.2f}, "
            f"{'the same' if ppl_dir == 'equal' else f'{change:.1f} % {ppl_dir}'}; "
            f"accuracy {acc:.3f} vs {base_acc:.3f}, "
            f"{'the same' if acc_dir == 'equal' else f'{abs(acc - base_acc):.3f} {acc_dir} (absolute)'}")


def metre_versus_real(row: dict[str, Any], ref: dict[str, Any]) -> str:
    """``onsets on the eighth grid 85.4 % vs 85.7 % (real tunes), 0.3 points lower; bar completeness ...``: the
    model's metre figures beside the real continuations', the difference in percentage points."""
    parts = []
    for key, name in (("on_eighth_grid", "onsets on the eighth grid"), ("bar_completeness", "bar completeness"),
                      ("syncopation", "syncopation")):
        value, real = round(100 * row[key], 1), round(100 * ref[key], 1)
        diff = round(value - real, 1)  # of the printed figures, so the three numbers agree
        word = "the same" if diff == 0 else f"{abs(diff):.1f} points {'higher' if diff > 0 else 'lower'}"
        parts.append(f"{name} {value:.1f} % vs {real:.1f} % (real tunes), {word}")
    return "; ".join(parts)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def bar_charts(rows: list[dict[str, Any]], path: Path) -> None:
    """One bar group per metric ([0, 1] scores), plus perplexity on its own axis; the real tunes as a line."""
    plt = _plt()
    fig, axes = plt.subplots(1, len(BARS) + 1, figsize=(3.0 * (len(BARS) + 1), 3.6))
    names = [r["model"] for r in rows]
    colors = [f"C{i}" for i in range(len(rows))]
    for ax, metric in zip(axes, BARS):
        ax.bar(range(len(rows)), [r[metric] for r in rows], color=colors)
        ref = rows[0]["reference"].get(metric) if rows else None
        if ref is not None:
            ax.axhline(ref, color="black", ls="--", lw=1, label="real tunes")
            ax.legend(fontsize=7)
        ax.set_title(metric.replace("_", " "))
        ax.set_ylim(0, 1)
        ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
    ax = axes[-1]
    ax.bar(range(len(rows)), [r["perplexity"] for r in rows], color=colors)
    ax.set_title("perplexity (lower is better)")
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def radar_chart(rows: list[dict[str, Any]], path: Path) -> None:
    import math

    plt = _plt()
    angles = [2 * math.pi * i / len(RADAR) for i in range(len(RADAR))] + [0.0]
    fig = plt.figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot(111, polar=True)
    for i, r in enumerate(rows):
        values = [r[m] for m in RADAR] + [r[RADAR[0]]]
        ax.plot(angles, values, color=f"C{i}", label=r["model"])
        ax.fill(angles, values, color=f"C{i}", alpha=0.12)
    ax.set_xticks(angles[:-1], [m.replace("_", " ") for m in RADAR])
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right", bbox_to_anchor=(1.3, 1.1), fontsize=8)
    ax.set_title("held-out comparison")
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    plt = _plt()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
