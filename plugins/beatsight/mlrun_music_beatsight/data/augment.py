"""Kit augmentation: a rendered drum track made to sound like another kit in another room, so that training hears
more kits than are installed. Each effect is applied with probability one half, in this order:

- pitch shift of the whole track by up to 2 semitones either way (resampled, so it also plays 6-12 % faster or
  slower: the hit times are scaled with it);
- EQ tilt of -4 to +4 dB per octave around 1 kHz, and one peaking band of -9 to +9 dB at 100 Hz-8 kHz;
- compression (ratio 2-8 above a threshold 6-24 dB below the track's peak envelope, 5-80 ms release) or
  saturation (tanh with a drive of 1.5-6);
- room reverb: convolution with a generated impulse response (exponentially decaying noise with a reverberation
  time of 0.15-1.2 s, darker as it decays, a few early reflections), 10-45 % wet;
- noise (white or pink) 25-50 dB below the track's RMS.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..kits import synth

SR = synth.SAMPLE_RATE


def pitch_shift(x: np.ndarray, semitones: float) -> tuple[np.ndarray, float]:
    """``x`` resampled to sound ``semitones`` higher (and shorter by the same factor); the factor time is scaled by."""
    ratio = 2 ** (semitones / 12)
    n = int(len(x) / ratio)
    return np.interp(np.arange(n) * ratio, np.arange(len(x)), x), 1.0 / ratio


def eq(x: np.ndarray, tilt_db_per_octave: float, peak_hz: float, peak_db: float) -> np.ndarray:
    """A spectral tilt around 1 kHz and one peaking band one octave wide (in the frequency domain)."""
    spec = np.fft.rfft(x)
    f = np.maximum(np.fft.rfftfreq(len(x), 1 / SR), 20.0)
    octaves = np.log2(f / 1000.0)
    gain_db = tilt_db_per_octave * np.clip(octaves, -6, 4)
    gain_db += peak_db * np.exp(-0.5 * (np.log2(f / peak_hz) / 0.5) ** 2)
    return np.fft.irfft(spec * 10 ** (gain_db / 20), len(x))


def compress(x: np.ndarray, threshold_db: float, ratio: float, release_s: float) -> np.ndarray:
    """A feed-forward compressor: instant attack, exponential release of the peak envelope."""
    from scipy.signal import lfilter

    a = np.exp(-1.0 / (release_s * SR))
    # A one-pole peak follower approximated by smoothing the rectified signal (fast and close enough here).
    env = lfilter([1 - a], [1, -a], np.abs(x))
    env = np.maximum(env, 1e-9)
    thr = env.max() * 10 ** (-threshold_db / 20)
    gain = np.where(env > thr, (env / thr) ** (1 / ratio - 1), 1.0)
    return x * gain


def saturate(x: np.ndarray, drive: float) -> np.ndarray:
    """tanh saturation at ``drive`` times the track's peak."""
    peak = np.max(np.abs(x)) + 1e-12
    return np.tanh(drive * x / peak) / np.tanh(drive) * peak


def room_ir(rng: np.random.Generator, rt60: float) -> np.ndarray:
    """A generated room impulse response: a direct sound, 3-6 early reflections in the first 40 ms and a noise tail
    decaying by 60 dB in ``rt60`` s, low-passed more as it decays."""
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60)
    # Darker as it decays: a one-pole low-pass whose pole rises block by block over the tail.
    from scipy.signal import lfilter

    out = np.zeros(n)
    state = np.zeros(1)
    blocks = np.array_split(np.arange(n), 8)
    for i, idx in enumerate(blocks):
        a = 0.2 + 0.7 * i / len(blocks)
        out[idx], state = lfilter([1 - a], [1, -a], tail[idx], zi=state)  # the filter state runs on
    out *= 0.3
    out[0] = 1.0
    for _ in range(int(rng.integers(3, 7))):
        out[int(rng.uniform(0.003, 0.04) * SR)] += float(rng.uniform(0.2, 0.6)) * rng.choice([-1, 1])
    return out / np.sqrt(np.sum(out ** 2))


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float, wet: float) -> np.ndarray:
    """``x`` mixed with its convolution with :func:`room_ir` (``wet`` share), at the dry track's RMS."""
    from scipy.signal import fftconvolve

    y = fftconvolve(x, room_ir(rng, rt60))[:len(x)]
    y *= np.sqrt(np.mean(x ** 2) / (np.mean(y ** 2) + 1e-12))
    return (1 - wet) * x + wet * y


def noise(x: np.ndarray, rng: np.random.Generator, below_db: float, pink: bool) -> np.ndarray:
    """White or pink noise ``below_db`` dB under the track's RMS added."""
    n = rng.standard_normal(len(x))
    if pink:
        spec = np.fft.rfft(n)
        spec /= np.sqrt(np.maximum(np.fft.rfftfreq(len(n), 1 / SR), 20.0))
        n = np.fft.irfft(spec, len(n))
    n *= np.sqrt(np.mean(x ** 2) / (np.mean(n ** 2) + 1e-12)) * 10 ** (-below_db / 20)
    return x + n


def augment(x: np.ndarray, hits: Sequence[synth.Hit], rng: np.random.Generator
            ) -> tuple[np.ndarray, list[synth.Hit], list[str]]:
    """``x`` with random effects (the module docstring), its hits with times scaled by a pitch shift, and the
    effects' names."""
    applied = []
    hits = list(hits)
    if rng.random() < 0.5:
        x, scale = pitch_shift(x, float(rng.uniform(-2, 2)))
        hits = [synth.Hit(h.time * scale, h.note, h.velocity) for h in hits]
        applied.append("pitch")
    if rng.random() < 0.5:
        x = eq(x, float(rng.uniform(-4, 4)), float(np.exp(rng.uniform(np.log(100), np.log(8000)))),
               float(rng.uniform(-9, 9)))
        applied.append("eq")
    if rng.random() < 0.5:
        if rng.random() < 0.5:
            x = compress(x, float(rng.uniform(6, 24)), float(rng.uniform(2, 8)), float(rng.uniform(0.005, 0.08)))
            applied.append("compression")
        else:
            x = saturate(x, float(rng.uniform(1.5, 6)))
            applied.append("saturation")
    if rng.random() < 0.5:
        x = reverb(x, rng, float(rng.uniform(0.15, 1.2)), float(rng.uniform(0.1, 0.45)))
        applied.append("reverb")
    if rng.random() < 0.5:
        x = noise(x, rng, float(rng.uniform(25, 50)), bool(rng.random() < 0.5))
        applied.append("noise")
    return x, hits, applied
