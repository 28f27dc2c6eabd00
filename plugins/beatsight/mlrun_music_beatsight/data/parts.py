"""Human-written drum parts as transcription songs: the drum tracks of General MIDI songs, Doom WAD music and
Hydrogen demo songs (read by :mod:`mlrun_music.drum_parts`), played by any kit, with the song's own other tracks
as accompaniment.

- Songs come from ``--part-dirs`` (default :data:`DEFAULT_DIRS`, the Debian packages openttd-openmsx,
  hydrogen-data and freedoom). Each song is in exactly one split, fixed by a hash of its name (the file name, or
  ``<wad file>:<lump>``): :func:`split_of` (test 2 in 10, validation 1 in 10, training the rest).
- Skipped and counted: unreadable files or lumps, songs with fewer than :data:`MIN_HITS` hits of the 12 classes,
  and a song whose hits repeat an earlier song's exactly (the same tune in two WADs).
- Times: a part's beats become seconds at the file's mean tempo (:attr:`mlrun_music.drum_parts.DrumPart.bpm`), and
  the accompaniment's notes the same way, so drums and band stay together and the song's tempo is known exactly.
  Drum notes outside the 12 classes (tambourine, cowbell, congas...) are not played.
- Accompaniment: the MIDI song's notes on the other channels with their programs; a Hydrogen song has none, so it
  gets :func:`..kits.synth.accompaniment` (seeded by the song's name) in its metre.
- ``on_grid``: the share of hits within a tenth of a sixteenth of the file's grid. Below :data:`MIN_ON_GRID` the
  file's beat is not the music's (MIDI converted from MUS at 89 ticks a beat), so its tempo is not the heard one:
  tempo checks leave those songs out.
"""

from __future__ import annotations

import io
import os
import zlib
from pathlib import Path
from typing import Any, Sequence

import attrs
import numpy as np

from ..kits import synth
from ..kits.classes import NOTE_TO_COMPONENT

#: Where Debian's openttd-openmsx, hydrogen-data and freedoom put their songs.
DEFAULT_DIRS = ("/usr/share/games/openttd/baseset/openmsx", "/usr/share/hydrogen/data/demo_songs",
                "/usr/share/games/doom")
#: A song needs this many hits of the 12 classes.
MIN_HITS = 32
#: Share of hits on the file's sixteenth grid below which the file's tempo is not the music's.
MIN_ON_GRID = 0.5
SPLITS = ("train", "val", "test")
#: File name of the parsed songs' cache in the render cache folder.
PARTS_CACHE = "drum-parts-v1.json"


def split_of(name: str) -> str:
    """``test``, ``val`` or ``train`` for a song name, fixed by its CRC-32 (2, 1 and 7 in 10)."""
    h = zlib.crc32(name.encode()) % 10
    return "test" if h < 2 else "val" if h == 2 else "train"


@attrs.frozen
class PartSong:
    """A human-written song: drum ``hits`` (GM notes of the 12 classes, seconds), the accompaniment's ``band``
    notes ``(start s, end s, pitch, velocity, channel, program)`` (empty for a Hydrogen song), tempo (quarter notes
    per minute), beats per bar (None when the meter changes), length and share of hits on the sixteenth grid."""

    name: str
    bpm: float
    beats_per_bar: float | None
    hits: tuple[synth.Hit, ...]
    band: tuple[tuple[float, float, int, int, int, int], ...]
    seconds: float
    on_grid: float

    @property
    def tempo_known(self) -> bool:
        """Whether the file's tempo is the heard one (see the module docstring)."""
        return self.on_grid >= MIN_ON_GRID


def part_dirs(text: str) -> list[Path]:
    """``--part-dirs`` (separated by ``os.pathsep``), else :data:`DEFAULT_DIRS`."""
    return [Path(p) for p in text.split(os.pathsep) if p] if text else [Path(p) for p in DEFAULT_DIRS]


def _midi_band(mid: Any, seconds_per_beat: float) -> list[tuple[float, float, int, int, int, int]]:
    """The notes of every channel but the drums' of a mido file, timed at a constant ``seconds_per_beat``."""
    import mido

    from mlrun_music.drum_parts import DRUM_CHANNEL

    tick, programs = 0, [0] * 16
    open_notes: dict[tuple[int, int], tuple[float, int, int]] = {}
    notes = []
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        beat = tick / mid.ticks_per_beat
        if msg.type == "program_change":
            programs[msg.channel] = msg.program
        elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
            key = (msg.channel, msg.note)
            if key in open_notes:
                start, vel, prog = open_notes.pop(key)
                notes.append((start * seconds_per_beat, max(beat, start + 0.05) * seconds_per_beat, msg.note, vel,
                              msg.channel, prog))
            if msg.type == "note_on" and msg.velocity > 0:
                open_notes[key] = (beat, msg.velocity, programs[msg.channel])
    return sorted(notes)


def _band_of(source: str, seconds_per_beat: float) -> list[tuple[float, float, int, int, int, int]]:
    """The accompaniment of a MIDI file or a WAD's MIDI lump (``<path>:<lump>``); none for a Hydrogen song."""
    import mido

    from mlrun_music.drum_parts import HYDROGEN_SUFFIXES, wad_music

    path, _, lump = source.rpartition(":") if ".wad:" in source.lower() else (source, "", "")
    if Path(path).suffix.lower() in HYDROGEN_SUFFIXES:
        return []
    if lump:
        data = dict(wad_music(path))[lump]
        mid = mido.MidiFile(file=io.BytesIO(data))
    else:
        mid = mido.MidiFile(path)
    return _midi_band(mid, seconds_per_beat)


def song_name(source: str) -> str:
    """A song's name in splits and reports: the file name, or ``<wad file name>:<lump>``."""
    return Path(source).name


def _read_file(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The songs of one file as JSON-ready dicts, and why parts of it were skipped."""
    from mlrun_music.drum_parts import read_drum_parts
    from mlrun_music.errors import UserError

    try:
        parts, problems = read_drum_parts(path)
    except UserError:
        return [], ["unreadable files"]
    skipped = ["unreadable WAD lumps"] * len(problems)
    out = []
    for part in parts:
        beat_s = 60.0 / part.bpm
        hits = [[h.beat * beat_s, h.note, int(np.clip(round(h.velocity * 127), 1, 127))]
                for h in part.hits if h.note in NOTE_TO_COMPONENT]
        if len(hits) < MIN_HITS:
            skipped.append(f"fewer than {MIN_HITS} hits of the 12 classes")
            continue
        beats = np.array([h.beat for h in part.hits])
        try:
            band = _band_of(part.source, beat_s)
        except (OSError, ValueError, EOFError, KeyError):
            band = []  # a file whose drums read but whose other tracks do not: no accompaniment of its own
        out.append({"name": song_name(part.source), "bpm": float(part.bpm), "beats_per_bar": part.beats_per_bar,
                    "hits": hits, "band": [list(n) for n in band],
                    "seconds": max([h[0] for h in hits] + [n[1] for n in band]),
                    "on_grid": float(np.mean(np.abs(beats * 4 - np.round(beats * 4)) < 0.1)),
                    "fingerprint": zlib.crc32(repr([(h.beat, h.note) for h in part.hits]).encode())})
    return out, skipped


def read_songs(dirs: Sequence[Path], splits: Sequence[str] = SPLITS, cache: Path | None = None
               ) -> tuple[list[PartSong], dict[str, int]]:
    """The songs of ``splits`` under ``dirs``, sorted by name, and the counts of what was skipped. ``cache``: a JSON
    file keeping each file's songs by path, size and modification time (reading the WADs takes a minute)."""
    import json

    from mlrun_music.drum_parts import drum_files
    from mlrun_music.fileio import write_json

    try:
        known = json.loads(cache.read_text(encoding="utf-8")) if cache is not None else {}
    except (OSError, ValueError):
        known = {}
    entries = {}
    for path in drum_files(dirs):
        stat = path.stat()
        key = str(path.resolve())
        entry = known.get(key)
        if not entry or entry.get("size") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
            songs, why = _read_file(path)
            entry = {"songs": songs, "skipped": why, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        entries[key] = entry
    if cache is not None and entries != {k: known.get(k) for k in entries}:
        try:
            write_json(cache, {**known, **entries})
        except OSError:
            pass  # an unwritable cache only costs the next run the reading time
    skipped: dict[str, int] = {}
    seen: set[int] = set()
    out = []
    for entry in entries.values():
        for why in entry["skipped"]:
            skipped[why] = skipped.get(why, 0) + 1
        for d in entry["songs"]:
            # A repeat is dropped whatever its split (a tune in two WADs under two names must not be in two splits).
            if d["fingerprint"] in seen:
                skipped["repeats of an earlier song"] = skipped.get("repeats of an earlier song", 0) + 1
                continue
            seen.add(d["fingerprint"])
            if split_of(d["name"]) not in splits:
                continue
            out.append(PartSong(d["name"], d["bpm"], d["beats_per_bar"],
                                tuple(synth.Hit(float(t), int(n), int(v)) for t, n, v in d["hits"]),
                                tuple((float(a), float(b), int(p), int(v), int(c), int(g))
                                      for a, b, p, v, c, g in d["band"]), d["seconds"], d["on_grid"]))
    return sorted(out, key=lambda s: s.name), skipped


@attrs.frozen
class Excerpt:
    """``seconds`` of a song from ``start``: its hits and band notes, times from the excerpt's start."""

    song: PartSong
    start: float
    seconds: float
    hits: tuple[synth.Hit, ...]
    band: tuple[tuple[float, float, int, int, int, int], ...]


def excerpts(song: PartSong, seconds: float, min_hits: int = 8) -> list[Excerpt]:
    """The song cut into consecutive ``seconds``-long excerpts from the bar of its first hit (whole bars when the
    meter is known), each with at least ``min_hits`` hits."""
    bar = 60.0 / song.bpm * (song.beats_per_bar or 4.0)
    start = np.floor(song.hits[0].time / bar) * bar
    out = []
    while start < song.hits[-1].time:
        end = start + seconds
        hits = tuple(attrs.evolve(h, time=h.time - start) for h in song.hits if start <= h.time < end)
        band = tuple((max(0.0, a - start), min(b, end + 0.5) - start, p, v, c, g) for a, b, p, v, c, g in song.band
                     if a < end and b > start and a >= start - 0.05)
        if len(hits) >= min_hits:
            out.append(Excerpt(song, float(start), seconds, hits, band))
        start = end
    return out


def band_notes(excerpt: Excerpt) -> list[tuple]:
    """The excerpt's own accompaniment, or for a song without one a generated accompaniment in its metre (seeded
    by its name and start)."""
    if excerpt.band:
        return list(excerpt.band)
    rng = np.random.default_rng([zlib.crc32(excerpt.song.name.encode()), int(excerpt.start * 1000)])
    pulses = int(round(excerpt.song.beats_per_bar or 4.0))
    return synth.accompaniment(rng, excerpt.song.bpm, excerpt.seconds, max(1, pulses), 1.0)


def render_excerpt(excerpt: Excerpt, kit: str | None, renderer: str, band: tuple[str, str],
                   rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray, list[synth.Hit]]:
    """(drums, accompaniment, hits as played): the excerpt's drums on ``kit`` (made playable there; None = a new
    procedural kit from ``rng``), its accompaniment on ``band`` (soundfont, renderer), both at 44.1 kHz."""
    from ..kits.soundfonts import drum_kit

    if kit is None:
        from .grooves import synthetic_drums

        hits = list(excerpt.hits)
        drums = synthetic_drums(hits, rng if rng is not None else np.random.default_rng(0))
    else:
        hits = synth.for_kit(excerpt.hits, drum_kit(kit))
        drums = synth.render(hits, kit, renderer, excerpt.song.bpm)
    other = synth.render([], band[0], band[1], excerpt.song.bpm, band_notes(excerpt))
    n = int((excerpt.seconds + 1.0) * synth.SAMPLE_RATE)  # the excerpt and a second of ringing out
    return drums[:n].astype(np.float64), other[:n].astype(np.float64), hits


#: Accompaniment level of the training excerpts: uniform in this range (dB relative to the drums' RMS); one excerpt
#: in ten has none.
TRAIN_MIX_DB = (-12.0, 10.0)


def training_song(job: tuple[Excerpt, str | None, str, tuple[str, str], tuple[int, ...], bool]) -> Any:
    """One training :class:`.grooves.Song` from an excerpt: its drums on the kit (None: a procedural kit), made
    another kit by :func:`.augment.augment` when asked, its accompaniment on the band at a level drawn from
    :data:`TRAIN_MIX_DB`."""
    from ..kits.classes import COMPONENTS
    from ..kits.soundfonts import kit_name
    from ..transcribe.frames import log_mel_frames
    from .augment import augment
    from .grooves import Song, mix

    excerpt, kit, renderer, band, seed, augmented = job
    rng = np.random.default_rng(list(seed))
    drums, other, hits = render_excerpt(excerpt, kit, renderer, band, rng)
    source = kit_name(kit) if kit else "synthetic"
    if augmented:
        drums, hits, _ = augment(drums, hits, rng)
        source += "+augmented"
    level = float(rng.uniform(*TRAIN_MIX_DB)) if rng.random() > 0.1 else -120.0
    audio = mix(drums, other, level)
    labels = np.array([[h.time, COMPONENTS.index(h.component)] for h in hits], np.float32).reshape(-1, 2)
    peak = float(np.max(np.abs(audio)))
    return Song(log_mel_frames(audio / peak if peak > 0 else audio).astype(np.float16), labels,
                f"parts:{source}")
