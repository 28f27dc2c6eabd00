"""The classifier's input: a raw-audio window around an onset (the log-mel front end lives inside the model, so
the exported ONNX file takes audio). NumPy only."""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 44100
WINDOW_PRE = 0.025   # seconds before the onset
WINDOW_POST = 0.100  # seconds after the onset
N_FFT = 1024
HOP = 128
N_MELS = 128
FMAX = 8000.0
IMAGE = 128          # the CNN sees IMAGE x IMAGE (mel bands x interpolated frames)
PAD = N_FFT // 2     # frames are centred: half an FFT of context on either side
PRE_SAMPLES = int(round(WINDOW_PRE * SAMPLE_RATE)) + PAD
INPUT_SAMPLES = int(round((WINDOW_PRE + WINDOW_POST) * SAMPLE_RATE)) + N_FFT

# Stored hit segments: wider than the window, so augmentation may shift and stretch time.
SEGMENT_PRE = 0.08
SEGMENT_POST = 0.22
SEGMENT_PRE_SAMPLES = int(round(SEGMENT_PRE * SAMPLE_RATE))
SEGMENT_SAMPLES = SEGMENT_PRE_SAMPLES + int(round(SEGMENT_POST * SAMPLE_RATE))


def cut(audio: np.ndarray, start: int, length: int) -> np.ndarray:
    """``audio[start:start+length]``, zero-padded where it runs past either end."""
    out = np.zeros(length, dtype=np.float32)
    lo, hi = max(start, 0), min(start + length, len(audio))
    if hi > lo:
        out[lo - start: hi - start] = audio[lo:hi]
    return out


def segment_at(audio: np.ndarray, onset_sample: int) -> np.ndarray:
    """The stored segment of a hit (SEGMENT_PRE before to SEGMENT_POST after the onset)."""
    return cut(audio, onset_sample - SEGMENT_PRE_SAMPLES, SEGMENT_SAMPLES)


def window_at(audio: np.ndarray, onset_sample: int) -> np.ndarray:
    """The model's input window for an onset at ``onset_sample``."""
    return cut(audio, onset_sample - PRE_SAMPLES, INPUT_SAMPLES)


def windows_at(audio: np.ndarray, onset_samples: list[int] | np.ndarray) -> np.ndarray:
    """``[n, INPUT_SAMPLES]`` windows, one per onset."""
    if len(onset_samples) == 0:
        return np.zeros((0, INPUT_SAMPLES), dtype=np.float32)
    return np.stack([window_at(audio, int(s)) for s in onset_samples])
