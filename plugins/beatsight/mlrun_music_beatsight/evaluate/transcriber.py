"""``mlrun evaluate beatsight-transcriber CHECKPOINT``: onset F-measure per class (mir_eval, 50 ms) on songs of the
held-out kit (``--split test``, the transcription benchmark's songs) or of the training kit (``--split val``, other
seeds), next to the onset pipeline with the heuristic classifier on the same songs; onset F at each mix level
(drums only, accompaniment 6 dB below, level with and 6 dB above the drums) class-aware, by family and regardless of
class; and how it names one-shots of every class. JSON, a Markdown table and the one-shots' confusion-matrix PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_text

from ..kits.classes import COMPONENTS
from .classifier import plot_confusion
from .held_out import metrics as held_out_metrics
from .scoring import MIX_LEVELS, f_measure, level_counts
from ..transcribe.frames import log_mel_frames
from ..data.grooves import mix, test_parts
from ..transcribe.pipeline import Classifier, transcribe_frames, transcribe_onsets
from ..models.transcriber import activations, match_counts, times_by_class

#: First seeds of the evaluation songs: test = the transcription benchmark's unseen-kit songs; val = songs of the
#: training kit used to choose thresholds (never trained on: training songs use other seeds).
FIRST_SEED = {"test": 5000, "val": 6000}
#: The level of the test songs behind the main figures (:func:`..data.grooves.test_song`'s default).
MAIN_LEVEL = "accompaniment_-6dB"


def _rows(tp: np.ndarray, ne: np.ndarray, nr: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name, a, b, c in [("overall", tp.sum(), ne.sum(), nr.sum())] + list(zip(COMPONENTS, tp, ne, nr)):
        if b + c:
            out[name] = {"f_measure": float(2 * a / (b + c)), "precision": float(a / b) if b else 0.0,
                         "recall": float(a / c) if c else 0.0, "reference": int(c), "estimated": int(b)}
    return out


def alone_scores(model: Any, audio: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``[hits, classes]``: per hit at ``times`` (s) in ``audio`` (44.1 kHz), each class's highest activation within
    30 ms of its onset in a 0.6 s clip of the hit alone (from 0.1 s before it: no context, like the CNN)."""
    from ..kits import synth

    out = []
    for t in times:
        s = int(round((t - 0.1) * synth.SAMPLE_RATE))
        clip = activations(model, log_mel_frames(audio[s:s + int(0.6 * synth.SAMPLE_RATE)]))
        out.append(clip[7:14].max(axis=0))  # the onset sits at frame 10 of the clip
    return np.array(out)


def one_shot_set(soundfont: str, renderer: str, velocities: int = 8) -> tuple[list[Any], np.ndarray]:
    """The one-shot test hits of a kit (``velocities`` per note of every component it has, on its own notes
    (:func:`..kits.soundfonts.drum_kit`), seed 99, 0.6 s apart) and their audio in one file (peak 1)."""
    from ..kits import synth
    from ..kits.soundfonts import drum_kit

    hits = synth.one_shots(velocities, seed=99, kit=drum_kit(soundfont))
    audio = synth.render(hits, soundfont, renderer)
    return hits, audio / np.max(np.abs(audio))


def one_shot_accuracy(model: Any, soundfont: str, renderer: str, velocities: int = 8) -> dict[str, Any]:
    """Per-hit classification of every class's one-shots (:func:`one_shot_set`), named by the class with
    the highest activation within 30 ms of each onset. ``in_sequence``: all one-shots in one file, 0.6 s apart (the
    model hears the rest of the kit); ``in_sequence_kit_relative``: the same, toms and crashes then named by their
    order in the file (:mod:`..kits.kit_relative`, as ``process --kit-relative`` does); ``alone``: each in its own 0.6 s
    clip (no context, like the CNN); ``alone_kit_relative``: those names, then toms and crashes named by their order
    among all the kit's hits; ``kit_relative_ceiling``: :func:`..kits.kit_relative.ceiling` of these hits."""
    from ..kits.kit_relative import ceiling, rename
    from ..kits import synth
    from ..transcribe.frames import FPS

    hits, audio = one_shot_set(soundfont, renderer, velocities)
    labels = np.array([COMPONENTS.index(h.component) for h in hits])
    act = activations(model, log_mel_frames(audio))
    times = np.array([h.time for h in hits])
    frames = np.round(times * FPS).astype(np.int64)
    scores = np.array([act[max(0, f - 3):f + 4].max(axis=0) for f in frames])
    alone_sc = alone_scores(model, audio, times)
    seq, alone = scores.argmax(axis=1), alone_sc.argmax(axis=1)
    out: dict[str, Any] = {"hits": len(hits), "kit_relative_ceiling": ceiling(audio, synth.SAMPLE_RATE, times,
                                                                            [h.component for h in hits])}
    relative = {name: [COMPONENTS.index(c) for c in rename(audio, synth.SAMPLE_RATE, times,
                                                           [COMPONENTS[c] for c in pred], sc).components]
                for name, pred, sc in (("in_sequence", seq, scores), ("alone", alone, alone_sc))}
    for name, pred in (("in_sequence", seq), ("alone", alone),
                       ("in_sequence_kit_relative", relative["in_sequence"]),
                       ("alone_kit_relative", relative["alone"])):
        pred = np.array(pred)
        cm = np.zeros((len(COMPONENTS), len(COMPONENTS)), np.int64)
        np.add.at(cm, (labels, pred), 1)
        out[name] = {"accuracy": float(np.mean(pred == labels)), "confusion": cm.tolist()}
    return out


def one_shot_table(cm: np.ndarray) -> list[str]:
    """Markdown rows of a one-shot confusion matrix ``[true, named]``: per class present, hits named right and what
    the others were named (most often first)."""
    lines = ["| class | one-shots alone named right (kit-relative) | named instead |", "| --- | ---: | --- |"]
    for i, row in enumerate(cm):
        if row.sum():
            wrong = sorted(((n, COMPONENTS[j]) for j, n in enumerate(row) if n and j != i), reverse=True)
            lines.append(f"| {COMPONENTS[i]} | {row[i]}/{row.sum()} | {', '.join(f'{c} {n}' for n, c in wrong)} |")
    return lines


def held_out_only(ctx: Any, table: dict[str, Any]) -> dict[str, Any]:
    """``--no-generated``: the held-out table alone (transcription.md and the metrics)."""
    from .held_out import markdown, songs_note

    write_text(ctx.out_dir / "transcription.md", "\n".join(markdown(table) + ["", songs_note(table)]) + "\n")
    return {**held_out_metrics(table), "per_class": {"held_out": table}}


def evaluate(ctx: Any) -> dict[str, Any]:
    """Transcribe ``--test-songs`` songs with the model (and the heuristic pipeline) and score every class; transcribe
    ``--mix-songs`` songs at each of :data:`MIX_LEVELS` and score them three ways (:func:`level_counts`)."""
    if ctx.split not in FIRST_SEED:
        raise UserError(f"--split {ctx.split}: beatsight-transcriber evaluates on 'test' (unseen kit) or 'val' "
                        "(training kit, other songs)")
    if ctx.data:
        raise UserError("--data: beatsight-transcriber evaluates on rendered songs only")
    cfg = ctx.config
    threshold = cfg.threshold if ctx.options is None or ctx.options.threshold < 0 else ctx.options.threshold
    baseline = ctx.options is None or ctx.options.heuristic_baseline
    songs = ctx.options.songs if ctx.options is not None and ctx.options.songs else cfg.test_songs
    mix_songs = ctx.options.mix_songs if ctx.options is not None and ctx.options.mix_songs else songs
    soundfont, renderer = ((cfg.test_soundfont, "fluidsynth") if ctx.split == "test" else (cfg.soundfont, cfg.renderer))
    model = ctx.model.cpu()
    table = None
    if ctx.options is not None and ctx.options.part_songs:
        from ..data.cache import cache_dir
        from ..data.parts import PARTS_CACHE
        from .held_out import evaluate_held_out

        o = ctx.options
        table = evaluate_held_out(model, threshold, ctx.split, o.part_songs, o.part_seconds, o.part_dirs,
                                  o.held_out_kits, o.held_out_band, baseline, ctx.log,
                                  cache_dir(cfg) / PARTS_CACHE)
    if ctx.options is not None and not ctx.options.generated:
        if table is None:
            raise UserError("--no-generated needs --part-songs N (the held-out table); nothing else to evaluate")
        return held_out_only(ctx, table)
    k = len(COMPONENTS)
    counts = {name: [np.zeros(k, np.int64) for _ in range(3)] for name in ("model", "kit_relative", "heuristic")}
    by_level = {level: {kind: np.zeros(3, np.int64) for kind in ("class_aware", "family", "class_agnostic")}
                for level in MIX_LEVELS}

    def tally(name: str, found: Any, reference: dict) -> None:
        """Add one song's matches of ``found``'s hits against ``reference`` to ``counts[name]``."""
        for acc, new in zip(counts[name], match_counts(times_by_class(h[:2] for h in found.hits), reference)):
            acc += new

    for g in range(max(songs, mix_songs)):
        drums, other, hits, _ = test_parts(FIRST_SEED[ctx.split] + g, soundfont, renderer)
        events = [(h.time, h.component) for h in hits]
        main = None
        if g < songs:
            audio = mix(drums, other, MIX_LEVELS[MAIN_LEVEL])
            audio = audio / np.max(np.abs(audio))
            reference = times_by_class(events)
            main = transcribe_frames(model, audio, threshold)
            tally("model", main, reference)
            if g < mix_songs:
                for kind, n in level_counts([h[:2] for h in main.hits], events).items():
                    by_level[MAIN_LEVEL][kind] += n
            main.kit_relative(audio)
            tally("kit_relative", main, reference)
            if baseline:
                tally("heuristic", transcribe_onsets(Classifier("heuristic", "baseline"), audio, 0.7, 50.0, 0.1),
                      reference)
        if g < mix_songs:
            for level, db in MIX_LEVELS.items():
                if level == MAIN_LEVEL and main is not None:
                    continue
                audio = drums if db is None else mix(drums, other, db)
                found = transcribe_frames(model, audio / np.max(np.abs(audio)), threshold)
                for kind, n in level_counts([h[:2] for h in found.hits], events).items():
                    by_level[level][kind] += n
    levels = {level: {kind: f_measure(n) for kind, n in kinds.items()} for level, kinds in by_level.items()}
    shots = one_shot_accuracy(model, soundfont, renderer)
    result = {"split": ctx.split, "songs": songs, "one_shots": shots, "soundfont": soundfont, "threshold": threshold,
              "model": _rows(*counts["model"]), "kit_relative_names": _rows(*counts["kit_relative"]),
              "mix_songs": mix_songs, "mix_levels": levels}
    if baseline:
        result["heuristic"] = _rows(*counts["heuristic"])
    if table is not None:
        result["held_out"] = table
    lines = [f"# beatsight-transcriber on {songs} {ctx.split} songs ({soundfont}, threshold {threshold})", "",
             "Model: each hit's own name (as `process` names a transcriber's hits); kit-relative: toms and crashes "
             "then named by their order within the song (`process --kit-relative`).", "",
             "| class | F (model) | precision | recall | reference hits | F (kit-relative names) |"
             + (" F (heuristic) |" if baseline else ""),
             "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if baseline else "")]
    for name, row in result["model"].items():
        base = f" {result['heuristic'].get(name, {}).get('f_measure', 0.0):.3f} |" if baseline else ""
        relative = result["kit_relative_names"].get(name, {}).get("f_measure", 0.0)
        lines.append(f"| {name} | {row['f_measure']:.3f} | {row['precision']:.3f} | {row['recall']:.3f} | "
                     f"{row['reference']} | {relative:.3f} |{base}")
    lines += ["", f"One-shots of every class ({shots['hits']} hits, {soundfont}): accuracy "
                  f"{shots['in_sequence_kit_relative']['accuracy']:.3f} played in one file with kit-relative names, "
                  f"{shots['in_sequence']['accuracy']:.3f} with absolute names; each alone "
                  f"{shots['alone_kit_relative']['accuracy']:.3f} with kit-relative names, "
                  f"{shots['alone']['accuracy']:.3f} with absolute names. A perfect classifier would score "
                  f"{shots['kit_relative_ceiling']:.3f} with kit-relative names (below 1 where the kit tunes "
                  "differently named toms or crashes as one drum).", ""]
    lines += [f"Onset F by mix level ({mix_songs} songs; the accompaniment's RMS relative to the drums'):", "",
              "| mix | class-aware | family | class-agnostic |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {level.replace('_', ' ')} | {f['class_aware']:.3f} | {f['family']:.3f} | {f['class_agnostic']:.3f} |"
              for level, f in levels.items()]
    lines.append("")
    alone = np.array(shots["alone_kit_relative"]["confusion"])
    lines += one_shot_table(alone)
    if table is not None:
        from .held_out import markdown, songs_note

        lines += [""] + markdown(table) + ["", songs_note(table)]
    write_text(ctx.out_dir / "transcription.md", "\n".join(lines) + "\n")
    plot_confusion(alone, ctx.out_dir / "one_shot_confusion.png",
                   f"beatsight-transcriber: one-shots alone, kit-relative ({Path(soundfont).name})")
    overall = {name: rows.get("overall", {}).get("f_measure", 0.0) for name, rows in result.items()
               if name in ("model", "kit_relative_names", "heuristic")}
    ctx.log.info("beatsight-transcriber: overall onset F %.3f (kit-relative names %.3f) on %d %s songs (heuristic "
                 "pipeline %s)", overall["model"], overall["kit_relative_names"], songs, ctx.split,
                 f"{overall['heuristic']:.3f}" if baseline else "not run")
    return {"onset_f": overall["model"], "onset_f_kit_relative": overall["kit_relative_names"],
            "one_shot_accuracy": shots["in_sequence_kit_relative"]["accuracy"],
            "one_shot_accuracy_absolute": shots["in_sequence"]["accuracy"],
            "one_shot_accuracy_alone": shots["alone"]["accuracy"],
            "one_shot_accuracy_alone_kit_relative": shots["alone_kit_relative"]["accuracy"],
            "one_shot_kit_relative_ceiling": shots["kit_relative_ceiling"],
            **{f"onset_f_{kind}_{level}": f for level, kinds in levels.items() for kind, f in kinds.items()},
            **(held_out_metrics(table) if table is not None else {}),
            "per_class": result}
