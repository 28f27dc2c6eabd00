"""Reading audio: any format soundfile reads, mixed down to mono and resampled."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import UserError


class AudioError(UserError):
    """An audio file that cannot be used; the message names the file."""


def resample(audio: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling of a 1-D float signal (scipy's resample_poly)."""
    if source_rate == target_rate:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    ratio = Fraction(int(target_rate), int(source_rate)).limit_denominator(10000)
    return resample_poly(audio, ratio.numerator, ratio.denominator).astype(np.float32)


def load_audio(path: str | Path, sample_rate: int, *, min_seconds: float = 0.0,
               allow_silent: bool = False) -> np.ndarray:
    """Read ``path`` as float32 mono at ``sample_rate``.

    Raises :class:`AudioError` naming the file when it is missing, not audio, empty, silent (unless
    ``allow_silent``) or shorter than ``min_seconds``.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioError(f"{path}: not a readable audio file ({str(exc).splitlines()[0]})") from exc
    if data.size == 0:
        raise AudioError(f"{path}: the audio file is empty")
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: the audio holds non-finite samples")
    mono = resample(mono, rate, sample_rate)
    seconds = len(mono) / sample_rate
    if seconds < min_seconds:
        raise AudioError(f"{path}: {seconds:.2f} s of audio is shorter than the {min_seconds:g} s needed")
    if not allow_silent and float(np.max(np.abs(mono))) < 1e-5:
        raise AudioError(f"{path}: the audio is silent")
    return mono


def db_to_gain(db: float) -> float:
    return math.pow(10.0, db / 20.0)
