"""Reading audio: any format soundfile reads, mixed down to mono and resampled."""

from __future__ import annotations

import math
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import UserError


class AudioError(UserError):
    """An audio file that cannot be used; the message names the file."""


#: Lowest sample rate accepted: below it no music model here hears anything useful (and a 1 Hz header is garbage).
MIN_SAMPLE_RATE = 8000
#: Longest audio read, in seconds (bounded work and memory: 4 h of 48 kHz float32 is about 2.8 GB).
MAX_SECONDS = 4 * 3600.0
#: Peak level (about -80 dBFS) below which audio, after removing its DC offset, counts as silence.
SILENCE_PEAK = 1e-4


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

    Raises :class:`AudioError` naming the file when it is missing, a folder, not audio, empty, a WAV cut short
    (its header promises more samples than it holds), sampled below :data:`MIN_SAMPLE_RATE`, longer than
    :data:`MAX_SECONDS`, shorter than ``min_seconds``, or silent or constant (a DC offset only; unless
    ``allow_silent``). Silence and DC are judged at the file's own rate: resampling makes a constant ring at its
    edges.
    """
    import soundfile as sf

    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path} is a folder, not an audio file")
    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    cut = wav_truncation(path)
    if cut:
        raise AudioError(f"{path}: the WAV file is truncated ({cut}); re-export or copy it again")
    try:
        info = sf.info(str(path))
        if info.samplerate < MIN_SAMPLE_RATE:
            raise AudioError(f"{path}: sample rate {info.samplerate} Hz is below {MIN_SAMPLE_RATE} Hz; "
                             f"resample it first")
        if info.frames > MAX_SECONDS * info.samplerate:
            raise AudioError(f"{path}: {_span(info.frames / info.samplerate)} of audio is longer than the "
                             f"{_span(MAX_SECONDS)} read at most; cut it first")
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except AudioError:
        raise
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError...
        raise AudioError(f"{path}: not a readable audio file ({str(exc).splitlines()[0]})") from exc
    if data.size == 0:
        raise AudioError(f"{path}: the audio file is empty")
    mono = data.mean(axis=1)
    if not np.all(np.isfinite(mono)):
        raise AudioError(f"{path}: the audio holds non-finite samples")
    seconds = len(mono) / rate
    if seconds < min_seconds:
        raise AudioError(f"{path}: {seconds:.2f} s of audio is shorter than the {min_seconds:g} s needed")
    if not allow_silent:
        peak = float(np.max(np.abs(mono)))
        if peak < SILENCE_PEAK:
            raise AudioError(f"{path}: the audio is silent (peak {20 * math.log10(max(peak, 1e-12)):.0f} dBFS)")
        if float(np.max(np.abs(mono - float(np.mean(mono))))) < SILENCE_PEAK:
            raise AudioError(f"{path}: the audio is a constant level (DC offset only), no sound to analyse")
    return resample(mono, rate, sample_rate)


def wav_truncation(path: Path) -> str:
    """For a RIFF/WAVE file whose data chunk declares more bytes than the file holds: how many it declares and
    holds; '' for a complete WAV and for anything else (other formats are left to the audio reader)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return ""
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                kind, length = struct.unpack("<4sI", f.read(8))
                if kind == b"data":
                    # A streaming writer may leave 0 or 0xFFFFFFFF for "unknown"; those are not cut short.
                    held = size - pos - 8
                    if 0 < length < 0xFFFFFFFF and held < length:
                        return f"its header declares {length} bytes of samples, the file holds {held}"
                    return ""
                pos += 8 + length + (length & 1)
    except OSError:
        return ""  # unreadable files are reported by the audio reader
    return ""


def _span(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 360 else f"{seconds:.1f} s"


def db_to_gain(db: float) -> float:
    return math.pow(10.0, db / 20.0)
