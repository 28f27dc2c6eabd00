"""Bar phase from bar start times, and phases on the unit circle (interpolation, wraps, distances)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlrun_music.errors import UserError


def read_bars(path: str | Path) -> np.ndarray:
    """Bar start times (seconds, one per line, increasing) from a ``bars.csv``."""
    path = Path(path)
    try:
        bars = np.loadtxt(path, dtype=np.float64, delimiter=",", ndmin=1)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a bars.csv file ({str(exc).splitlines()[0][:100]})") from None
    if bars.ndim != 1 or len(bars) < 2 or np.any(np.diff(bars) <= 0):
        raise UserError(f"{path}: needs at least two increasing bar start times")
    return bars


def phase_at(times: np.ndarray, bars: np.ndarray) -> np.ndarray:
    """Phase in [0, 1) of each time: (t - bar_k) / (bar_{k+1} - bar_k); NaN outside [bars[0], bars[-1])."""
    times = np.asarray(times, dtype=np.float64)
    k = np.searchsorted(bars, times, side="right") - 1
    inside = (k >= 0) & (k < len(bars) - 1)
    kc = np.clip(k, 0, len(bars) - 2)
    phase = (times - bars[kc]) / (bars[kc + 1] - bars[kc])
    return np.where(inside, np.clip(phase, 0.0, np.nextafter(1.0, 0.0)), np.nan)


def read_phase_file(path: str | Path) -> np.ndarray:
    """A ``.phase`` label file: one phase per line."""
    path = Path(path)
    try:
        values = np.loadtxt(path, dtype=np.float32, ndmin=1)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a .phase label file ({str(exc).splitlines()[0][:100]})") from None
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise UserError(f"{path}: the .phase file is empty or holds non-numbers")
    return values


def circular_interp(phases: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Phase at fractional frame ``positions``, interpolated between neighbours on the unit circle."""
    i0 = np.floor(positions).astype(np.int64)
    frac = positions - i0
    i0 = np.clip(i0, 0, len(phases) - 1)
    i1 = np.clip(i0 + 1, 0, len(phases) - 1)
    a0, a1 = 2 * np.pi * phases[i0], 2 * np.pi * phases[i1]
    s = (1 - frac) * np.sin(a0) + frac * np.sin(a1)
    c = (1 - frac) * np.cos(a0) + frac * np.cos(a1)
    return np.mod(np.arctan2(s, c) / (2 * np.pi), 1.0)


def circular_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest distance between phases on the circle, in bars (0 to 0.5)."""
    d = np.abs(np.mod(np.asarray(a) - np.asarray(b), 1.0))
    return np.minimum(d, 1.0 - d)


def wrap_times(phases: np.ndarray, fps: float, offset: float = 0.0, hysteresis: bool = True) -> np.ndarray:
    """Times where a phase track wraps from near 1 to near 0 (downbeats), interpolated between frames.

    With ``hysteresis`` a wrap counts only if the phase has passed through mid-bar (0.25 to 0.75) since the last
    counted wrap: a track that trembles around 0 (0.99, 0.01, 0.98, 0.02) gives one downbeat, not several. Every
    bar passes mid-bar, so clean tracks (labels, the baselines) give the same wraps either way.
    """
    p = np.asarray(phases, dtype=np.float64)
    ok = np.isfinite(p[:-1]) & np.isfinite(p[1:])
    jumps = np.nonzero(ok & (p[:-1] - p[1:] > 0.5))[0]
    if hysteresis:
        jumps = _armed(p, jumps)
    before, after = p[jumps], p[jumps + 1] + 1.0
    frac = np.clip((1.0 - before) / np.maximum(after - before, 1e-9), 0.0, 1.0)
    return (jumps + frac) / fps + offset


def _armed(p: np.ndarray, jumps: np.ndarray) -> np.ndarray:
    """The wraps (indices into ``p``) that follow a pass through mid-bar; the first one always counts."""
    mid = np.isfinite(p) & (p >= 0.25) & (p <= 0.75)
    mid_count = np.concatenate([[0], np.cumsum(mid)])  # mid frames in p[:k] = mid_count[k]
    kept: list[int] = []
    for j in jumps:
        if not kept or mid_count[j + 1] > mid_count[kept[-1] + 1]:
            kept.append(int(j))
    return np.asarray(kept, dtype=np.int64)
