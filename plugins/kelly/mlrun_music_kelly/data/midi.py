"""Lakh MIDI, MAESTRO and Groove MIDI: notes read with mido, turned into each model's inputs and targets.

Choices where the original filled features with random numbers (documented in the README):
- Emotion inputs (Lakh, Groove) come from ``emotion_labels.json`` ({file: {valence, arousal}}) where it names the
  file; otherwise from a proxy computed from the notes: arousal from note density and loudness, valence from how
  much better the pitch classes fit a major key than a minor one (0 for drum-only files, which carry no mode).
- Files are cut into windows so one file gives several samples; corrupt or empty files are skipped and counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import attrs
import numpy as np

from mlrun_music.errors import UserError

from .common import Pairs, SkipReport, emotion_embedding

MIDI_EXTENSIONS = (".mid", ".midi")
# Krumhansl-Kessler key profiles.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@attrs.frozen
class Note:
    onset: float  # seconds
    duration: float
    pitch: int
    velocity: int
    drum: bool


@attrs.frozen
class Song:
    path: Path
    notes: list[Note]
    seconds_per_beat: float


def midi_files(root: Path, limit: int = 0) -> list[Path]:
    """``*.mid`` and ``*.midi`` under ``root`` (recursively), sorted."""
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in MIDI_EXTENSIONS and p.is_file())
    return files[:limit] if limit else files


def read_song(path: Path) -> Song:
    """Notes of a MIDI file in seconds (tempo changes applied); ValueError/OSError etc. for corrupt files."""
    import mido

    mid = mido.MidiFile(str(path))
    tempo = None
    t = 0.0
    active: dict[tuple[int, int], list[tuple[float, int]]] = {}
    notes: list[Note] = []
    for msg in mid:  # merged tracks, msg.time in seconds
        t += msg.time
        if msg.type == "set_tempo" and tempo is None:
            tempo = msg.tempo
        elif msg.type == "note_on" and msg.velocity > 0:
            active.setdefault((msg.channel, msg.note), []).append((t, msg.velocity))
        elif msg.type in ("note_off", "note_on"):
            started = active.get((msg.channel, msg.note))
            if started:
                onset, vel = started.pop(0)
                notes.append(Note(onset, max(t - onset, 0.0), msg.note, vel, msg.channel == 9))
    for (channel, pitch), starts in active.items():  # notes never released end with the file
        for onset, vel in starts:
            notes.append(Note(onset, max(t - onset, 0.0), pitch, vel, channel == 9))
    notes.sort(key=lambda n: (n.onset, n.pitch))
    return Song(path, notes, (tempo or 500000) / 1e6)


def read_songs(root: Path, limit: int, report: SkipReport, drums: bool | None = None) -> list[Song]:
    """Every readable song under ``root`` with notes; corrupt/empty files are skipped and counted."""
    songs = []
    for path in midi_files(root, limit):
        try:
            song = read_song(path)
        except Exception as exc:  # mido raises OSError, ValueError, EOFError, KeyError... on corrupt files
            report.skip("corrupt MIDI files", f"{path.name}: {type(exc).__name__}: {str(exc)[:80]}")
            continue
        notes = [n for n in song.notes if drums is None or n.drum == drums]
        if not notes:
            report.skip("MIDI files without usable notes", path.name)
            continue
        songs.append(Song(song.path, notes, song.seconds_per_beat))
    report.notes["files_used"] = len(songs)
    return songs


def load_emotion_labels(root: Path) -> dict[str, tuple[float, float]]:
    """``emotion_labels.json`` in ``root``: {file name, relative path or stem: (valence, arousal)}."""
    path = root / "emotion_labels.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected an object {{file: {{valence, arousal}}}}")
    labels = {}
    for key, value in data.items():
        try:
            v, a = float(value["valence"]), float(value["arousal"])
        except (TypeError, KeyError, ValueError):
            raise UserError(f"{path}: entry '{key}' needs numeric valence and arousal") from None
        if not (-1 <= v <= 1 and -1 <= a <= 1):
            raise UserError(f"{path}: entry '{key}' has valence/arousal outside [-1, 1]")
        labels[key] = (v, a)
    return labels


def label_for(song: Song, root: Path, labels: dict[str, tuple[float, float]]) -> tuple[float, float] | None:
    rel = song.path.relative_to(root).as_posix()
    for key in (rel, song.path.name, song.path.stem):
        if key in labels:
            return labels[key]
    return None


def emotion_proxy(notes: list[Note]) -> tuple[float, float]:
    """(valence, arousal) in [-1, 1] from the notes themselves (see the module docstring)."""
    span = max(max(n.onset + n.duration for n in notes) - notes[0].onset, 1e-3)
    density = len(notes) / span
    loudness = float(np.mean([n.velocity for n in notes])) / 127.0
    arousal = float(np.clip(0.5 * np.tanh((density - 4.0) / 4.0) + (loudness - 0.5), -1, 1))
    pitched = [n for n in notes if not n.drum]
    if not pitched:
        return 0.0, arousal
    return mode_valence(np.bincount([n.pitch % 12 for n in pitched], minlength=12).astype(float)), arousal


def mode_valence(chroma: np.ndarray) -> float:
    """Valence in [-1, 1] from a pitch-class count: how much better the best major key profile fits than the best
    minor one (x4); 0 when the count is flat (no mode)."""
    chroma = np.asarray(chroma, float)
    if chroma.std() == 0:
        return 0.0
    major = max(np.corrcoef(chroma, np.roll(_MAJOR, k))[0, 1] for k in range(12))
    minor = max(np.corrcoef(chroma, np.roll(_MINOR, k))[0, 1] for k in range(12))
    return float(np.clip(4.0 * (major - minor), -1, 1))


def windows(notes: list[Note], seconds: float) -> Iterable[list[Note]]:
    """Consecutive non-overlapping time windows of ``seconds`` that hold notes."""
    if not notes:
        return
    start = notes[0].onset
    current: list[Note] = []
    for n in notes:
        while n.onset >= start + seconds:
            if current:
                yield current
            current, start = [], start + seconds
        current.append(n)
    if current:
        yield current


def _emotion_for(song: Song, window: list[Note], root: Path, labels: dict, report: SkipReport) -> np.ndarray:
    label = label_for(song, root, labels)
    if label is not None:
        report.notes["emotion_from_labels"] = report.notes.get("emotion_from_labels", 0) + 1
        return emotion_embedding(*label)
    report.notes["emotion_from_proxy"] = report.notes.get("emotion_from_proxy", 0) + 1
    return emotion_embedding(*emotion_proxy(window))


# --------------------------------------------------------------------------------------------------------------
# Lakh MIDI -> MelodyTransformer: emotion (64) -> pitch histogram (128, scaled so the commonest pitch is 1)

LAKH_WINDOW_SECONDS = 16.0


def load_lakh(root: Path, config: Any) -> tuple[Pairs, dict[str, Any]]:
    report = SkipReport()
    labels = load_emotion_labels(root)
    songs = read_songs(root, config.max_files, report, drums=False)
    xs, ys = [], []
    for song in songs:
        for window in windows(song.notes, LAKH_WINDOW_SECONDS):
            hist = np.bincount([n.pitch for n in window], minlength=128).astype(np.float32)
            xs.append(_emotion_for(song, window, root, labels, report))
            ys.append(hist / hist.max())
    if not xs:
        raise UserError(f"{root}: no usable Lakh MIDI files ({report.summary()})")
    return Pairs(np.stack(xs), np.stack(ys)), {"samples": len(xs), **report.as_dict()}


# --------------------------------------------------------------------------------------------------------------
# MAESTRO -> DynamicsEngine: musical context of a window (32) -> its expression (16), all in [0, 1]

MAESTRO_WINDOW_NOTES = 64


def maestro_context(window: list[Note], previous: list[Note] | None) -> np.ndarray:
    """32 context values: pitch content, register, rhythm and the previous window's dynamics."""
    pitches = np.array([n.pitch for n in window], float)
    onsets = np.array([n.onset for n in window])
    ioi = np.diff(onsets) if len(onsets) > 1 else np.zeros(1)
    span = max(onsets[-1] - onsets[0], 1e-3)
    chroma = np.bincount(pitches.astype(int) % 12, minlength=12).astype(float)
    octaves = np.bincount(np.clip(pitches.astype(int) // 12 - 2, 0, 6), minlength=7).astype(float)
    overlap = np.mean([np.sum((onsets <= n.onset) & (onsets + [m.duration for m in window] > n.onset))
                       for n in window])
    ctx = [*(chroma / chroma.max()),
           pitches.mean() / 127, min(pitches.std() / 32, 1), pitches.min() / 127, pitches.max() / 127,
           min(len(window) / span / 20, 1), min(ioi.mean(), 1), min(ioi.std(), 1),
           min(np.mean([n.duration for n in window]) / 2, 1), min(overlap / 10, 1)]
    if previous:
        pv = np.array([n.velocity for n in previous], float) / 127
        ctx += [pv.mean(), pv.std(), pv.max(), 1.0]
    else:
        ctx += [0.0, 0.0, 0.0, 0.0]  # no previous window: zeros plus a flag of 0 say so explicitly
    ctx += list(octaves / octaves.sum())
    return np.asarray(ctx, np.float32)


def maestro_expression(window: list[Note]) -> np.ndarray:
    """16 expression values: velocity statistics and histogram, articulation, timing regularity, trend."""
    vel = np.array([n.velocity for n in window], float)
    onsets = np.array([n.onset for n in window])
    ioi = np.diff(onsets)
    ioi = ioi[ioi > 1e-3] if len(ioi) else ioi
    hist = np.histogram(vel, bins=8, range=(0, 128))[0] / len(vel)
    durations = np.array([n.duration for n in window])
    articulation = min(np.median(durations) / max(np.median(ioi), 1e-3) / 2, 1) if len(ioi) else 0.5
    regularity = min(ioi.std() / max(ioi.mean(), 1e-3) / 2, 1) if len(ioi) > 1 else 0.0
    slope = np.polyfit(np.arange(len(vel)), vel, 1)[0] if len(vel) > 1 else 0.0
    out = [vel.mean() / 127, min(vel.std() / 64, 1), vel.min() / 127, vel.max() / 127, *hist,
           articulation, regularity, min(durations.mean() / 2, 1), float(np.clip(0.5 + slope, 0, 1))]
    return np.asarray(out, np.float32)


def load_maestro(root: Path, config: Any) -> tuple[Pairs, dict[str, Any]]:
    report = SkipReport()
    songs = read_songs(root, config.max_files, report, drums=None)
    xs, ys = [], []
    for song in songs:
        chunks = [song.notes[i:i + MAESTRO_WINDOW_NOTES]
                  for i in range(0, len(song.notes) - MAESTRO_WINDOW_NOTES // 2 + 1, MAESTRO_WINDOW_NOTES)]
        for k, chunk in enumerate(chunks):
            if len(chunk) < 8:
                continue
            xs.append(maestro_context(chunk, chunks[k - 1] if k else None))
            ys.append(maestro_expression(chunk))
    if not xs:
        raise UserError(f"{root}: no usable MAESTRO MIDI files ({report.summary()})")
    return Pairs(np.stack(xs), np.stack(ys)), {"samples": len(xs), **report.as_dict()}


# --------------------------------------------------------------------------------------------------------------
# Groove MIDI -> GroovePredictor: emotion (64) -> 16 timing deviations + 16 velocities per 16th slot, in [-1, 1]

GROOVE_BARS = 2


def groove_parameters(notes: list[Note], seconds_per_beat: float) -> np.ndarray:
    """The 32 groove values (:func:`groove_slots`) of notes timed in seconds at one tempo."""
    sixteenth = seconds_per_beat / 4
    return groove_slots(np.array([n.onset / sixteenth for n in notes]), np.array([n.velocity / 127 for n in notes]))


def groove_slots(positions: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    """Per 16th-note slot of a 4/4 bar, from hit positions in 16ths and velocities in 0-1: mean deviation from the
    grid (x2, so +-half a 16th -> +-1), then mean velocity mapped to [-1, 1]; a slot with no hits gets deviation 0
    and velocity -1 (silence)."""
    dev: list[list[float]] = [[] for _ in range(16)]
    vel: list[list[float]] = [[] for _ in range(16)]
    for pos, v in zip(np.asarray(positions, float), np.asarray(velocities, float)):
        grid = int(np.round(pos))
        dev[grid % 16].append(pos - grid)
        vel[grid % 16].append(v)
    timing = [2 * float(np.mean(d)) if d else 0.0 for d in dev]
    loud = [2 * float(np.mean(v)) - 1 if v else -1.0 for v in vel]
    return np.clip(np.asarray(timing + loud, np.float32), -1, 1)


def load_groove(root: Path, config: Any) -> tuple[Pairs, dict[str, Any]]:
    report = SkipReport()
    labels = load_emotion_labels(root)
    songs = read_songs(root, config.max_files, report, drums=None)
    xs, ys = [], []
    for song in songs:
        bar = song.seconds_per_beat * 4
        for window in windows(song.notes, GROOVE_BARS * bar):
            if len(window) < 4:
                continue
            xs.append(_emotion_for(song, window, root, labels, report))
            ys.append(groove_parameters(window, song.seconds_per_beat))
    if not xs:
        raise UserError(f"{root}: no usable Groove MIDI files ({report.summary()})")
    return Pairs(np.stack(xs), np.stack(ys)), {"samples": len(xs), **report.as_dict()}
