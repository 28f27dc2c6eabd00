"""Random timbre for training items: a smooth random EQ with a spectral tilt, and an optional synthetic reverb.

The training songs are rendered with one or two soundfonts; these draws change the spectral envelope (per-band gains,
brightness) and the decay of every sound, so the network learns rhythm from onsets and their pattern rather than from
one soundfont's particular timbres. Both act in one FFT over the item's waveform; the result keeps the input's RMS so
``--augment-gain-db`` alone sets the loudness.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from ..config import SAMPLE_RATE

#: Control points of the random EQ, log-spaced over the front end's range (27.5 Hz to 8 kHz).
EQ_POINTS = 8
EQ_LOW_HZ, EQ_HIGH_HZ = 30.0, 8000.0
#: Reverb decay times (RT60, seconds) drawn uniformly in this range.
RT60_RANGE = (0.1, 0.8)
#: How many uniform draws `random_timbre` needs (the caller draws them from its seeded generator).
DRAWS = EQ_POINTS + 4


def eq_curve_db(freqs: np.ndarray, draws: np.ndarray, eq_db: float) -> np.ndarray:
    """Gain in dB at ``freqs``: EQ_POINTS random gains in [-eq_db, eq_db] plus a random tilt of up to +-eq_db over
    the range, interpolated on log frequency (constant beyond the ends)."""
    logf = np.log(np.clip(freqs, EQ_LOW_HZ, EQ_HIGH_HZ))
    points = np.linspace(np.log(EQ_LOW_HZ), np.log(EQ_HIGH_HZ), EQ_POINTS)
    gains = eq_db * (2.0 * draws[:EQ_POINTS] - 1.0)
    tilt = eq_db * (2.0 * draws[EQ_POINTS] - 1.0)
    span = (logf - points[0]) / (points[-1] - points[0]) - 0.5  # -0.5 .. 0.5
    return np.interp(logf, points, gains) + tilt * span


def random_timbre(audio: np.ndarray, draws: np.ndarray, eq_db: float, reverb: float) -> np.ndarray:
    """``audio`` (float32 mono at SAMPLE_RATE) through a random EQ (``eq_db`` > 0) and, with ``reverb`` > 0, a
    synthetic room (exponentially decaying noise, RT60 in RT60_RANGE, wet level up to ``reverb``).

    ``draws`` holds DRAWS uniform numbers in [0, 1): the same draws give the same output. The reverb is causal, so
    it smears sounds forward in time as a room does and never moves an onset earlier.
    """
    n = len(audio)
    if n == 0 or (eq_db <= 0 and reverb <= 0):
        return audio
    x = np.asarray(audio, dtype=np.float32)  # single precision: twice as fast, ample for augmentation
    rms_in = float(np.sqrt(np.mean(x * x)))
    ir_len = int(RT60_RANGE[1] * SAMPLE_RATE) if reverb > 0 else 0
    size = scipy.fft.next_fast_len(n + ir_len, real=True)
    spec = scipy.fft.rfft(x, size)
    if reverb > 0:
        rt60 = RT60_RANGE[0] + (RT60_RANGE[1] - RT60_RANGE[0]) * float(draws[EQ_POINTS + 1])
        wet = reverb * float(draws[EQ_POINTS + 2])
        noise = np.random.default_rng(int(draws[EQ_POINTS + 3] * 2**31)).standard_normal(ir_len)
        t = np.arange(ir_len) / SAMPLE_RATE
        ir = noise * np.exp(-6.9 * t / rt60)  # -60 dB after rt60 seconds
        ir[0] = 0.0  # the dry path carries the direct sound
        ir *= wet / max(float(np.sqrt(np.sum(ir * ir))), 1e-12)
        ir[0] = 1.0
        spec *= scipy.fft.rfft(ir.astype(np.float32), size)
    if eq_db > 0:
        freqs = scipy.fft.rfftfreq(size, 1.0 / SAMPLE_RATE)
        spec *= (10.0 ** (eq_curve_db(freqs, draws, eq_db) / 20.0)).astype(np.float32)
    y = scipy.fft.irfft(spec, size)[:n]
    rms_out = float(np.sqrt(np.mean(y * y)))
    if rms_out > 1e-12:
        y *= rms_in / rms_out
    return y.astype(np.float32)
