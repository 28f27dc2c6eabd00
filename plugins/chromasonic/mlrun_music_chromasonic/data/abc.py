"""ABC files -> melodies, with music21 doing the parsing; every tune of every file, bad tunes skipped with a reason.

A file is split into tunes at its ``X:`` lines (the ABC standard: each tune starts with one), and each tune is
parsed on its own, so one malformed tune costs only itself. Parsed files are cached by content hash
(see :mod:`.cache`), so only the first run pays for music21.

Limits, checked before music21 sees a tune (its time grows with a tune's bars and notes, and a note tens of
thousands of bars long makes it build that many bars): a file is at most :data:`MAX_FILE_BYTES` and is parsed
within :data:`MAX_FILE_SECONDS`; a tune has at most :data:`MAX_TUNE_BARS` bar lines and :data:`MAX_TUNE_NOTES`
notes, and no note longer than :data:`MAX_NOTE_QUARTERS` quarter lengths. The folk corpus is far inside them
(at most 40 KB per file, 133 bars and 726 notes per tune, notes of up to 5 quarters). A file or tune over a limit
is skipped and counted with its reason, like a malformed one.
"""

from __future__ import annotations

import contextlib
import re
import stat
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

from mlrun_music.time_budget import OverBudget, time_budget

from .melody import Melody

#: Bump when the parse result changes, so old cache entries are not reused.
PARSER_VERSION = 4

#: Largest ABC file read (the Nottingham files are under 200 KB, the folk corpus's under 41 KB).
MAX_FILE_BYTES = 2_000_000
#: Seconds music21 may spend on one file (a 50-tune folk file takes about 2 s); a file over it is skipped.
MAX_FILE_SECONDS = 120.0
#: The skip reason (its kind) of a file over MAX_FILE_SECONDS.
OVER_BUDGET = "over the parse time budget"
#: Bar lines of one tune (a long folk tune has about 130).
MAX_TUNE_BARS = 1000
#: Notes and rests of one tune, counted in its text (chord notes each count).
MAX_TUNE_NOTES = 4000
#: Longest note or rest, in quarter lengths (16 bars of 4/4; --max-duration clips tokens far below this).
MAX_NOTE_QUARTERS = 64.0

_TUNE_START = re.compile(r"(?m)^(?=X:)")
_HEADER = re.compile(r"(?m)^([A-Za-z]):[ \t]*(.*?)\s*$")
#: What is not music in a tune's body: header lines, comments, quoted chord symbols / text, decorations and
#: inline fields.
_NOT_MUSIC = re.compile(r'(?m)^[A-Za-z]:.*$|%.*$|"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\[[A-Za-z]:[^\]\n]*\]')
_BARS = re.compile(r"\|+")
_NOTES = re.compile(r"[A-Ga-gzx]")
#: A note, rest or chord with a length multiplier: the letter (with accidental/octave marks) and the number.
_LENGTH = re.compile(r"(?:[A-Ga-gzx][,']*|\])(\d+)")


def read_abc_text(path: Path) -> tuple[str | None, str | None]:
    """``(text, None)`` or ``(None, reason)`` for a file that cannot be an ABC text: a name that is not UTF-8
    (it could not be written into reports and the cache), too large, empty, binary or unreadable."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        return None, "file name not UTF-8 (rename the file)"
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return None, "not a regular file"  # a FIFO or device would block or never end
        size = info.st_size
        if size > MAX_FILE_BYTES:
            return None, f"file too large: {size:,} bytes, the limit is {MAX_FILE_BYTES:,}"
        raw = path.read_bytes()
    except OSError as exc:
        return None, f"unreadable: {exc.strerror or exc}"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _text_or_binary(raw.decode("utf-16"))
        except UnicodeDecodeError:
            return None, "binary file (not ABC text)"
    if not raw.strip():
        return None, "empty file"
    if b"\x00" in raw[:4096]:
        return None, "binary file (not ABC text)"
    try:
        return _text_or_binary(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return _text_or_binary(raw.decode("latin-1"))  # older ABC collections are Latin-1


def _text_or_binary(text: str) -> tuple[str | None, str | None]:
    """Text with more than 1 % control characters (other than white space) is binary, whatever it decoded as."""
    if not text.strip():
        return None, "empty file"
    controls = sum(1 for c in text if (ord(c) < 32 and c not in "\t\n\r\f\v") or 127 <= ord(c) < 160)
    if controls > len(text) / 100:
        return None, "binary file (not ABC text)"
    return text, None


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


def tune_over_limits(tune: str) -> str | None:
    """The reason a tune is over a limit (bars, notes, note length; read from its text), else None."""
    body = _NOT_MUSIC.sub(" ", tune)
    bars = len(_BARS.findall(body))
    if bars > MAX_TUNE_BARS:
        return f"tune too long: {bars:,} bars, the limit is {MAX_TUNE_BARS:,}"
    notes = len(_NOTES.findall(body))
    if notes > MAX_TUNE_NOTES:
        return f"tune too long: {notes:,} notes, the limit is {MAX_TUNE_NOTES:,}"
    longest = max((int(n) for n in _LENGTH.findall(body)), default=1)
    quarters = longest * _unit_note_length(headers(tune).get("L", "")) * 4
    if quarters > MAX_NOTE_QUARTERS:
        return f"note too long: {float(quarters):g} quarter lengths, the limit is {MAX_NOTE_QUARTERS:g}"
    return None


def _unit_note_length(text: str) -> Fraction:
    """The ``L:`` field as a fraction of a whole note (1/8 when missing or unreadable, the usual default)."""
    try:
        unit = Fraction(text.split()[0]) if text.strip() else Fraction(1, 8)
    except (ValueError, ZeroDivisionError):
        return Fraction(1, 8)
    return unit if unit > 0 else Fraction(1, 8)


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
    longest = max((q for _, q, _ in events), default=0.0)
    if longest > MAX_NOTE_QUARTERS:  # tied notes may add up beyond what the text shows
        return None, f"note too long: {longest:g} quarter lengths, the limit is {MAX_NOTE_QUARTERS:g}"
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


def parse_abc_file(path: str, source: str, max_melodies: int = 0) -> dict[str, Any]:
    """Parse every tune of one file: ``{"melodies": [...json...], "skipped": [{"tune", "reason"}], "tunes": n}``.

    ``max_melodies`` > 0 stops after that many usable tunes (``generate --seed-from`` needs the first). A file
    over :data:`MAX_FILE_SECONDS` is skipped as a whole. Runs in worker processes too, so it takes and returns
    plain data.
    """
    text, reason = read_abc_text(Path(path))
    if text is None:
        return _file_skipped(reason)
    tunes = split_tunes(text)
    if not tunes:
        return _file_skipped("no tunes: no line starts with X:")
    melodies, skipped = [], []
    deadline = time.monotonic() + MAX_FILE_SECONDS
    try:
        with time_budget(MAX_FILE_SECONDS):
            for i, tune in enumerate(tunes):
                if time.monotonic() > deadline:
                    raise OverBudget()
                why = tune_over_limits(tune)
                mel = None
                if why is None:
                    mel, why = parse_tune(tune, source)
                if mel is None:
                    head = headers(tune)
                    skipped.append({"tune": head.get("X", str(i + 1)), "title": head.get("T", ""), "reason": why})
                else:
                    melodies.append(mel.to_json())
                    if max_melodies and len(melodies) >= max_melodies:
                        break
    except OverBudget:
        return _file_skipped(f"{OVER_BUDGET}: more than {MAX_FILE_SECONDS:g} s for the file")
    return {"melodies": melodies, "skipped": skipped, "tunes": len(tunes), "file_error": None}


def _file_skipped(reason: str) -> dict[str, Any]:
    return {"melodies": [], "skipped": [{"tune": None, "reason": reason}], "tunes": 0, "file_error": reason}


def reason_kind(reason: str) -> str:
    """The kind a skip reason is counted under: its text before ``": "``."""
    return reason.split(": ", 1)[0]
