"""Keys, metres and bars of written melodies (pure Python): ``--key`` / ``--meter`` strings, transposition out of
the training frame (no sharps or flats), note spelling in a key, and bar lines with ties across them."""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Sequence

import attrs

from mlrun_music.errors import UserError

from .melody import signature_shift

#: Position of each natural letter on the circle of fifths (C = 0 sharps).
_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_LETTERS = "CDEFGAB"
#: Modes as ABC writes them, with their offset in fifths from the major key of the same tonic.
_MODES = {"": ("", 0), "maj": ("", 0), "major": ("", 0), "ion": ("", 0), "m": ("m", -3), "min": ("m", -3),
          "minor": ("m", -3), "aeo": ("m", -3), "dor": ("Dor", -2), "phr": ("Phr", -4), "lyd": ("Lyd", 1),
          "mix": ("Mix", -1), "loc": ("Loc", -5)}
_KEY_RE = re.compile(r"^\s*([A-Ga-g])([#b♯♭]?)\s*([A-Za-z]*)\s*$")
_METER_RE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


@attrs.frozen
class Key:
    """A key: its tonic as written (``F#``), its mode suffix in ABC (``""``, ``m``, ``Dor`` ...) and its signature."""

    tonic: str
    mode: str
    sharps: int

    @property
    def name(self) -> str:
        return self.tonic + self.mode

    @property
    def mido_name(self) -> str:
        """The MIDI key signature's name (major or minor only: a modal key writes its signature's major key)."""
        if self.mode in ("", "m"):
            return self.name
        return major_of_sharps(self.sharps)


def major_of_sharps(sharps: int) -> str:
    names = {-7: "Cb", -6: "Gb", -5: "Db", -4: "Ab", -3: "Eb", -2: "Bb", -1: "F", 0: "C", 1: "G", 2: "D", 3: "A",
             4: "E", 5: "B", 6: "F#", 7: "C#"}
    return names[sharps]


def parse_key(text: str, option: str = "--key") -> Key:
    """``G``, ``Em``, ``F#m``, ``Bb``, ``D major``, ``A minor``, ``ADor`` -> :class:`Key`; UserError otherwise."""
    m = _KEY_RE.match(text or "")
    mode_word = m.group(3).lower() if m else ""
    mode = _MODES.get(mode_word) or _MODES.get(mode_word[:3]) if m else None
    if m is None or mode is None:
        raise UserError(f"{option}: cannot read key '{text}'; use a tonic with an optional mode, e.g. G, Em, F#m, "
                        f"Bb, D major, A minor, EDor")
    letter = m.group(1).upper()
    acc = {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)
    sharps = _FIFTHS[letter] + 7 * acc + mode[1]
    if not -7 <= sharps <= 7:
        raise UserError(f"{option}: key '{text}' would need {abs(sharps)} {'sharps' if sharps > 0 else 'flats'}; "
                        f"use its enharmonic twin")
    return Key(letter + ("#" if acc > 0 else "b" if acc < 0 else ""), mode[0], sharps)


def key_of_sharps(sharps: int, mode: str = "") -> Key:
    """The key with this signature and mode suffix (``""`` major, ``"m"`` minor)."""
    major = major_of_sharps(max(-7, min(7, int(sharps))))
    if mode == "m":
        tonic = _name_of_pc((_LETTER_PC[major[0]] + {"#": 1, "b": -1}.get(major[1:], 0) + 9) % 12, sharps)
        return Key(tonic, "m", int(sharps))
    return Key(major, "", int(sharps))


def _name_of_pc(pc: int, sharps: int) -> str:
    for letter in _LETTERS:
        for acc, sign in ((0, ""), (1, "#"), (-1, "b")):
            if (_LETTER_PC[letter] + acc) % 12 == pc and (acc == 0 or (acc > 0) == (sharps >= 0)):
                return letter + sign
    return "C"


@attrs.frozen
class Meter:
    numerator: int
    denominator: int

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    @property
    def bar(self) -> Fraction:
        """Quarter lengths in one bar."""
        return Fraction(4 * self.numerator, self.denominator)


def parse_meter(text: str, option: str = "--meter") -> Meter:
    """``6/8``, ``3/4``, ``C`` (4/4), ``C|`` (2/2) -> :class:`Meter`; UserError otherwise."""
    t = (text or "").strip()
    if t == "C":
        return Meter(4, 4)
    if t == "C|":
        return Meter(2, 2)
    m = _METER_RE.match(t)
    if m is None or int(m.group(2)) not in (1, 2, 4, 8, 16, 32) or not 1 <= int(m.group(1)) <= 32:
        raise UserError(f"{option}: cannot read metre '{text}'; use N/D with D in 1, 2, 4, 8, 16, 32 "
                        f"(e.g. 4/4, 3/4, 6/8, 9/8) or C, C|")
    return Meter(int(m.group(1)), int(m.group(2)))


def seed_key(key_text: str, sharps: int | None) -> Key:
    """A tune's key from its ``K:`` text (``E minor``, ``Ador``, ``D clef=treble``), else from its signature
    (major)."""
    words = key_text.split()
    key = None
    for text in (" ".join(words[:2]), words[0] if words else ""):
        try:
            key = parse_key(text)
            break
        except UserError:
            continue
    if key is None:
        return key_of_sharps(sharps or 0)
    if sharps is not None and key.sharps != sharps:
        return key_of_sharps(sharps)
    return key


def seed_meter(text: str) -> Meter | None:
    try:
        return parse_meter(text.split()[0] if text.split() else "")
    except UserError:
        return None


def from_training_frame(melody: Sequence[tuple], sharps: int) -> list[tuple]:
    """Undo the training transposition: events in the white-key frame -> events in the key with ``sharps``."""
    shift = -signature_shift(int(sharps))
    return [(None if p is None else min(127, max(0, int(p) + shift)), d) for p, d in melody]


def to_training_frame(melody: Sequence[tuple], sharps: int) -> list[tuple]:
    shift = signature_shift(int(sharps))
    return [(None if p is None else min(127, max(0, int(p) + shift)), d) for p, d in melody]


def complete_bars(melody: Sequence[tuple], meter: Meter, pickup: Fraction = Fraction(0)) -> list[tuple]:
    """The melody with a rest after its last note that fills its last bar (nothing when the bar is full); a
    ``pickup`` (quarter lengths before the first bar line, 0 for none) counts as the start of a bar."""
    total = sum((Fraction(float(d)).limit_denominator(48) for _, d in melody), Fraction(0))
    left = (pickup - total) % meter.bar
    return list(melody) + ([(None, float(left))] if left else [])


def beat_length(meter: Meter) -> Fraction:
    """A dotted quarter in 6/8, 9/8, 12/8 (compound metres), else one denominator unit (a quarter in 3/4)."""
    unit = Fraction(4, meter.denominator)
    return 3 * unit if meter.numerator in (6, 9, 12) and meter.denominator >= 8 else unit


def pickup_phase(notes: Sequence[tuple], meter: Meter) -> Fraction:
    """The first bar line's position (a sixteenth multiple within one bar) under which the tune's long notes fall
    on bar lines and beats: the score adds each note's length on a bar line, half of it on another beat, and
    takes it away for a note crossing a bar line; ties favour no pickup."""
    placed, t = [], Fraction(0)
    for _, d in notes:
        d = Fraction(d).limit_denominator(48)
        placed.append((t, d))
        t += d
    beat = beat_length(meter)
    best, best_score = Fraction(0), None
    step = Fraction(1, 4)
    for k in range(int(meter.bar / step)):
        phase = k * step
        score = Fraction(0)
        for onset, d in placed:
            pos = (onset - phase) % meter.bar
            if pos == 0:
                score += d
            elif pos % beat == 0:
                score += d / 2
            if pos + d > meter.bar:
                score -= d
        if best_score is None or score > best_score:
            best, best_score = phase, score
    return best


# ---------------------------------------------------------------------------------------------------------------
# ABC with bars

def _key_alter(sharps: int) -> dict[str, int]:
    """Letter -> alteration the key signature gives it."""
    order_sharp, order_flat = "FCGDAEB", "BEADGCF"
    alter = {letter: 0 for letter in _LETTERS}
    for letter in order_sharp[:max(0, sharps)]:
        alter[letter] = 1
    for letter in order_flat[:max(0, -sharps)]:
        alter[letter] = -1
    return alter


def spell(pitch: int, sharps: int) -> tuple[str, int, int]:
    """``(letter, alteration, octave)`` of a MIDI pitch in a key: the scale's letter when the pitch is in the
    key, else the natural letter, else a sharp in a sharp key (or C major) and a flat in a flat key."""
    alter = _key_alter(sharps)
    pc = pitch % 12
    for letter in _LETTERS:
        if (_LETTER_PC[letter] + alter[letter]) % 12 == pc:
            acc = alter[letter]
            break
    else:
        natural = [l for l in _LETTERS if _LETTER_PC[l] == pc]
        acc = 0 if natural else 1 if sharps >= 0 else -1
        letter = natural[0] if natural else next(l for l in _LETTERS if (_LETTER_PC[l] + acc) % 12 == pc)
    octave = (pitch - acc - _LETTER_PC[letter]) // 12 - 1
    return letter, acc, octave


def abc_note(letter: str, octave: int) -> str:
    if octave >= 5:
        return letter.lower() + "'" * (octave - 5)
    return letter + "," * (4 - octave)


def _length(d: Fraction) -> str:
    mult = d * 2  # in eighths (L:1/8)
    if mult == 1:
        return ""
    return str(mult.numerator) if mult.denominator == 1 else f"{mult.numerator}/{mult.denominator}"


def bar_events(melody: Sequence[tuple], meter: Meter, pickup: Fraction = Fraction(0)
               ) -> list[list[tuple[int | None, Fraction, bool]]]:
    """Events cut at bar lines: bars of ``(pitch, quarter lengths, tied to the next)``; the first bar holds only
    ``pickup`` quarter lengths when that is above 0."""
    bars: list[list[tuple[int | None, Fraction, bool]]] = [[]]
    room = Fraction(pickup) % meter.bar or meter.bar
    for pitch, dur in melody:
        left = Fraction(float(dur)).limit_denominator(48)
        while left > 0:
            if room == 0:
                bars.append([])
                room = meter.bar
            part = min(left, room)
            left -= part
            room -= part
            bars[-1].append((pitch, part, pitch is not None and left > 0))
    return bars


def abc_text(melody: Sequence[tuple], title: str = "chromasonic melody", meter: Meter | None = None,
             key: Key | None = None, bpm: float | None = None, bars_per_line: int = 4,
             pickup: Fraction = Fraction(0)) -> str:
    """ABC with ``M:``, ``L:1/8``, ``K:``, bar lines, and notes split at bar lines and tied across them.

    Accidentals are written whenever a note leaves the key signature, again on every later note of that letter
    in the same bar (readers differ on whether an accidental carries to the end of the bar), and on the
    continuation of a tied note that had one. ``pickup``: quarter lengths before the first bar line."""
    meter = meter or Meter(4, 4)
    key = key or Key("C", "", 0)
    alter = _key_alter(key.sharps)
    bars_text = []
    held = ""  # the accidental of a note tied into the next bar: written again on its continuation
    for bar in bar_events(melody, meter, pickup):
        touched: set[str] = set()
        items = []
        for pitch, dur, tied in bar:
            if pitch is None:
                items.append("z" + _length(dur))
                continue
            letter, acc, octave = spell(int(pitch), key.sharps)
            mark = ""
            if acc != alter[letter] or letter in touched or held:
                mark = {1: "^", -1: "_", 0: "=", 2: "^^", -2: "__"}[acc]
                touched.add(letter)
            held = mark if tied else ""
            items.append(mark + abc_note(letter, octave) + _length(dur) + ("-" if tied else ""))
        bars_text.append(" ".join(items))
    lines = [" | ".join(bars_text[i:i + bars_per_line]) for i in range(0, len(bars_text), bars_per_line)]
    head = f"X:1\nT:{title}\nM:{meter.text}\nL:1/8\n" + (f"Q:1/4={bpm:g}\n" if bpm else "") + f"K:{key.name}\n"
    return head + " |\n".join(lines) + " |]\n"
