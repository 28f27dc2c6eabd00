"""Drum parts from General MIDI files and Hydrogen songs, in one plain structure.

A :class:`DrumPart` holds a song's tempo, its beats per bar when the file states one meter, and its hits: time in
quarter-note beats from the start, General MIDI drum note, velocity 0-1. Times are in beats, so tempo changes do
not move a hit off the grid.

- General MIDI (``.mid``, ``.midi``, ``.kar``): note-ons on channel 10 (9 counted from zero), read through
  :func:`mlrun_music.midi.read_midi`, which refuses bad files by name. ``bpm`` is the mean tempo over the file
  (beats per minute of music time); ``beats_per_bar`` comes from the time signature (4 when the file has none, the
  MIDI default; None when the meter changes). The notes of the other channels are kept as a pitch-class count,
  for callers that estimate the mode.
- Doom WAD files (``.wad``): each music lump (``D_*``) that holds a Standard MIDI file is read as above and named
  ``<file>:<lump>``; MUS lumps are not read (reported, not parsed). A WAD whose header or lump directory does not
  fit the file is a UserError naming it.
- Hydrogen (``.h2song``, XML): the song's pattern sequence laid end to end (the patterns of one column play
  together; a column lasts as long as its longest pattern), 48 ticks per beat, ``leadlag`` applied as Hydrogen does
  (at most 5 ticks either way). Instruments are mapped to GM drum notes by their names; hits of an instrument no
  name rule knows are left out and counted in ``unmapped_hits``. Swing and humanisation are playback settings and
  are not applied. Malformed XML is a one-line UserError naming the file.

A file that cannot be read raises :class:`~mlrun_music.errors.UserError` naming it; a caller reading many files
skips and counts those (:func:`read_drum_parts` also returns, per WAD, the lumps it could not read).
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
from pathlib import Path
from typing import Any, Iterable

import attrs

from .errors import UserError

MIDI_SUFFIXES = (".mid", ".midi", ".kar")
HYDROGEN_SUFFIXES = (".h2song",)
WAD_SUFFIXES = (".wad",)
#: Zero-based MIDI channel of General MIDI percussion (channel 10).
DRUM_CHANNEL = 9
#: Hydrogen's resolution: 192 ticks per whole note.
HYDROGEN_TICKS_PER_BEAT = 48
#: Hydrogen's lead/lag of +-1 moves a note by this many ticks.
HYDROGEN_LEADLAG_TICKS = 5

#: Instrument-name rules for Hydrogen kits, first match wins: (words that must all appear, GM drum note).
GM_NAME_RULES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("kick",), 36), (("bass", "drum"), 36), (("bd",), 36),
    (("rim",), 37), (("stick",), 37),
    (("clap",), 39),
    (("snare",), 38), (("sd",), 38),
    (("hat", "pedal"), 44), (("hat", "foot"), 44), (("pedal",), 44),
    (("hat", "open"), 46), (("hat", "semi"), 46), (("hh", "open"), 46), (("open", "hat"), 46),
    (("hat",), 42), (("hh",), 42), (("hihat",), 42),
    (("floor", "tom"), 41), (("tom", "low"), 45), (("low", "tom"), 45),
    (("tom", "mid"), 47), (("mid", "tom"), 47), (("tom", "2"), 47),
    (("tom", "hi"), 50), (("high", "tom"), 50), (("tom", "1"), 50), (("tom",), 45),
    (("splash",), 55), (("china",), 52), (("crash",), 49),
    (("ride", "bell"), 53), (("cowbell",), 56), (("bell",), 53), (("ride",), 51), (("cymbal",), 49),
    (("tambourine",), 54), (("shaker",), 70), (("maraca",), 70), (("cabasa",), 69),
    (("conga",), 63), (("bongo",), 60), (("timbale",), 65), (("agogo",), 67),
    (("clave",), 75), (("wood", "block"), 76), (("woodblock",), 76), (("triangle",), 81),
    (("guiro",), 73), (("whistle",), 71),
)


@attrs.frozen
class DrumHit:
    """One drum hit: ``beat`` in quarter notes from the start, General MIDI ``note``, ``velocity`` in 0-1."""

    beat: float
    note: int
    velocity: float


@attrs.frozen
class DrumPart:
    """The drum part of one song (see the module docstring)."""

    source: str
    bpm: float
    beats_per_bar: float | None
    hits: tuple[DrumHit, ...]
    pitch_classes: tuple[int, ...] | None = None
    unmapped_hits: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (hits as ``[beat, note, velocity]`` rows)."""
        return {"source": self.source, "bpm": self.bpm, "beats_per_bar": self.beats_per_bar,
                "hits": [[h.beat, h.note, h.velocity] for h in self.hits],
                "pitch_classes": list(self.pitch_classes) if self.pitch_classes is not None else None,
                "unmapped_hits": self.unmapped_hits}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DrumPart":
        """The inverse of :meth:`to_dict`."""
        pcs = data.get("pitch_classes")
        return cls(source=str(data["source"]), bpm=float(data["bpm"]),
                   beats_per_bar=None if data["beats_per_bar"] is None else float(data["beats_per_bar"]),
                   hits=tuple(DrumHit(float(b), int(n), float(v)) for b, n, v in data["hits"]),
                   pitch_classes=None if pcs is None else tuple(int(c) for c in pcs),
                   unmapped_hits=int(data.get("unmapped_hits", 0)))


def drum_files(folders: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The MIDI and Hydrogen files under ``folders`` (recursively), sorted; a folder that does not exist adds none."""
    suffixes = MIDI_SUFFIXES + HYDROGEN_SUFFIXES + WAD_SUFFIXES
    found: set[Path] = set()
    for folder in folders:
        root = Path(folder)
        if root.is_file() and root.suffix.lower() in suffixes:
            found.add(root)
        elif root.is_dir():
            found.update(p for p in root.rglob("*") if p.suffix.lower() in suffixes and p.is_file())
    return sorted(found)


def read_drum_part(path: str | os.PathLike[str]) -> DrumPart:
    """The drum part of a MIDI or Hydrogen file, chosen by its suffix (UserError naming the file otherwise)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in MIDI_SUFFIXES:
        return read_midi_drums(path)
    if suffix in HYDROGEN_SUFFIXES:
        return read_hydrogen(path)
    raise UserError(f"{path}: not a drum-part file (expected {', '.join(MIDI_SUFFIXES + HYDROGEN_SUFFIXES)})")


def read_drum_parts(path: str | os.PathLike[str]) -> tuple[list[DrumPart], list[str]]:
    """Every drum part of a file: one for MIDI and Hydrogen, one per music lump of a WAD; with the one-line
    problems of the lumps that could not be read. A file that cannot be read at all raises UserError."""
    path = Path(path)
    if path.suffix.lower() in WAD_SUFFIXES:
        return read_wad_drums(path)
    return [read_drum_part(path)], []


def read_midi_drums(path: str | os.PathLike[str]) -> DrumPart:
    """The channel-10 hits of a General MIDI file (see the module docstring)."""
    from .midi import read_midi

    path = Path(path)
    return _midi_drums(read_midi(path), str(path))


def midi_bytes_drums(data: bytes, source: str) -> DrumPart:
    """The channel-10 hits of a Standard MIDI file held in memory; ``source`` names it in errors and in the part."""
    import mido

    from .midi import midi_problem

    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - mido raises many types on malformed data
        raise UserError(f"{source} is not a readable MIDI file ({type(exc).__name__}: {str(exc)[:80]})") from None
    problem = midi_problem(mid)
    if problem:
        raise UserError(f"{source}: {problem}")
    return _midi_drums(mid, source)


def _midi_drums(mid: Any, source: str) -> DrumPart:
    import mido

    per_beat = mid.ticks_per_beat
    tick = 0
    seconds = 0.0
    tempo = 500000  # the MIDI default, 120 bpm
    meters: set[float] = set()
    hits: list[DrumHit] = []
    pitch_classes = [0] * 12
    for msg in mido.merge_tracks(mid.tracks):
        if msg.time:
            tick += msg.time
            seconds += msg.time * tempo / per_beat / 1e6
        if msg.type == "set_tempo":
            tempo = msg.tempo
        elif msg.type == "time_signature":
            meters.add(msg.numerator * 4 / msg.denominator)
        elif msg.type == "note_on" and msg.velocity > 0:
            if msg.channel == DRUM_CHANNEL:
                hits.append(DrumHit(tick / per_beat, msg.note, msg.velocity / 127))
            else:
                pitch_classes[msg.note % 12] += 1
    beats = tick / per_beat
    bpm = beats / seconds * 60 if seconds > 0 else 60e6 / tempo
    beats_per_bar = 4.0 if not meters else meters.pop() if len(meters) == 1 else None
    hits.sort(key=lambda h: (h.beat, h.note))
    return DrumPart(source=source, bpm=float(bpm), beats_per_bar=beats_per_bar, hits=tuple(hits),
                    pitch_classes=tuple(pitch_classes))


def wad_music(path: str | os.PathLike[str]) -> list[tuple[str, bytes]]:
    """The music lumps (names starting ``D_``) of a Doom WAD as (lump name, bytes), in directory order.

    Layout: a 12-byte header (``IWAD`` or ``PWAD``, lump count, directory offset; little-endian int32), then a
    directory of 16-byte entries (offset, size, name of 8 bytes padded with NULs)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(data) < 12 or data[:4] not in (b"IWAD", b"PWAD"):
        raise UserError(f"{path}: not a WAD file (no IWAD or PWAD header)")
    count, table = struct.unpack_from("<ii", data, 4)
    if count < 0 or table < 12 or table + 16 * count > len(data):
        raise UserError(f"{path}: the WAD's lump directory ({count} entries at byte {table}) lies outside the "
                        f"file ({len(data)} bytes); truncated?")
    lumps = []
    for i in range(count):
        offset, size, raw = struct.unpack_from("<ii8s", data, table + 16 * i)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if not name.upper().startswith("D_"):
            continue
        if offset < 0 or size < 0 or offset + size > len(data):
            raise UserError(f"{path}: lump {name} (bytes {offset}-{offset + size}) lies outside the file")
        lumps.append((name, data[offset:offset + size]))
    return lumps


def read_wad_drums(path: str | os.PathLike[str]) -> tuple[list[DrumPart], list[str]]:
    """The drum parts of a WAD's MIDI music lumps, with a one-line problem for each lump that is not read."""
    parts, problems = [], []
    for name, lump in wad_music(path):
        source = f"{path}:{name}"
        if lump[:4] == b"MUS\x1a":
            problems.append(f"{source}: a MUS lump (only MIDI music lumps are read)")
            continue
        try:
            parts.append(midi_bytes_drums(lump, source))
        except UserError as exc:
            problems.append(str(exc))
    return parts, problems


def gm_note_for(name: str) -> int | None:
    """The General MIDI drum note an instrument name stands for, or None when no rule knows it."""
    words = set(re.findall(r"[a-z]+|\d+", name.lower()))
    joined = " ".join(sorted(words))
    for needed, note in GM_NAME_RULES:
        # Whole words, or a part of a longer word for names like "HiHat" or "OpenHat".
        if all(w in words or (len(w) > 2 and w in joined) for w in needed):
            return note
    return None


def read_hydrogen(path: str | os.PathLike[str]) -> DrumPart:
    """The hits of a Hydrogen ``.h2song`` (see the module docstring)."""
    import xml.etree.ElementTree as ET

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserError(f"{path}: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if root.tag != "song":
        raise UserError(f"{path}: not a Hydrogen song (the root element is <{root.tag}>, expected <song>)")
    bpm = _number(root.findtext("bpm"), path, "bpm")
    if not bpm > 0:
        raise UserError(f"{path}: <bpm> must be positive (got {bpm:g})")
    notes_by_id: dict[str, int | None] = {}
    for inst in root.iterfind("instrumentList/instrument"):
        notes_by_id[(inst.findtext("id") or "").strip()] = gm_note_for(inst.findtext("name") or "")
    patterns: dict[str, tuple[int, list[Any]]] = {}
    for pattern in root.iterfind("patternList/pattern"):
        name = (pattern.findtext("name") or "").strip()
        size = int(_number(pattern.findtext("size"), path, f"size of pattern '{name}'"))
        if size <= 0:
            raise UserError(f"{path}: pattern '{name}' has size {size}")
        patterns[name] = (size, list(pattern.iterfind("noteList/note")))
    hits: list[DrumHit] = []
    unmapped = 0
    start = 0
    sizes: set[int] = set()
    for group in root.iterfind("patternSequence/group"):
        names = [(pid.text or "").strip() for pid in group.iterfind("patternID")]
        missing = [n for n in names if n not in patterns]
        if missing:
            raise UserError(f"{path}: the pattern sequence names a pattern that does not exist ('{missing[0]}')")
        length = max((patterns[n][0] for n in names), default=4 * HYDROGEN_TICKS_PER_BEAT)
        sizes.update(patterns[n][0] for n in names)
        for n in names:
            for note in patterns[n][1]:
                if (note.findtext("note_off") or "false").strip().lower() == "true":
                    continue  # a stop-note ends a sound; it is not a hit
                gm = notes_by_id.get((note.findtext("instrument") or "").strip())
                if gm is None:
                    unmapped += 1
                    continue
                position = _number(note.findtext("position"), path, "note position")
                leadlag = _number(note.findtext("leadlag") or "0", path, "note leadlag")
                velocity = _number(note.findtext("velocity") or "0.8", path, "note velocity")
                tick = start + position + max(-1.0, min(1.0, leadlag)) * HYDROGEN_LEADLAG_TICKS
                hits.append(DrumHit(max(tick, 0.0) / HYDROGEN_TICKS_PER_BEAT, gm, max(0.0, min(1.0, velocity))))
        start += length
    beats_per_bar = sizes.pop() / HYDROGEN_TICKS_PER_BEAT if len(sizes) == 1 else None
    hits.sort(key=lambda h: (h.beat, h.note))
    return DrumPart(source=str(path), bpm=bpm, beats_per_bar=beats_per_bar, hits=tuple(hits), unmapped_hits=unmapped)


def _number(text: str | None, path: Path, what: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise UserError(f"{path}: {what} is not a number ({(text or '').strip()[:40]!r})") from None
    if not math.isfinite(value):
        raise UserError(f"{path}: {what} is not finite")
    return value
