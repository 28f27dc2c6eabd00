"""The rule-based fallback classifier (the original's idea: spectral centroid, zero-crossing rate, RMS, roll-off
and decay rules). Like the original it only knows the first 9 classes. NumPy only."""

from __future__ import annotations

import numpy as np

from ..kits.classes import COMPONENTS
from .features import SAMPLE_RATE, SEGMENT_PRE_SAMPLES

HEURISTIC_CONFIDENCE = 0.75


def describe(segment: np.ndarray, onset: int = SEGMENT_PRE_SAMPLES, sr: int = SAMPLE_RATE) -> dict[str, float]:
    """Features of the 100 ms after ``onset`` (and the decay up to 200 ms)."""
    head = segment[onset: onset + int(0.1 * sr)].astype(np.float64)
    tail = segment[onset + int(0.1 * sr): onset + int(0.2 * sr)].astype(np.float64)
    if head.size < 64:
        head = np.pad(head, (0, 64 - head.size))
    n = 8192
    spec = np.abs(np.fft.rfft(head * np.hanning(head.size), n)) ** 2
    freqs = np.fft.rfftfreq(n, 1 / sr)
    total = spec.sum() + 1e-12
    cum = np.cumsum(spec) / total
    rms_head = float(np.sqrt(np.mean(head ** 2))) + 1e-12
    rms_tail = float(np.sqrt(np.mean(tail ** 2))) if tail.size else 0.0
    low = spec[(freqs >= 20) & (freqs < 400)]
    return {
        "centroid": float((freqs * spec).sum() / total),
        "rolloff": float(freqs[min(np.searchsorted(cum, 0.85), len(freqs) - 1)]),
        "zcr": float(np.mean(np.abs(np.diff(np.signbit(head).astype(np.int8))))),
        "rms": rms_head,
        "decay": rms_tail / rms_head,
        "low_ratio": float(spec[freqs < 150].sum() / total),
        "high_ratio": float(spec[freqs > 5000].sum() / total),
        "pitch": float(freqs[(freqs >= 20) & (freqs < 400)][int(np.argmax(low))]) if low.size else 0.0,
    }


def classify_features(f: dict[str, float]) -> str:
    """Rules over :func:`describe`'s features."""
    if f["low_ratio"] > 0.45 and f["centroid"] < 800:
        return "kick"
    if f["high_ratio"] > 0.35 or f["centroid"] > 4500:
        if f["decay"] < 0.25:
            return "hihat_closed"
        if f["zcr"] > 0.35 and f["decay"] < 0.6:
            return "hihat_open"
        return "ride" if f["rolloff"] < 9000 and f["decay"] > 0.7 else "crash"
    if f["zcr"] > 0.08 or f["centroid"] > 1800:
        return "snare"
    if f["pitch"] >= 160:
        return "tom_high"
    if f["pitch"] >= 100:
        return "tom_mid"
    return "tom_low"


def classify(segments: np.ndarray, onset: int = SEGMENT_PRE_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Class indices and confidences of ``[n, samples]`` segments with the onset at ``onset``."""
    idx = np.array([COMPONENTS.index(classify_features(describe(s, onset))) for s in segments], dtype=np.int64)
    return idx, np.full(len(idx), HEURISTIC_CONFIDENCE, dtype=np.float32)
