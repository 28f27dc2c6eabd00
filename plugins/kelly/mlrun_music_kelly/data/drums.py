"""The drum-parts dataset: human-written drum parts -> GroovePredictor, with a PROXY emotion input.

Source: General MIDI songs (channel 10), Hydrogen songs and the MIDI music of Doom WAD files, read by
:mod:`mlrun_music.drum_parts`, from ``--drum-parts-dirs`` (default: the folders of the Debian packages
openttd-openmsx, hydrogen-data and freedoom, when installed). The parts were written by people (composers of game
music, Hydrogen's demo songs); no listener rated their emotion.

Skipped and counted: files or lumps that cannot be read, songs without drum hits, songs not in 4/4 (a slot would
not name the same place in the bar), songs whose hits mostly miss the file's 16th-note grid (fewer than
``MIN_ON_GRID`` of them within a tenth of a 16th: the file's beat is not the music's, as in MIDI converted from
MUS at 89 ticks per beat), and a song whose hits repeat an earlier song's exactly (the same tune in two WADs).

Samples: each song is cut into windows of ``WINDOW_BARS`` bars from its first bar line. A window with at least
``MIN_HITS`` hits gives one sample:
- target (32, in [-1, 1]): per 16th-note slot of the bar, the mean timing offset of the hits from the grid (x2,
  so half a 16th early or late is -1 or +1) and the mean velocity (0-1 mapped to -1..1; -1 for a slot without
  hits), both over the window's bars; the Groove MIDI definition (:func:`.midi.groove_slots`);
- input: the emotion embedding of a PROXY (valence, arousal). Arousal = a quarter of a tempo term,
  log2(bpm / 120) / log2(1.7), plus three quarters of a density term, log2(distinct onsets per beat / 2) / 1.3,
  each clipped to [-1, 1]; the density is the window's own, so part of what a model learns here is this definition
  (busier bars read as more excited). Valence is 0: nothing in a drum part says major or minor, and the mode of
  the songs' pitched parts, tried as a valence, made held-out validation songs worse (it tells songs apart rather
  than moods; docs/experiments/kelly.md).

Songs are split train / validation / test by a hash of the song's name (the file name, ``<wad>:<lump>`` for a
WAD's), so no song is in two splits. Parsed parts are cached in ``cache_dir("kelly")/drum-parts-v2/parts.json``,
keyed by path, size and modification time.
"""

from __future__ import annotations

import logging
import os
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json

from .common import Pairs, SkipReport, emotion_embedding
from .midi import groove_slots

VERSION = "drum-parts-v2"
#: Where Debian's openttd-openmsx, hydrogen-data and freedoom packages put their songs.
DEFAULT_FOLDERS = ("/usr/share/games/openttd/baseset/openmsx", "/usr/share/hydrogen/data/demo_songs",
                   "/usr/share/games/doom")
WINDOW_BARS = 2
MIN_HITS = 4
BEATS_PER_BAR = 4.0
#: Share of a song's hits that must lie within a tenth of a 16th of the file's grid.
MIN_ON_GRID = 0.5
#: Share of the tempo term in the arousal proxy (chosen on validation songs: docs/experiments/kelly.md).
TEMPO_WEIGHT = 0.25


def folders(config: Any) -> list[Path]:
    """``--drum-parts-dirs`` (separated by ``os.pathsep``), else :data:`DEFAULT_FOLDERS`."""
    text = getattr(config, "drum_parts_dirs", "")
    return [Path(p) for p in text.split(os.pathsep) if p] if text else [Path(p) for p in DEFAULT_FOLDERS]


def available(config: Any) -> bool:
    """Whether any drum-part file is found in the folders."""
    from mlrun_music.drum_parts import drum_files

    return bool(drum_files(folders(config)))


def split_of(song: str) -> str:
    """``train``, ``val`` or ``test`` for a song, fixed by a hash of its file name."""
    h = zlib.crc32(song.encode()) % 10
    return "test" if h < 2 else "val" if h == 2 else "train"


def proxy_arousal(bpm: float, onsets_per_beat: float) -> float:
    """Arousal in [-1, 1] from tempo and onset density (see the module docstring)."""
    tempo_term = np.clip(np.log2(bpm / 120.0) / np.log2(1.7), -1, 1)
    density_term = np.clip(np.log2(max(onsets_per_beat, 1e-3) / 2.0) / 1.3, -1, 1)
    return float(np.clip(TEMPO_WEIGHT * tempo_term + (1 - TEMPO_WEIGHT) * density_term, -1, 1))


def read_parts(config: Any, log: logging.Logger | None = None) -> tuple[list[Any], SkipReport]:
    """Every usable drum part in the folders (cached); what is skipped is counted (see the module docstring)."""
    import json

    from mlrun_music.cache import cache_dir
    from mlrun_music.drum_parts import DrumPart, drum_files, read_drum_parts

    report = SkipReport()
    files = drum_files(folders(config))
    if config.max_files:
        files = files[:config.max_files]
    cache_path = cache_dir("kelly") / VERSION / "parts.json"
    try:
        cached = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = {}
    entries: dict[str, Any] = {}
    for path in files:
        stat = path.stat()
        key = str(path.resolve())
        entry = cached.get(key)
        if not entry or entry.get("size") != stat.st_size or entry.get("mtime_ns") != stat.st_mtime_ns:
            try:
                parts, problems = read_drum_parts(path)
                entry = {"parts": [p.to_dict() for p in parts], "errors": problems}
            except UserError as exc:
                entry = {"parts": [], "errors": [str(exc)]}
            entry |= {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        entries[key] = entry
    if entries != {k: cached.get(k) for k in entries}:
        write_json(cache_path, {**cached, **entries})
    parts, seen = [], set()
    for entry in entries.values():
        for error in entry["errors"]:
            report.skip("unreadable files or lumps", error[:160])
        for data in entry["parts"]:
            part = DrumPart.from_dict(data)
            name = song_name(part)
            if not part.hits:
                report.skip("songs without drum hits", name)
            elif part.beats_per_bar != BEATS_PER_BAR:
                meter = "changing" if part.beats_per_bar is None else f"{part.beats_per_bar:g} beats"
                report.skip("songs not in 4/4", f"{name} ({meter})")
            elif on_grid_share(part) < MIN_ON_GRID:
                report.skip("songs off the file's 16th grid", f"{name} ({on_grid_share(part):.0%} on it)")
            elif (signature := (round(part.bpm, 3), part.hits)) in seen:
                report.skip("songs repeating an earlier song", name)
            else:
                seen.add(signature)
                parts.append(part)
    if log is not None:
        log.info("GroovePredictor: %d drum parts in 4/4 from %d files (%s)", len(parts), len(files),
                 report.summary())
    return parts, report


def on_grid_share(part: Any) -> float:
    """The share of the part's hits within a tenth of a 16th note of the 16th-note grid."""
    positions = np.array([h.beat for h in part.hits]) * 4
    return float(np.mean(np.abs(positions - np.round(positions)) <= 0.1))


def song_name(part: Any) -> str:
    """The file name of a part's source (``<wad>:<lump>`` for a WAD's)."""
    return Path(part.source).name


def samples(part: Any) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) of one song's windows (see the module docstring)."""
    window = WINDOW_BARS * BEATS_PER_BAR
    beats = np.array([h.beat for h in part.hits])
    vel = np.array([h.velocity for h in part.hits])
    xs, ys = [], []
    # A hit up to half a 16th before a window's first bar line belongs to that window's first slot.
    shifted = beats + 0.125
    for k in range(int(shifted.max() // window) + 1):
        inside = (shifted >= k * window) & (shifted < (k + 1) * window)
        if inside.sum() < MIN_HITS:
            continue
        positions = (beats[inside] - k * window) * 4  # in 16ths from the window's start
        onsets = len(np.unique(np.round(beats[inside], 4)))
        xs.append(emotion_embedding(0.0, proxy_arousal(part.bpm, onsets / window)))
        ys.append(groove_slots(positions, vel[inside]))
    if not xs:
        return np.zeros((0, 64), np.float32), np.zeros((0, 32), np.float32)
    return np.stack(xs), np.stack(ys)


def splits(config: Any, log: logging.Logger | None = None) -> tuple[Pairs, Pairs | None, Pairs | None,
                                                                      dict[str, Any]]:
    """Train, validation and test pairs split by song, with a report of songs used and skipped."""
    parts, report = read_parts(config, log)
    where = os.pathsep.join(str(f) for f in folders(config))
    if not parts:
        raise UserError(f"no usable drum parts in {where} ({report.summary()}); install openttd-openmsx, "
                        f"hydrogen-data or freedoom, or name folders of .mid/.h2song files with --drum-parts-dirs")
    by_split: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "val": [], "test": []}
    songs: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for part in parts:
        x, y = samples(part)
        if not len(x):
            report.skip("songs without a window of 4 hits", song_name(part))
            continue
        split = split_of(song_name(part))
        by_split[split].append((x, y))
        songs[split].append(song_name(part))

    def pairs(split: str) -> Pairs | None:
        chunks = by_split[split]
        if not chunks:
            return None
        return Pairs(np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks]))

    train, val, test = pairs("train"), pairs("val"), pairs("test")
    if train is None:
        raise UserError(f"the drum parts in {where} give no training song ({len(parts)} usable songs all fell "
                        f"into the validation and test splits); add more songs with --drum-parts-dirs")
    out = {"location": where, "songs_used": sum(len(s) for s in songs.values()),
           **{f"{s}_songs": len(songs[s]) for s in songs}, **{f"{s}_song_names": songs[s] for s in songs},
           "train_samples": len(train), "val_samples": len(val) if val else 0,
           "test_samples": len(test) if test else 0, **report.as_dict()}
    return train, val, test, out
