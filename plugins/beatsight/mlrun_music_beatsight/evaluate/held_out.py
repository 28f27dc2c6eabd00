"""The held-out table of ``mlrun evaluate beatsight-transcriber --part-songs N``: human-written songs that training
never hears (the test split of :mod:`..data.parts`; the validation split with ``--split val``) played by held-out
kits that training never uses (:data:`..config.HELD_OUT_KITS`: a sampled General MIDI soundfont, a real acoustic
sampled kit, an electronic kit and an FM-synthesised kit), each at every mix level (drums only; the song's own
accompaniment 6 dB below, level with and 6 dB above the drums).

Per kit and level: onset F class-aware, by family and regardless of class (:func:`.transcriber.level_counts`), of
the model and of the onset pipeline with the heuristic classifier; per class F with its reference-hit count; and
the tempo of the model's beatmap against the file's (songs whose file tempo is the heard one,
:attr:`..data.parts.PartSong.tempo_known`): the share within 4 %, and how many estimates sit at a simple fraction
(1/2, 2/3, 3/4, 4/3, 3/2, 2) of the truth instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError

from ..kits.classes import COMPONENTS

#: Simple tempo fractions counted as octave-like errors (estimate / truth).
FRACTIONS = (0.5, 2 / 3, 0.75, 4 / 3, 1.5, 2.0)
#: Relative tolerance of a correct tempo (and of a tempo at one of :data:`FRACTIONS`).
TEMPO_TOLERANCE = 0.04
KINDS = ("class_aware", "family", "class_agnostic")


def kit_label(path: str) -> str:
    """A held-out kit's name in tables and metric keys: the soundfont's file stem or the Hydrogen kit's folder."""
    p = Path(path)
    p = p.parent if p.name == "drumkit.xml" else p
    return p.name if p.is_dir() or not p.suffix else p.stem


def tempo_verdict(estimate: float, truth: float) -> str:
    """``right`` within :data:`TEMPO_TOLERANCE`, ``fraction`` at one of :data:`FRACTIONS`, else ``wrong``."""
    ratio = estimate / truth
    if abs(ratio - 1) <= TEMPO_TOLERANCE:
        return "right"
    return "fraction" if any(abs(ratio / f - 1) <= TEMPO_TOLERANCE for f in FRACTIONS) else "wrong"


def held_out_kits(text: str, log: Any) -> list[str]:
    """The comma-separated kits that exist (a missing one is skipped with a warning); none at all is an error."""
    from ..kits.soundfonts import is_hydrogen_kit

    kits = []
    for item in [k.strip() for k in text.split(",") if k.strip()]:
        if Path(item).is_file() or is_hydrogen_kit(item):
            kits.append(item)
        else:
            log.warning("beatsight-transcriber: held-out kit %s is not installed; left out of the table", item)
    if not kits:
        raise UserError(f"--held-out-kits: none of {text!r} is installed")
    return kits


def evaluate_held_out(model: Any, threshold: float, split: str, n_songs: int, seconds: float, dirs: str,
                      kits_text: str, band_font: str, baseline: bool, log: Any, cache: Path | None = None
                      ) -> dict[str, Any]:
    """The table (module docstring) as a JSON-ready dict: ``kits`` -> label -> ``levels`` -> level -> figures;
    ``cache``: the parsed songs' JSON cache (:func:`..data.parts.read_songs`)."""
    from mlrun_music.audio.render import check_soundfont

    from ..data import parts
    from ..data.grooves import mix
    from ..kits.soundfonts import drum_kit, extra_renderer
    from ..models.transcriber import match_counts, times_by_class
    from ..transcribe.pipeline import Classifier, transcribe_frames, transcribe_onsets
    from .scoring import MIX_LEVELS, f_measure, level_counts

    check_soundfont(band_font)  # a one-line error naming a missing accompaniment soundfont
    songs, skipped = parts.read_songs(parts.part_dirs(dirs), (split,), cache)
    if not songs:
        raise UserError(f"--part-songs: no usable {split} songs in {dirs or ', '.join(parts.DEFAULT_DIRS)}")
    chosen = []
    for song in songs:
        pieces = parts.excerpts(song, seconds)
        if pieces:
            chosen.append(pieces[0])
        if len(chosen) == n_songs:
            break
    kits = held_out_kits(kits_text, log)
    out: dict[str, Any] = {"split": split, "songs": [e.song.name for e in chosen], "seconds": seconds,
                           "skipped": skipped, "threshold": threshold, "kits": {}}
    for kit in kits:
        renderer = extra_renderer(kit)
        band = (kit, renderer) if not drum_kit(kit).drums_only else (band_font, "fluidsynth")
        counts = {who: {level: {kind: np.zeros(3, np.int64) for kind in KINDS} for level in MIX_LEVELS}
                  for who in (("model", "heuristic") if baseline else ("model",))}
        per_class = {level: [np.zeros(len(COMPONENTS), np.int64) for _ in range(3)] for level in MIX_LEVELS}
        tempo = {level: {"right": 0, "fraction": 0, "wrong": 0} for level in MIX_LEVELS}
        for excerpt in chosen:
            drums, other, hits = parts.render_excerpt(excerpt, kit, renderer, band)
            events = [(h.time, h.component) for h in hits]
            for level, db in MIX_LEVELS.items():
                audio = drums if db is None else mix(drums, other, db)
                audio = (audio / (np.max(np.abs(audio)) + 1e-12)).astype(np.float32)
                found = transcribe_frames(model, audio, threshold)
                for kind, n in level_counts([h[:2] for h in found.hits], events).items():
                    counts["model"][level][kind] += n
                for acc, new in zip(per_class[level], match_counts(times_by_class(h[:2] for h in found.hits),
                                                                   times_by_class(events))):
                    acc += new
                if excerpt.song.tempo_known:
                    tempo[level][tempo_verdict(found.bpm, excerpt.song.bpm)] += 1
                if baseline:
                    base = transcribe_onsets(Classifier("heuristic", "baseline"), audio, 0.7, 50.0, 0.1)
                    for kind, n in level_counts([h[:2] for h in base.hits], events).items():
                        counts["heuristic"][level][kind] += n
        label = kit_label(kit)
        rows = {}
        for level in MIX_LEVELS:
            tp, ne, nr = per_class[level]
            rated = sum(tempo[level].values())
            rows[level] = {**{who: {kind: f_measure(counts[who][level][kind]) for kind in KINDS} for who in counts},
                           "per_class": {c: {"f_measure": f_measure(np.array([tp[i], ne[i], nr[i]])),
                                             "reference": int(nr[i])}
                                         for i, c in enumerate(COMPONENTS) if nr[i] or ne[i]},
                           "tempo": {**tempo[level], "songs": rated,
                                     "share_right": tempo[level]["right"] / rated if rated else 0.0}}
        out["kits"][label] = {"path": kit, "accompaniment": band[0], "levels": rows}
        log.info("beatsight-transcriber: held-out kit %s: class-aware F %s", label, ", ".join(
            f"{level} {out['kits'][label]['levels'][level]['model']['class_aware']:.3f}" for level in MIX_LEVELS))
    return out


def metrics(table: dict[str, Any]) -> dict[str, float]:
    """Flat metrics of the table: ``held_out.<kit>.<level>.<who>.<kind>``, the tempo shares, and the lowest
    class-aware F over the kits at each level."""
    out: dict[str, float] = {}
    for label, kit in table["kits"].items():
        for level, row in kit["levels"].items():
            for who in ("model", "heuristic"):
                for kind, f in row.get(who, {}).items():
                    out[f"held_out.{label}.{level}.{who}.{kind}"] = f
            out[f"held_out.{label}.{level}.tempo_right"] = row["tempo"]["share_right"]
    levels = next(iter(table["kits"].values()))["levels"] if table["kits"] else {}
    for level in levels:
        out[f"held_out.lowest_kit.{level}.class_aware"] = min(
            kit["levels"][level]["model"]["class_aware"] for kit in table["kits"].values())
    return out


def markdown(table: dict[str, Any], min_reference: int = 50) -> list[str]:
    """Markdown: the F table per kit and level (model and heuristic), per-class F with reference hits at each level
    per kit (classes below 0.5 with at least ``min_reference`` hits in bold), and the tempo shares."""
    levels = list(next(iter(table["kits"].values()))["levels"])
    has_base = "heuristic" in next(iter(table["kits"].values()))["levels"][levels[0]]
    lines = [f"## Held-out songs on held-out kits ({len(table['songs'])} {table['split']} songs of human-written drum "
             f"parts, {table['seconds']:g} s each, threshold {table['threshold']})", "",
             "| kit | mix | class-aware | family | class-agnostic |"
             + (" heuristic class-aware | heuristic family | heuristic class-agnostic |" if has_base else ""),
             "| --- | --- | ---: | ---: | ---: |" + (" ---: | ---: | ---: |" if has_base else "")]
    for label, kit in table["kits"].items():
        for level, row in kit["levels"].items():
            line = f"| {label} | {level.replace('_', ' ')} | " + " | ".join(f"{row['model'][k]:.3f}" for k in KINDS)
            if has_base:
                line += " | " + " | ".join(f"{row['heuristic'][k]:.3f}" for k in KINDS)
            lines.append(line + " |")
    for level in levels:
        lines += ["", f"Per class, {level.replace('_', ' ')}: F (reference hits); bold: below 0.5 with at least "
                      f"{min_reference} hits.", "",
                  "| class | " + " | ".join(table["kits"]) + " |", "| --- |" + " ---: |" * len(table["kits"])]
        for c in COMPONENTS:
            cells = []
            for kit in table["kits"].values():
                row = kit["levels"][level]["per_class"].get(c)
                if row is None:
                    cells.append("-")
                else:
                    text = f"{row['f_measure']:.3f} ({row['reference']})"
                    cells.append(f"**{text}**" if row["f_measure"] < 0.5 and row["reference"] >= min_reference
                                 else text)
            lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "Tempo of the model's beatmap against the file's (songs whose file tempo is the heard one): within "
                  "4 % / at a simple fraction (1/2, 2/3, 3/4, 4/3, 3/2, 2) / other.", "",
              "| kit | " + " | ".join(level.replace("_", " ") for level in levels) + " |",
              "| --- |" + " ---: |" * len(levels)]
    for label, kit in table["kits"].items():
        lines.append(f"| {label} | " + " | ".join(
            f"{kit['levels'][lv]['tempo']['right']}/{kit['levels'][lv]['tempo']['fraction']}/"
            f"{kit['levels'][lv]['tempo']['wrong']}" for lv in levels) + " |")
    return lines


def songs_note(table: dict[str, Any]) -> str:
    """One line naming the songs and what was skipped."""
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(table["skipped"].items())) or "none"
    return f"Songs: {', '.join(table['songs'])}. Skipped while reading: {skipped}."
