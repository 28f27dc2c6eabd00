"""Melodies out: a playable standard MIDI file (mido) and ABC text."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

from mlrun_music.fileio import atomic_path, write_text

TICKS = 480  # per quarter note


def write_midi(melody: Sequence[tuple], path: str | Path, bpm: float = 120.0, program: int = 73,
               velocity: int = 90) -> Path:
    """Write note events ``(pitch or None, quarter lengths)`` as a one-track MIDI file (default: flute)."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=TICKS)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=program, channel=0, time=0))
    pending = 0
    for pitch, dur in melody:
        ticks = max(1, round(float(dur) * TICKS))
        if pitch is None:
            pending += ticks
            continue
        track.append(mido.Message("note_on", note=int(pitch), velocity=velocity, channel=0, time=pending))
        track.append(mido.Message("note_off", note=int(pitch), velocity=0, channel=0, time=ticks))
        pending = 0
    track.append(mido.MetaMessage("end_of_track", time=pending))
    path = Path(path)
    with atomic_path(path, suffix=".mid") as tmp:
        mid.save(str(tmp))
    return path


_LETTERS = ["C", "^C", "D", "^D", "E", "F", "^F", "G", "^G", "A", "^A", "B"]


def abc_pitch(pitch: int) -> str:
    """MIDI pitch -> ABC note (middle C = C, an octave up = c, commas and apostrophes beyond)."""
    name = _LETTERS[pitch % 12]
    octave = pitch // 12 - 1
    acc, letter = name[:-1], name[-1]
    if octave >= 5:
        return acc + letter.lower() + "'" * (octave - 5)
    return acc + letter + "," * (4 - octave)


def abc_text(melody: Sequence[tuple], title: str = "chromasonic melody", meter: str = "4/4") -> str:
    """ABC notation with L:1/8 (explicit accidentals, durations as multiples of an eighth)."""
    body = []
    for pitch, dur in melody:
        mult = Fraction(float(dur)).limit_denominator(12) * 2  # in eighths
        length = "" if mult == 1 else (str(mult.numerator) if mult.denominator == 1 else
                                       f"{mult.numerator}/{mult.denominator}")
        body.append(("z" if pitch is None else abc_pitch(int(pitch))) + length)
    lines = [" ".join(body[i:i + 16]) for i in range(0, len(body), 16)]
    return f"X:1\nT:{title}\nM:{meter}\nL:1/8\nK:C\n" + "\n".join(lines) + " |]\n"


def write_abc(melody: Sequence[tuple], path: str | Path, title: str = "chromasonic melody") -> Path:
    return write_text(path, abc_text(melody, title))
