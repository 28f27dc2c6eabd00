"""Melodies as note events (pitch or rest, duration) and their tokens. Pure Python: no torch, no music21.

A *note event* is ``(pitch, duration)``: ``pitch`` is a MIDI note number (0..127) or ``None`` for a rest,
``duration`` is in quarter lengths (1.0 = a quarter note, 0.5 = an eighth, 1/3 = a triplet eighth).
A *token* joins both, so every model predicts pitch and rhythm together: ``"62_1/2"`` (D4, an eighth) or
``"r_1"`` (a quarter rest). Durations are quantised to twelfths of a quarter (covers sixteenths and triplets).
"""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from typing import Any, Iterable, Sequence

import attrs

from mlrun_music.errors import UserError

PAD = "<pad>"
UNK = "<unk>"
SPECIALS = (PAD, UNK)
PAD_ID, UNK_ID = 0, 1
#: Duration grid: twelfths of a quarter note.
GRID = 12

NoteEvent = tuple  # (int | None, float)


@attrs.define
class Melody:
    """One monophonic tune: note events plus what is known about it.

    ``notes``: list of ``(midi_pitch or None for a rest, duration in quarter lengths)``.
    ``key_sharps``: key signature as sharps (+) / flats (-) when known (used to transpose to the white keys).
    """

    notes: list[NoteEvent]
    title: str = ""
    key: str = ""
    meter: str = ""
    source: str = ""
    key_sharps: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "key": self.key, "meter": self.meter, "source": self.source,
                "key_sharps": self.key_sharps, "notes": [[p, float(d)] for p, d in self.notes]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Melody":
        return cls(notes=[(p, float(q)) for p, q in d["notes"]], title=d.get("title", ""), key=d.get("key", ""),
                   meter=d.get("meter", ""), source=d.get("source", ""), key_sharps=d.get("key_sharps"))


def as_melody(item: Any, index: int = 0, source: str = "") -> Melody:
    """Accept a :class:`Melody`, a dict ``{"notes": [...], "title": ...}`` or a bare list of note events."""
    if isinstance(item, Melody):
        mel = item
    elif isinstance(item, dict):
        if "notes" not in item:
            raise UserError(f"melody {index} from {source or 'input'}: a dict melody needs a 'notes' list")
        mel = Melody(notes=list(item["notes"]), title=str(item.get("title", "")), key=str(item.get("key", "")),
                     meter=str(item.get("meter", "")), source=str(item.get("source", source)),
                     key_sharps=item.get("key_sharps"))
    elif isinstance(item, (list, tuple)):
        mel = Melody(notes=list(item))
    else:
        raise UserError(f"melody {index} from {source or 'input'}: expected a list of (pitch, duration), "
                        f"got {type(item).__name__}")
    clean = []
    for j, ev in enumerate(mel.notes):
        try:
            pitch, dur = ev
            dur = float(dur)
        except (TypeError, ValueError):
            raise UserError(f"melody {index} ({mel.title or 'untitled'}) from {source or 'input'}: note {j} "
                            f"must be (midi_pitch or None, duration), got {ev!r}") from None
        if pitch is not None and (not isinstance(pitch, int) or isinstance(pitch, bool) or not 0 <= pitch <= 127):
            raise UserError(f"melody {index} ({mel.title or 'untitled'}) from {source or 'input'}: note {j} has "
                            f"pitch {pitch!r}; use a MIDI number 0..127 or None for a rest")
        if not dur > 0:
            raise UserError(f"melody {index} ({mel.title or 'untitled'}) from {source or 'input'}: note {j} has "
                            f"duration {dur!r}; durations must be > 0 quarter lengths")
        clean.append((pitch, dur))
    if not mel.source:
        mel = attrs.evolve(mel, source=source)
    return attrs.evolve(mel, notes=clean)


def quantize_duration(ql: float, max_duration: float) -> Fraction:
    """Round to the twelfth-of-a-quarter grid, at least one step, at most ``max_duration``."""
    steps = max(1, round(ql * GRID))
    steps = min(steps, max(1, round(max_duration * GRID)))
    return Fraction(steps, GRID)


def duration_text(d: Fraction) -> str:
    return str(d.numerator) if d.denominator == 1 else f"{d.numerator}/{d.denominator}"


def event_token(pitch: int | None, duration: Fraction) -> str:
    return f"{'r' if pitch is None else pitch}_{duration_text(duration)}"


def parse_token(token: str) -> tuple[int | None, float]:
    """``"62_1/2"`` -> ``(62, 0.5)``; ``"r_1"`` -> ``(None, 1.0)``."""
    p, _, d = token.partition("_")
    return (None if p == "r" else int(p)), float(Fraction(d))


# ---------------------------------------------------------------------------------------------------------------
# Key normalisation: move every key signature onto the white keys, so all tunes share one pitch vocabulary.

def signature_shift(sharps: int) -> int:
    """Semitones that move a key signature with ``sharps`` onto no sharps/flats, in [-6, 5]."""
    tonic_pc = (7 * sharps) % 12  # the major tonic of that signature (G=7 for 1 sharp, F=5 for 1 flat...)
    shift = -tonic_pc
    return (shift + 6) % 12 - 6


def estimate_sharps(notes: Sequence[NoteEvent]) -> int:
    """The key signature whose diatonic set covers most of the melody (by duration); ties favour fewer accidentals."""
    weights = [0.0] * 12
    for pitch, dur in notes:
        if pitch is not None:
            weights[pitch % 12] += float(dur)
    best, best_cover = 0, -1.0
    for sharps in sorted(range(-6, 7), key=abs):
        tonic = (7 * sharps) % 12
        cover = sum(weights[(tonic + step) % 12] for step in (0, 2, 4, 5, 7, 9, 11))
        if cover > best_cover + 1e-9:
            best, best_cover = sharps, cover
    return best


def events(melody: Melody, normalize_key: bool, max_duration: float) -> list[tuple[int | None, Fraction]]:
    """The melody's quantised events, transposed to the white keys when ``normalize_key``."""
    shift = 0
    if normalize_key:
        sharps = melody.key_sharps if melody.key_sharps is not None else estimate_sharps(melody.notes)
        shift = signature_shift(int(sharps))
    out = []
    for pitch, dur in melody.notes:
        p = None if pitch is None else min(127, max(0, pitch + shift))
        out.append((p, quantize_duration(dur, max_duration)))
    return out


def tokens_of(melody: Melody, normalize_key: bool, max_duration: float) -> list[str]:
    return [event_token(p, d) for p, d in events(melody, normalize_key, max_duration)]


@attrs.frozen
class Vocabulary:
    """Token strings <-> ids; ids 0 and 1 are padding and unknown."""

    tokens: tuple[str, ...]

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]], min_count: int) -> "Vocabulary":
        counts = Counter(t for seq in sequences for t in seq)
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=_token_order)
        return cls(SPECIALS + tuple(kept))

    @property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        idx = self.index
        return [idx.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[tuple[int | None, float]]:
        """Note events of ids; special tokens are dropped."""
        out = []
        for i in ids:
            tok = self.tokens[int(i)]
            if tok not in SPECIALS:
                out.append(parse_token(tok))
        return out

    def pitches(self) -> set[int]:
        return {p for t in self.tokens if t not in SPECIALS and (p := parse_token(t)[0]) is not None}


def _token_order(tok: str) -> tuple[int, float]:
    p, d = parse_token(tok)
    return (-1 if p is None else p, d)


# ---------------------------------------------------------------------------------------------------------------
# Note names for --seed-notes and messages

_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def note_name(pitch: int | None) -> str:
    if pitch is None:
        return "r"
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    return f"{names[pitch % 12]}{pitch // 12 - 1}"


def parse_note_name(text: str) -> int | None:
    """``C4`` -> 60, ``F#5`` -> 78, ``Bb3`` -> 58, ``r`` / ``rest`` -> None, ``62`` -> 62."""
    s = text.strip()
    if s.lower() in ("r", "rest", "z"):
        return None
    if s.isdigit():
        value = int(s)
        if not 0 <= value <= 127:
            raise ValueError(f"MIDI pitch {value} outside 0..127")
        return value
    if not s or s[0].upper() not in _NAMES:
        raise ValueError(f"not a note name: {text!r}")
    pc = _NAMES[s[0].upper()]
    rest = s[1:]
    while rest and rest[0] in "#b":
        pc += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    try:
        octave = int(rest)
    except ValueError:
        raise ValueError(f"not a note name: {text!r} (expected e.g. C4, F#5, Bb3, r)") from None
    value = (octave + 1) * 12 + pc
    if not 0 <= value <= 127:
        raise ValueError(f"note {text!r} outside MIDI 0..127")
    return value


def melody_stats(melodies: Sequence[Melody]) -> dict[str, Any]:
    """Counts for reports: tunes, notes, rests, length range, pitch range."""
    lengths = [len(m.notes) for m in melodies]
    pitches = [p for m in melodies for p, _ in m.notes if p is not None]
    return {
        "tunes": len(melodies), "events": sum(lengths),
        "rests": sum(1 for m in melodies for p, _ in m.notes if p is None),
        "min_length": min(lengths) if lengths else 0, "max_length": max(lengths) if lengths else 0,
        "mean_length": (sum(lengths) / len(lengths)) if lengths else 0.0,
        "pitch_range": [min(pitches), max(pitches)] if pitches else None,
    }
