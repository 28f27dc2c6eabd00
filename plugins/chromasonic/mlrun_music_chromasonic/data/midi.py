"""Melodies out: a playable standard MIDI file (mido) and ABC text, both with key, metre and tempo."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Sequence

from mlrun_music.fileio import atomic_path, write_text

from .notation import Key, Meter, abc_text

TICKS = 480  # per quarter note


def write_midi(melody: Sequence[tuple], path: str | Path, bpm: float = 120.0, program: int = 73,
               velocity: int = 90, key: Key | None = None, meter: Meter | None = None) -> Path:
    """Write note events ``(pitch or None, quarter lengths)`` as a one-track MIDI file (default: flute) with its
    tempo, and its key and time signatures when given."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=TICKS)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    if meter is not None:
        track.append(mido.MetaMessage("time_signature", numerator=meter.numerator, denominator=meter.denominator,
                                      time=0))
    if key is not None:
        track.append(mido.MetaMessage("key_signature", key=key.mido_name, time=0))
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


def write_abc(melody: Sequence[tuple], path: str | Path, title: str = "chromasonic melody",
              meter: Meter | None = None, key: Key | None = None, bpm: float | None = None,
              pickup: Fraction = Fraction(0)) -> Path:
    return write_text(path, abc_text(melody, title, meter=meter, key=key, bpm=bpm, pickup=pickup))
