"""Reading MIDI files that may be hostile or degenerate: every problem is a one-line UserError naming the file.

Refused by name: a folder, a missing or unreadable file, a type-2 file (independent sequences with no common
timeline), a zero time division, SMPTE timing (frames per second instead of beats) unless the caller can use it,
a tempo of 0 microseconds per beat (every event at once), and music longer than a caller's limit.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .errors import UserError


def read_midi(path: str | os.PathLike[str], *, smpte: bool = False, max_seconds: float | None = None) -> Any:
    """The ``mido.MidiFile`` at ``path``, checked (see the module docstring); ``smpte=True`` accepts SMPTE timing."""
    import mido

    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder, not a MIDI file")
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        mid = mido.MidiFile(str(path))
    except Exception as exc:  # noqa: BLE001 - mido raises many types on malformed files
        raise UserError(f"{path} is not a readable MIDI file ({type(exc).__name__}: {str(exc)[:80]})") from None
    problem = midi_problem(mid, smpte=smpte)
    if problem:
        raise UserError(f"{path}: {problem}")
    if max_seconds is not None:
        seconds = float(mid.length)
        if seconds > max_seconds:
            raise UserError(f"{path} lasts {seconds:.0f} s; at most {max_seconds:.0f} s of music is read")
    return mid


def midi_problem(mid: Any, *, smpte: bool = False) -> str | None:
    """Why the parsed ``mid`` cannot be read as music on one timeline, or None."""
    if mid.type == 2:
        return "a type-2 MIDI file (independent sequences without a common timeline) is not supported"
    division = mid.ticks_per_beat
    if division == 0:
        return "the time division is 0 ticks per beat"
    if division < 0 or division >= 0x8000:
        if not smpte:
            return "SMPTE time division (frames per second, no beats) is not supported here"
    for track in mid.tracks:
        for msg in track:
            if msg.type == "set_tempo" and msg.tempo <= 0:
                return "a tempo of 0 microseconds per beat (every event at the same instant)"
    return None
