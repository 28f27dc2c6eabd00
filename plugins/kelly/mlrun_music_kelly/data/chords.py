"""Chord progressions (JSON) -> HarmonyPredictor: context (emotion 64 + audio 64) -> chord distribution (64).

Accepted shapes: a list of items, ``{"progressions": [...]}`` or ``{"chord_progressions": [...]}``; an item is
``{"chords": [...], "emotion": {"valence": v, "arousal": a}}`` or a bare list of chord names.

Choices (documented in the README): the vocabulary is the 12 roots x ['', m, dim, aug, 7, maj7, min7, sus4, sus2]
taken quality by quality (C..B major, then minor, ...) and cut at 64, so every root keeps its triads and sevenths;
names are parsed (flats, 'min', 'M7' and so on), never upper-cased, and names outside the vocabulary are reported
and left out (never mapped to index 0). The data hold no audio, so the audio half of the input is zeros (what
training and the plugin agree "no audio information" means), and a bare list has neutral emotion (0, 0).
The target is the progression's chord histogram as a distribution.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError

from .common import Pairs, SkipReport, emotion_embedding

ROOTS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
QUALITIES = ("", "m", "dim", "aug", "7", "maj7", "min7", "sus4", "sus2")
VOCAB = tuple(f"{root}{q}" for q in QUALITIES for root in ROOTS)[:64]
INDEX = {name: i for i, name in enumerate(VOCAB)}
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E", "E#": "F", "B#": "C"}
_QUALITY_ALIASES = {"": "", "maj": "", "M": "", "m": "m", "min": "m", "-": "m", "dim": "dim", "o": "dim",
                    "°": "dim", "aug": "aug", "+": "aug", "7": "7", "dom7": "7", "maj7": "maj7", "M7": "maj7",
                    "Δ7": "maj7", "min7": "min7", "m7": "min7", "-7": "min7", "sus4": "sus4", "sus": "sus4",
                    "sus2": "sus2"}
_NAME = re.compile(r"^([A-G])([#b]?)(.*)$")


def canonical(name: str) -> str | None:
    """The vocabulary spelling of a chord name (``Bbm7`` -> ``A#min7``), or None when it is not a known chord."""
    m = _NAME.match(name.strip())
    if not m:
        return None
    root = m.group(1) + m.group(2)
    root = _FLATS.get(root, root)
    quality = _QUALITY_ALIASES.get(m.group(3))
    if quality is None or root not in ROOTS:
        return None
    return f"{root}{quality}"


def chord_index(name: str) -> int | None:
    """Vocabulary index of ``name``, or None (unknown or outside the 64 used)."""
    canon = canonical(name)
    return INDEX.get(canon) if canon is not None else None


def _items(data: Any, path: Path) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("progressions", "chord_progressions"):
            if key in data and isinstance(data[key], list):
                return data[key]
    keys = ", ".join(map(str, data)) if isinstance(data, dict) else type(data).__name__
    raise UserError(f"{path}: unknown chord-progression shape (expected a list, {{\"progressions\": [...]}} or "
                    f"{{\"chord_progressions\": [...]}}; got {keys})")


def load(path: Path, config: Any = None) -> tuple[Pairs, dict[str, Any]]:
    """Samples from a chord-progression JSON file; unknown chord names are counted and listed in the report."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a readable JSON file ({exc})") from None
    report = SkipReport()
    unknown: dict[str, int] = {}
    outside: dict[str, int] = {}
    xs, ys = [], []
    for k, item in enumerate(_items(data, path)):
        if isinstance(item, list):
            chords, valence, arousal = item, 0.0, 0.0
            report.notes["bare_lists_neutral_emotion"] = report.notes.get("bare_lists_neutral_emotion", 0) + 1
        elif isinstance(item, dict) and isinstance(item.get("chords"), list):
            chords = item["chords"]
            emo = item.get("emotion", {})
            try:
                valence, arousal = float(emo.get("valence", 0.0)), float(emo.get("arousal", 0.0))
            except (TypeError, ValueError, AttributeError):
                report.skip("items with non-numeric emotion", f"item {k}")
                continue
            if not (-1 <= valence <= 1 and -1 <= arousal <= 1):
                report.skip("items with emotion outside [-1, 1]", f"item {k}")
                continue
        else:
            report.skip("items that are neither a chord list nor {chords: [...]}", f"item {k}")
            continue
        hist = np.zeros(len(VOCAB), np.float32)
        for name in chords:
            canon = canonical(name) if isinstance(name, str) else None
            if canon is None:
                unknown[str(name)] = unknown.get(str(name), 0) + 1
                continue
            if canon not in INDEX:  # a real chord, but beyond the 64 the model predicts
                outside[canon] = outside.get(canon, 0) + 1
                continue
            idx = INDEX[canon]
            hist[idx] += 1
        if hist.sum() == 0:
            report.skip("items without any known chord", f"item {k}")
            continue
        xs.append(np.concatenate([emotion_embedding(valence, arousal), np.zeros(64, np.float32)]))
        ys.append(hist / hist.sum())
    report.notes["unknown_chords"] = dict(sorted(unknown.items()))
    report.notes["unknown_chord_count"] = sum(unknown.values())
    report.notes["outside_vocabulary"] = dict(sorted(outside.items()))
    report.notes["outside_vocabulary_count"] = sum(outside.values())
    if not xs:
        raise UserError(f"{path}: no usable chord progressions ({report.summary()})")
    return Pairs(np.stack(xs), np.stack(ys)), {"samples": len(xs), **report.as_dict()}
