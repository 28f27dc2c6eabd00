"""The transcriber's input: log-mel frames at 100 per second over a whole song (NumPy FFT, no torch), and the
frame <-> time conversion its peak picking uses."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44100
N_FFT = 2048
HOP = 441            # 10 ms: frame i is centred on i / FPS seconds
FPS = SAMPLE_RATE / HOP
N_MELS = 100
FMIN, FMAX = 20.0, 16000.0  # cymbals and hi-hats differ above the CNN's 8 kHz
FLOOR = float(np.log(1e-10))  # the value of silence


def _filters() -> np.ndarray:
    from mlrun_music.audio.mel import mel_filterbank

    return mel_filterbank(N_FFT, N_MELS, SAMPLE_RATE, FMIN, FMAX).numpy()


_FILTERS: np.ndarray | None = None
_WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # periodic Hann


def log_mel_frames(audio: np.ndarray, chunk_frames: int = 2000) -> np.ndarray:
    """``[frames, N_MELS]`` float32 ``log(mel power + 1e-10)`` of mono ``audio`` at 44.1 kHz, frames centred
    (half an FFT of zero padding on either side); computed in chunks so long songs stay small in memory."""
    global _FILTERS
    if _FILTERS is None:
        _FILTERS = _filters()
    a = np.pad(np.asarray(audio, np.float32), (N_FFT // 2, N_FFT // 2))
    n = 1 + (len(a) - N_FFT) // HOP
    out = np.empty((max(n, 0), N_MELS), np.float32)
    for s in range(0, n, chunk_frames):
        e = min(n, s + chunk_frames)
        idx = np.arange(N_FFT)[None, :] + HOP * np.arange(s, e)[:, None]
        power = np.abs(np.fft.rfft(a[idx] * _WINDOW, axis=1)) ** 2
        out[s:e] = np.log(power @ _FILTERS + 1e-10)
    return out
