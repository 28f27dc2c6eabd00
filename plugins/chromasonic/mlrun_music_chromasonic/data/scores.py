"""Melodies of MIDI and MusicXML files (through music21): the highest voice of one track or part.

The track is ``track`` (the Nth one that holds pitched notes, 1 = first) or, with 0, the one with the most notes.
The highest voice: at each onset the highest note sounding from it, cut where the next onset begins; gaps
become rests. Percussion tracks are not melody. The file limits are ABC's (:mod:`.abc`): at most
:data:`~.abc.MAX_FILE_BYTES` bytes, parsed within :data:`~.abc.MAX_FILE_SECONDS`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

from mlrun_music.time_budget import OverBudget, time_budget

from .abc import MAX_FILE_BYTES, MAX_FILE_SECONDS, MAX_NOTE_QUARTERS, MAX_TUNE_NOTES, OVER_BUDGET
from .melody import Melody

MIDI_SUFFIXES = (".mid", ".midi")
MUSICXML_SUFFIXES = (".musicxml", ".xml", ".mxl")


def _skipped(reason: str) -> dict[str, Any]:
    return {"melodies": [], "skipped": [{"tune": None, "reason": reason}], "tunes": 0, "file_error": reason}


def pitched_notes(part: Any) -> list[tuple[Fraction, Fraction, int]]:
    """``(onset, duration, midi pitch)`` of every pitched note of a part (a chord gives each of its notes; tied
    notes merge)."""
    from music21 import chord, note

    out = []
    for el in part.stripTies().flatten().notes:  # notes tied across bar lines are one note
        if el.duration.isGrace or el.quarterLength <= 0:
            continue
        onset, dur = Fraction(el.offset).limit_denominator(48), Fraction(el.quarterLength).limit_denominator(48)
        if isinstance(el, chord.Chord):
            out += [(onset, dur, p.midi) for p in el.pitches]
        elif isinstance(el, note.Note):
            out.append((onset, dur, el.pitch.midi))
    return out


def highest_voice(notes: list[tuple[Fraction, Fraction, int]]) -> list[tuple[int | None, float]]:
    """Note events of the highest voice (see the module docstring); leading and trailing rests dropped."""
    top: dict[Fraction, tuple[Fraction, int]] = {}
    for onset, dur, pitch in notes:
        if onset not in top or pitch > top[onset][1]:
            top[onset] = (dur, pitch)
    onsets = sorted(top)
    events: list[tuple[int | None, float]] = []
    for i, onset in enumerate(onsets):
        dur, pitch = top[onset]
        nxt = onsets[i + 1] if i + 1 < len(onsets) else None
        length = min(dur, nxt - onset) if nxt is not None else dur
        events.append((pitch, float(length)))
        if nxt is not None and onset + length < nxt:
            events.append((None, float(nxt - onset - length)))
    return events


def _is_percussion(part: Any) -> bool:
    from music21 import instrument

    inst = part.getInstrument(returnDefault=False)
    return isinstance(inst, instrument.UnpitchedPercussion) or getattr(inst, "midiChannel", None) == 9


def parse_score_file(path: str, source: str, track: int = 0) -> dict[str, Any]:
    """A MIDI or MusicXML file -> ``{"melodies": [one melody as JSON], "skipped": [...], "tunes": 1, ...}`` (the
    shape of :func:`.abc.parse_abc_file`); a file that gives no melody is skipped with its reason."""
    from music21 import converter

    p = Path(path)
    kind = "MIDI" if p.suffix.lower() in MIDI_SUFFIXES else "MusicXML"
    try:
        size = p.stat().st_size
    except OSError as exc:
        return _skipped(f"unreadable: {exc.strerror or exc}")
    if size > MAX_FILE_BYTES:
        return _skipped(f"file too large: {size:,} bytes, the limit is {MAX_FILE_BYTES:,}")
    try:
        with time_budget(MAX_FILE_SECONDS):
            score = converter.parse(str(p), format="midi" if kind == "MIDI" else "musicxml", forceSource=True)
    except OverBudget:
        return _skipped(f"{OVER_BUDGET}: more than {MAX_FILE_SECONDS:g} s for the file")
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on malformed input
        msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        return _skipped(f"malformed {kind}: {msg}")
    parts = [part for part in (list(score.parts) or [score]) if not _is_percussion(part)]
    voiced = [(part, notes) for part in parts if (notes := pitched_notes(part))]
    if not voiced:
        return _skipped(f"no melodic notes: no {'track' if kind == 'MIDI' else 'part'} holds pitched notes")
    if track > len(voiced):
        return _skipped(f"no track {track}: the file has {len(voiced)} track(s) with pitched notes")
    part, notes = voiced[track - 1] if track else max(voiced, key=lambda pn: len(pn[1]))
    melody = highest_voice(notes)
    if len(melody) > MAX_TUNE_NOTES:
        return _skipped(f"too many notes: {len(melody)}, the limit is {MAX_TUNE_NOTES}")
    longest = max(d for _, d in melody)
    if longest > MAX_NOTE_QUARTERS:
        return _skipped(f"note too long: {longest:g} quarter lengths, the limit is {MAX_NOTE_QUARTERS:g}")
    flat = part.flatten()
    ks = flat.getElementsByClass("KeySignature").first()
    ts = flat.getElementsByClass("TimeSignature").first()
    title = (score.metadata.title if score.metadata and score.metadata.title else "") or p.stem
    mel = Melody(notes=melody, title=title, key="", meter=ts.ratioString if ts is not None else "", source=source,
                 key_sharps=int(ks.sharps) if ks is not None else None)
    return {"melodies": [mel.to_json()], "skipped": [], "tunes": 1, "file_error": None}
