"""Per-piece features of symbolic music (MIDI files) and the overlap of two pieces' feature distributions.

The features follow Yang & Lerch (2020), "On the evaluation of generative models in music", and MusPy's
definitions, computed from the notes of a MIDI file (drum notes, on channel 10, are left out: they have no pitch):

- ``pitch_class_entropy``: entropy in bits of the histogram of the notes' pitch classes (0 = one pitch class,
  log2 12 = 3.58 = all twelve equally often);
- ``scale_consistency``: the largest share of notes inside one major scale (its relative natural minor has the
  same pitch classes), over the 12 tonics;
- ``groove_consistency``: 1 minus the mean Hamming distance between the onset patterns of consecutive bars, on a
  grid of 12 steps per quarter note, divided by the steps in a bar (bars from the file's first time signature,
  4/4 without one);
- ``empty_beat_rate``: the share of beats (quarter notes), up to the end of the last note, in which no note sounds;
- ``polyphony``: the mean number of notes sounding at a grid step, over the steps where at least one sounds;
- ``pitch_range``: highest minus lowest pitch, in semitones;
- ``note_density``: notes per second, from the start of the file to the end of the last note;
- ``tempo``: the tempo in bpm, averaged over the piece's beats (120 without a tempo event).

``overlap`` is the overlapping area of the Gaussian kernel-density estimates of two 1-D samples (1 = the same
distribution, 0 = disjoint); ``overlap_table`` applies it feature by feature.
"""

from __future__ import annotations

import math
import os
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import UserError
from .midi import read_midi

FEATURES = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "polyphony",
            "pitch_range", "note_density", "tempo")
STEPS_PER_QUARTER = 12  # the grid of groove consistency and polyphony: sixteenths and eighth-note triplets
DRUM_CHANNEL = 9
_MAJOR = (0, 2, 4, 5, 7, 9, 11)


def notes_of(mid: Any) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]:
    """The pitched notes of a ``mido.MidiFile`` as an int array of rows (start tick, end tick, pitch), sorted,
    with its tempo map [(tick, microseconds per quarter)] and time signatures [(tick, quarters per bar * 12)].

    A note-on with velocity 0 ends a note; a note still sounding at the end of the file ends there."""
    import mido

    notes: list[tuple[int, int, int]] = []
    tempos: list[tuple[int, int]] = []
    meters: list[tuple[int, int]] = []
    sounding: dict[tuple[int, int], list[int]] = {}
    tick = 0
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "set_tempo":
            tempos.append((tick, msg.tempo))
        elif msg.type == "time_signature":
            meters.append((tick, int(round(msg.numerator * 4 / msg.denominator * STEPS_PER_QUARTER))))
        elif msg.type in ("note_on", "note_off") and msg.channel != DRUM_CHANNEL:
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.setdefault(key, []).append(tick)
            elif sounding.get(key):
                start = sounding[key].pop(0)
                notes.append((start, max(tick, start + 1), msg.note))
    for (_, pitch), starts in sounding.items():
        notes.extend((s, max(tick, s + 1), pitch) for s in starts)
    arr = np.array(sorted(notes), dtype=np.int64).reshape(-1, 3)
    return arr, tempos, meters


def _seconds(ticks: np.ndarray, tempos: list[tuple[int, int]], tpq: int) -> np.ndarray:
    """Ticks to seconds through the tempo map (120 bpm before the first tempo event)."""
    marks = [(0, 500000)] + [t for t in tempos if t[0] > 0]
    if tempos and tempos[0][0] == 0:
        marks[0] = (0, tempos[0][1])
    ticks = np.asarray(ticks, dtype=np.float64)
    out = np.zeros_like(ticks)
    base = 0.0
    for i, (at, tempo) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else math.inf
        inside = (ticks >= at) & (ticks < end)
        out[inside] = base + (ticks[inside] - at) * tempo / 1e6 / tpq
        if end < math.inf:
            base += (end - at) * tempo / 1e6 / tpq
    return out


def _mean_tempo(tempos: list[tuple[int, int]], end_tick: int) -> float:
    """Tempo in bpm averaged over ticks 0..end_tick (the piece's beats)."""
    marks = [(0, 500000)] + [t for t in tempos if 0 < t[0] < end_tick]
    if tempos and tempos[0][0] == 0:
        marks[0] = (0, tempos[0][1])
    total = 0.0
    for i, (at, tempo) in enumerate(marks):
        stop = marks[i + 1][0] if i + 1 < len(marks) else end_tick
        total += (stop - at) * 60e6 / tempo
    return total / end_tick


def features(notes: np.ndarray, tempos: list[tuple[int, int]], meters: list[tuple[int, int]],
             tpq: int) -> dict[str, float] | None:
    """The features (module docstring) of notes as ``notes_of`` returns them; None when there are none."""
    if len(notes) == 0:
        return None
    start, end, pitch = notes[:, 0], notes[:, 1], notes[:, 2]
    counts = np.bincount(pitch % 12, minlength=12).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    in_scale = max(counts[[(tonic + d) % 12 for d in _MAJOR]].sum() for tonic in range(12)) / counts.sum()

    step = tpq / STEPS_PER_QUARTER
    on = np.floor(start / step).astype(np.int64)
    off = np.maximum(np.ceil(end / step).astype(np.int64), on + 1)
    n_steps = int(off.max())
    change = np.zeros(n_steps + 1, dtype=np.int64)
    np.add.at(change, on, 1)
    np.add.at(change, off, -1)
    active = np.cumsum(change)[:n_steps]

    bar_steps = meters[0][1] if meters else 4 * STEPS_PER_QUARTER
    n_bars = max(1, math.ceil((on.max() + 1) / bar_steps))
    onsets = np.zeros((n_bars, bar_steps), dtype=bool)
    onsets[on // bar_steps, on % bar_steps] = True
    groove = 1.0 - float(np.mean(onsets[1:] != onsets[:-1])) if n_bars > 1 else 1.0

    beats = active[: (n_steps // STEPS_PER_QUARTER) * STEPS_PER_QUARTER].reshape(-1, STEPS_PER_QUARTER)
    rest = active[len(beats.ravel()):]
    sounding = [bool(b.any()) for b in beats] + ([bool(rest.any())] if len(rest) else [])
    seconds = float(_seconds(np.array([end.max()]), tempos, tpq)[0])
    return {
        "pitch_class_entropy": float(-(p * np.log2(p)).sum()),
        "scale_consistency": float(in_scale),
        "groove_consistency": groove,
        "empty_beat_rate": 1.0 - float(np.mean(sounding)),
        "polyphony": float(active[active > 0].mean()),
        "pitch_range": float(pitch.max() - pitch.min()),
        "note_density": len(notes) / max(seconds, 1e-6),
        "tempo": _mean_tempo(tempos, int(end.max())),
    }


def midi_features(path: str | os.PathLike[str]) -> dict[str, float] | None:
    """The features of a MIDI file (read through ``read_midi``: a bad file is a UserError naming it); None when
    it has no pitched notes."""
    mid = read_midi(path)
    notes, tempos, meters = notes_of(mid)
    return features(notes, tempos, meters, mid.ticks_per_beat)


def overlap(a: Sequence[float], b: Sequence[float], grid_points: int = 2001) -> float:
    """Overlapping area of the Gaussian KDEs (Scott's bandwidth) of samples ``a`` and ``b`` (at least 2 values
    each), integrated on a grid reaching half the pooled span beyond both ends.

    A KDE of identical values has no width: a constant sample gets one Gaussian at its value with the other
    sample's kernel width (two constant samples overlap 1 when equal, else 0)."""
    from scipy.stats import gaussian_kde

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"overlap needs at least 2 values per sample, got {len(a)} and {len(b)}")
    flat_a, flat_b = np.ptp(a) == 0, np.ptp(b) == 0
    if flat_a and flat_b:
        return 1.0 if a[0] == b[0] else 0.0
    lo, hi = min(a.min(), b.min()), max(a.max(), b.max())
    span = hi - lo
    grid = np.linspace(lo - 0.5 * span, hi + 0.5 * span, grid_points)
    kde = {id(x): gaussian_kde(x) for x, flat in ((a, flat_a), (b, flat_b)) if not flat}

    def density(x: np.ndarray, other: np.ndarray) -> np.ndarray:
        if id(x) in kde:
            return kde[id(x)](grid)
        sd = float(np.sqrt(kde[id(other)].covariance[0, 0]))
        return np.exp(-0.5 * ((grid - x[0]) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))

    low = np.minimum(density(a, b), density(b, a))
    return float(min(1.0, (low.sum() - 0.5 * (low[0] + low[-1])) * (grid[1] - grid[0])))


def overlap_table(real: Iterable[dict[str, float]], generated: Iterable[dict[str, float]],
                  names: Sequence[str] = FEATURES) -> dict[str, Any]:
    """Per feature the overlap of ``real`` and ``generated`` pieces' values and both means; ``mean`` over
    features."""
    real, generated = list(real), list(generated)
    if len(real) < 2 or len(generated) < 2:
        raise UserError(f"feature overlap needs at least 2 real and 2 generated pieces with notes, got "
                        f"{len(real)} and {len(generated)}")
    per = {k: overlap([r[k] for r in real], [g[k] for g in generated]) for k in names}
    return {"overlap": per, "mean": float(np.mean(list(per.values()))), "pieces": len(generated),
            "real_pieces": len(real),
            "real_mean": {k: float(np.mean([r[k] for r in real])) for k in names},
            "generated_mean": {k: float(np.mean([g[k] for g in generated])) for k in names}}
