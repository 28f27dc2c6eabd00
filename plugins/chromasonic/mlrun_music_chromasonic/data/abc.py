"""ABC files -> melodies, with music21 doing the parsing; every tune of every file, bad tunes skipped with a reason.

A file is split into tunes at its ``X:`` lines (the ABC standard: each tune starts with one), and each tune is
parsed on its own, so one malformed tune costs only itself. Parsed files are cached by content hash
(see :mod:`.cache`), so only the first run pays for music21.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any, Iterator

from .melody import Melody

#: Bump when the parse result changes, so old cache entries are not reused.
PARSER_VERSION = 3

_TUNE_START = re.compile(r"(?m)^(?=X:)")
_HEADER = re.compile(r"(?m)^([A-Za-z]):[ \t]*(.*?)\s*$")


def read_abc_text(path: Path) -> tuple[str | None, str | None]:
    """``(text, None)`` or ``(None, reason)`` for empty, binary or unreadable files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"unreadable ({exc.strerror or exc})"
    if not raw.strip():
        return None, "empty file"
    if b"\x00" in raw[:4096]:
        return None, "binary file (not ABC text)"
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("latin-1"), None  # older ABC collections are Latin-1


def split_tunes(text: str) -> list[str]:
    """The tunes of an ABC file: chunks starting at each ``X:`` line (a file header before the first is dropped)."""
    return [chunk for chunk in _TUNE_START.split(text) if chunk.startswith("X:")]


def headers(tune: str) -> dict[str, str]:
    """First value of each header field (X, T, M, L, K, ...) of one tune."""
    out: dict[str, str] = {}
    for field, value in _HEADER.findall(tune):
        out.setdefault(field, value)
        if field == "K":
            break  # K: ends the header
    return out


@contextlib.contextmanager
def _no_beaming() -> Iterator[None]:
    """music21 beams every parsed part (about 70 % of the parse time); melodies need no beams."""
    from music21 import stream

    original = stream.Part.makeBeams
    stream.Part.makeBeams = lambda self, *a, **k: self  # type: ignore[method-assign]
    try:
        yield
    finally:
        stream.Part.makeBeams = original  # type: ignore[method-assign]


def parse_tune(tune: str, source: str) -> tuple[Melody | None, str | None]:
    """One ABC tune -> ``(Melody, None)`` or ``(None, reason)``.

    Takes the first voice; a chord contributes its top note; grace notes and chord symbols ("Am") are not melody;
    tied notes of the same pitch merge; leading and trailing rests are dropped.
    """
    from music21 import abcFormat, chord, harmony, note
    from music21.abcFormat import translate

    head = headers(tune)
    if "K" not in head:
        return None, "malformed ABC: no K: (key) header"
    try:
        handler = abcFormat.ABCHandler()
        handler.process(tune)
        with _no_beaming():
            score = translate.abcToStreamScore(handler)
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on malformed input
        msg = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        return None, f"malformed ABC: {msg}"
    parts = list(score.parts) or [score]
    events: list[list[Any]] = []  # [pitch, duration, tie_open]
    for el in parts[0].flatten().notesAndRests:
        if isinstance(el, harmony.Harmony) or el.duration.isGrace or el.quarterLength <= 0:
            continue
        ql = float(el.quarterLength)
        if isinstance(el, chord.Chord):
            pitch = max(p.midi for p in el.pitches) if el.pitches else None
        elif isinstance(el, note.Note):
            pitch = el.pitch.midi
        else:
            pitch = None
        tie = el.tie.type if getattr(el, "tie", None) is not None else None
        if tie in ("stop", "continue") and events and events[-1][2] and events[-1][0] == pitch \
                and pitch is not None:
            events[-1][1] += ql  # a real tie: one longer note
            events[-1][2] = tie == "continue"
            continue
        events.append([pitch, ql, tie in ("start", "continue")])
    while events and events[0][0] is None:
        events.pop(0)
    while events and events[-1][0] is None:
        events.pop()
    if not events:
        return None, "no notes"
    sharps = None
    ks = parts[0].flatten().getElementsByClass("KeySignature").first()
    if ks is not None:
        sharps = int(ks.sharps)
    title = head.get("T", "") or (score.metadata.title if score.metadata else "") or ""
    number = head.get("X", "").strip()
    return Melody(notes=[(p, q) for p, q, _ in events], title=title.strip(), key=head.get("K", ""),
                  meter=head.get("M", ""), source=f"{source}#X{number}" if number else source,
                  key_sharps=sharps), None


def parse_abc_file(path: str, source: str) -> dict[str, Any]:
    """Parse every tune of one file: ``{"melodies": [...json...], "skipped": [{"tune", "reason"}], "tunes": n}``.

    Runs in worker processes too, so it takes and returns plain data.
    """
    text, reason = read_abc_text(Path(path))
    if text is None:
        return {"melodies": [], "skipped": [{"tune": None, "reason": reason}], "tunes": 0, "file_error": reason}
    tunes = split_tunes(text)
    if not tunes:
        reason = "no tunes (no X: line)"
        return {"melodies": [], "skipped": [{"tune": None, "reason": reason}], "tunes": 0, "file_error": reason}
    melodies, skipped = [], []
    for i, tune in enumerate(tunes):
        mel, why = parse_tune(tune, source)
        if mel is None:
            skipped.append({"tune": headers(tune).get("X", str(i + 1)), "title": headers(tune).get("T", ""),
                            "reason": why})
        else:
            melodies.append(mel.to_json())
    return {"melodies": melodies, "skipped": skipped, "tunes": len(tunes), "file_error": None}
