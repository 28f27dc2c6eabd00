"""The ``songs`` dataset: General MIDI songs written by people (several instruments and a drum part) from system
packages, rendered with a soundfont, bar lines from each file's time signatures and tempo map.

1. **Files** (:func:`find_songs`): the MIDI files and Doom WADs under ``--songs-dirs`` (by default Debian's
   ``openttd-openmsx`` music set and ``freedoom``'s two WADs), found by :func:`mlrun_music.drum_parts.drum_files`;
   every MIDI music lump of a WAD is a song (:func:`mlrun_music.drum_parts.wad_music`). A song's id is
   ``<source>/<name>``: the source is the WAD's name for a lump, else the name of the ``--songs-dirs`` folder it
   was found under. MUS lumps and Hydrogen songs (a drum part with no other instrument to render) are not read and
   are counted. A file whose bytes repeat an earlier song's is counted as a duplicate, not used twice.
2. **Split by song** (:func:`split_of`): a song's split follows the first 8 hex digits of the SHA-256 of its id,
   read as a fraction ``u`` of 2**32: ``test`` when u < 0.5, ``val`` when u < 0.75, else ``train``. It depends on
   the id alone, so adding files never moves a song to another split.
3. **Bars**: the file's time signatures and tempo map (:func:`~.midi_analysis.read_song`); a file with no time
   signature at its start is read in 4/4, the MIDI default, and its meter is reported as ``4/4 (MIDI default)``
   so the figures keep it apart. Bars start at the first bar line at or after the first drum note.
4. **Checks**, each a counted skip: a file the core's :func:`mlrun_music.midi.read_midi` refuses, fewer than 20
   drum notes, drums off the file's beat grid (less than :data:`MIN_ON_GRID` of the drum notes within 1/40 beat
   of a 16th or a triplet eighth: the file's beats are not the music's, as in MIDI converted from Doom's MUS
   format, which has no beats), fewer than 3 bars, a median bar outside :data:`.scores.BAR_SECONDS`, a renderer failure.
5. **Audio**: the whole file rendered with ``soundfont`` (default FluidR3Mono_GM through fluidsynth, which no
   training song of the shipped model used), 16 kHz mono, loudness-normalised, cut to the bars that end by
   ``max_seconds``; the rendered-song layout of ``phase render`` (``bars.csv``, ``<soundfont>.ogg``,
   ``render.json``), so ``phase chop`` and ``mlrun evaluate phase --data`` read it too.

Each song's folder is cached (a skip as ``skipped.json``), keyed by the settings that change its files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json, write_text

from ..config import SAMPLE_RATE, SONGS_SECONDS
from .scores import Skip, render_bars
from .songs import DONE_MARKER, normalise, write_audio

DEFAULT_DIRS = ("/usr/share/games/openttd/baseset/openmsx", "/usr/share/games/doom")
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf3/FluidR3Mono_GM.sf3")
SPLITS = ("test", "val", "train")
#: Share of drum notes that must lie on the file's 16th or triplet-eighth grid (chance level is about 0.3).
MIN_ON_GRID = 0.5
#: Distance to the grid (in beats) that counts as on it.
GRID_TOLERANCE_BEATS = 1 / 40
DEFAULT_METER_LABEL = "4/4 (MIDI default)"
VERSION = 1


def split_of(song_id: str) -> str:
    """The fixed split of a song id (see the module docstring)."""
    u = int(hashlib.sha256(song_id.encode("utf-8")).hexdigest()[:8], 16) / 2 ** 32
    return "test" if u < 0.5 else "val" if u < 0.75 else "train"


def song_dirs(value: str) -> list[Path]:
    """``--songs-dirs`` (folders separated by ``os.pathsep``), else :data:`DEFAULT_DIRS`."""
    return [Path(p) for p in (value.split(os.pathsep) if value.strip() else DEFAULT_DIRS) if p.strip()]


def find_songs(dirs: list[Path]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Every song under ``dirs`` as ``{"id", "source", "name", "data" (MIDI bytes)}`` in id order, and the files
    or lumps not read, by reason."""
    from mlrun_music.drum_parts import HYDROGEN_SUFFIXES, WAD_SUFFIXES, drum_files, wad_music

    songs: dict[str, dict[str, Any]] = {}
    not_read: dict[str, list[str]] = {}
    for folder in dirs:
        for path in drum_files([folder]):
            suffix = path.suffix.lower()
            if suffix in HYDROGEN_SUFFIXES:
                not_read.setdefault("Hydrogen song (drums only, nothing else to render)", []).append(str(path))
                continue
            if suffix in WAD_SUFFIXES:
                try:
                    lumps = wad_music(path)
                except UserError as exc:
                    not_read.setdefault("unreadable WAD", []).append(str(exc))
                    continue
                for name, data in lumps:
                    if data[:4] == b"MUS\x1a":
                        not_read.setdefault("MUS lump (only MIDI lumps are read)", []).append(f"{path}:{name}")
                        continue
                    songs.setdefault(f"{path.stem}/{name}", {"source": path.stem, "name": name, "data": data})
                continue
            try:
                data = path.read_bytes()
            except OSError as exc:
                not_read.setdefault("unreadable file", []).append(f"{path}: {exc.strerror or exc}")
                continue
            source = folder.name if folder.is_dir() else folder.parent.name
            rel = path.relative_to(folder).with_suffix("").as_posix() if folder.is_dir() else path.stem
            songs.setdefault(f"{source}/{rel}", {"source": source, "name": rel, "data": data})
    out, seen = [], {}
    for song_id in sorted(songs):
        song = songs[song_id]
        digest = hashlib.sha256(song["data"]).hexdigest()
        if digest in seen:
            not_read.setdefault("duplicate of an earlier song", []).append(f"{song_id} = {seen[digest]}")
            continue
        seen[digest] = song_id
        out.append({"id": song_id, **song})
    return out, not_read


def on_grid_share(song: Any) -> float:
    """Share of the song's drum notes within :data:`GRID_TOLERANCE_BEATS` of its 16th or triplet-eighth grid."""
    beats = np.array([e.tick for e in song.drums], dtype=np.float64) / song.tempo_map.ticks_per_beat
    off16 = np.abs(beats * 4 - np.round(beats * 4)) / 4
    off3 = np.abs(beats * 3 - np.round(beats * 3)) / 3
    return float(np.mean(np.minimum(off16, off3) <= GRID_TOLERANCE_BEATS)) if len(beats) else 0.0


def build_song(song: dict[str, Any], out_dir: Path, *, soundfont: Path, renderer: str,
               max_seconds: float) -> dict[str, Any]:
    """One song into ``out_dir`` (cached); returns its render.json or ``{"skipped": reason, ...}``."""
    from mlrun_music.midi import read_midi

    from .midi_analysis import SkipSong, read_song

    done, skipped = out_dir / DONE_MARKER, out_dir / "skipped.json"
    for marker in (done, skipped):
        if marker.is_file():
            return json.loads(marker.read_text(encoding="utf-8"))
    out_dir.mkdir(parents=True, exist_ok=True)
    midi_path = out_dir / "song.mid"
    with atomic_path(midi_path, suffix=".mid") as tmp:
        Path(tmp).write_bytes(song["data"])
    try:
        try:
            read_midi(midi_path)
        except UserError as exc:
            raise Skip("unreadable MIDI", str(exc).split(": ", 1)[-1][:150]) from None
        try:
            parsed = read_song(midi_path, default_meter=True)
            bars = np.array(parsed.bar_seconds(), dtype=np.float64)
        except SkipSong as exc:
            raise Skip(exc.reason, exc.detail) from None
        share = on_grid_share(parsed)
        if share < MIN_ON_GRID:
            raise Skip("drums off the file's beat grid", f"{share:.2f} of the drum notes on the grid")
        bars = bars[bars <= max_seconds]
        if len(bars) < 3:
            raise Skip("too few bars", f"{max(len(bars) - 1, 0)} bars")
        audio = render_bars(midi_path, bars, soundfont, renderer, end_seconds=bars[-1] + 0.5)
    except Skip as skip:
        result = {"skipped": skip.reason, "detail": skip.detail, "id": song["id"]}
        write_json(skipped, result)
        return result
    audio = normalise(audio)
    name = f"{soundfont.stem}.ogg"
    write_audio(out_dir / name, audio)
    write_text(out_dir / "bars.csv", "".join(f"{b:.6f}\n" for b in bars))
    meters = parsed.meters if parsed.meter_stated else [DEFAULT_METER_LABEL]
    result = {"audio": name, "source": song["source"], "id": song["id"], "split": split_of(song["id"]),
              "soundfont": str(soundfont), "renderer": renderer, "sample_rate": SAMPLE_RATE,
              "seconds": len(audio) / SAMPLE_RATE, "bars": len(bars) - 1, "meters": meters,
              "meter_stated": parsed.meter_stated, "drum_events": len(parsed.drums), "on_grid_share": share}
    write_json(done, result)
    return result


def build_songs(*, dirs: str = "", split: str = "test", max_seconds: float = 120.0, soundfont: str = "",
                cache: str = "", log: Any = None) -> Path:
    """Build (or reuse) one split of the set; returns the folder of its songs (``<source>/<name>/``), which holds
    ``songs_report.json``."""
    from mlrun_music.audio.render import check_soundfont, renderer_for
    from mlrun_music.cache import cache_dir

    if split not in SPLITS:
        raise UserError(f"--songs-split must be one of {', '.join(SPLITS)}, got '{split}'")
    if not SONGS_SECONDS[0] <= max_seconds <= SONGS_SECONDS[1]:
        raise UserError(f"--songs-max-seconds must be {SONGS_SECONDS[0]:g} to {SONGS_SECONDS[1]:g}, "
                        f"got {max_seconds:g}")
    folders = song_dirs(dirs)
    missing = [str(f) for f in folders if not f.exists()]
    if missing:
        hint = " (install openttd-openmsx and freedoom)" if not dirs.strip() else ""
        raise UserError(f"--songs-dirs: {', '.join(missing)} does not exist{hint}")
    sf_path = Path(soundfont) if soundfont else DEFAULT_SOUNDFONT
    check_soundfont(sf_path)
    renderer = renderer_for(sf_path, "auto")
    songs, not_read = find_songs(folders)
    key = hashlib.sha256(f"v{VERSION}:{max_seconds}:{sf_path.name}".encode()).hexdigest()[:12]
    root = cache_dir("phase", cache) / "songs" / key
    set_dir = root / "sets" / hashlib.sha256(
        f"{os.pathsep.join(str(f.resolve()) for f in folders)}:{split}".encode()).hexdigest()[:12]
    report: dict[str, Any] = {"dirs": [str(f) for f in folders], "split": split, "soundfont": str(sf_path),
                              "renderer": renderer, "max_seconds": max_seconds, "sources": {}, "skipped": {},
                              "not_read": not_read, "not_read_count": {k: len(v) for k, v in not_read.items()},
                              "meter_by_midi_default": 0}
    for song in songs:
        stats = report["sources"].setdefault(song["source"], {"songs": 0, "in_split": 0, "used": 0})
        stats["songs"] += 1
        if split_of(song["id"]) != split:
            continue
        stats["in_split"] += 1
        digest = hashlib.sha256(song["data"]).hexdigest()[:16]
        folder = root / "songs" / digest
        result = build_song(song, folder, soundfont=sf_path, renderer=renderer, max_seconds=max_seconds)
        if "skipped" in result:
            report["skipped"].setdefault(result["skipped"], []).append(f"{song['id']}: {result['detail']}")
            continue
        stats["used"] += 1
        report["meter_by_midi_default"] += not result["meter_stated"]
        link = set_dir / song["source"] / song["name"].replace("/", "_")
        link.mkdir(parents=True, exist_ok=True)
        for name in ("bars.csv", result["audio"], DONE_MARKER):
            target = link / name
            if not target.exists():
                target.symlink_to(folder / name)
    report["songs"] = sum(v["used"] for v in report["sources"].values())
    report["skipped_count"] = {k: len(v) for k, v in sorted(report["skipped"].items())}
    set_dir.mkdir(parents=True, exist_ok=True)
    write_json(set_dir / "songs_report.json", report)
    if log is not None:
        log.info("songs: %s split: %d songs used, skipped %s, not read %s", split, report["songs"],
                 report["skipped_count"] or "none", report["not_read_count"] or "none")
    if not report["songs"]:
        raise UserError(f"--dataset songs: no song of the {split} split could be used under "
                        f"{', '.join(report['dirs'])} (skipped: {report['skipped_count'] or 'none'}; not read: "
                        f"{report['not_read_count'] or 'none'})")
    return set_dir
