"""Objective metrics of a piece and a small emotion classifier over them (NumPy only).

Metrics (MusPy-style, plus what EMOPIA's cues are about): note density, tempo, pitch mean/range, pitch-class
entropy, major/minor tendency (Krumhansl-Kessler key profiles), mean velocity, polyphony, note length in beats.
The classifier is multinomial logistic regression on the standardised metrics: a transparent, repeatable way to
ask whether generated music carries its prompted emotion (EMOPIA's paper reports 0.581 for logistic regression
and 0.684 for an LSTM on real clips).
"""

from __future__ import annotations

from typing import Any

import numpy as np

FEATURES = ("note_density", "tempo", "pitch_mean", "pitch_range", "pc_entropy", "major_minor", "velocity",
            "polyphony", "note_beats")

_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def metrics(score: Any) -> dict[str, float] | None:
    """The metrics of a symusic score (any time unit); None when it has no notes."""
    sec = score if type(score).__name__ == "ScoreSecond" else score.to("second")
    notes = [n for t in sec.tracks if not t.is_drum for n in t.notes]
    if not notes:
        return None
    start = np.array([n.time for n in notes], dtype=np.float64)
    dur = np.maximum(np.array([n.duration for n in notes], dtype=np.float64), 1e-3)
    pitch = np.array([n.pitch for n in notes], dtype=np.float64)
    vel = np.array([n.velocity for n in notes], dtype=np.float64)
    end = start + dur
    length = max(float(end.max() - start.min()), 1e-3)
    tempos = [t.qpm for t in sec.tempos] or [120.0]
    tempo = float(np.median(tempos))
    pcs = np.bincount(pitch.astype(int) % 12, weights=dur, minlength=12)
    p = pcs / pcs.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    major = max(_corr(pcs, np.roll(_MAJOR, k)) for k in range(12))
    minor = max(_corr(pcs, np.roll(_MINOR, k)) for k in range(12))
    onsets = np.unique(np.round(start, 3))
    sounding = ((start[None, :] <= onsets[:, None] + 1e-6) & (end[None, :] > onsets[:, None] + 1e-6)).sum(1)
    return {
        "note_density": len(notes) / length,
        "tempo": tempo,
        "pitch_mean": float(pitch.mean()),
        "pitch_range": float(pitch.max() - pitch.min()),
        "pc_entropy": entropy,
        "major_minor": float(major - minor),
        "velocity": float(vel.mean()),
        "polyphony": float(sounding.mean()),
        "note_beats": float(np.mean(dur * tempo / 60.0)),
    }


def matrix(rows: list[dict[str, float]]) -> np.ndarray:
    return np.array([[r[f] for f in FEATURES] for r in rows], dtype=np.float64)


class EmotionClassifier:
    """Multinomial logistic regression with L2, fitted by full-batch gradient descent on standardised features."""

    def __init__(self, l2: float = 1e-2, steps: int = 2000, lr: float = 0.5) -> None:
        self.l2, self.steps, self.lr = l2, steps, lr

    def fit(self, x: np.ndarray, y: np.ndarray, n_classes: int = 4) -> "EmotionClassifier":
        self.mean = x.mean(0)
        self.std = x.std(0) + 1e-8
        z = (x - self.mean) / self.std
        n, d = z.shape
        self.w = np.zeros((d, n_classes))
        self.b = np.zeros(n_classes)
        onehot = np.eye(n_classes)[y]
        for _ in range(self.steps):
            p = self._softmax(z @ self.w + self.b)
            g = (p - onehot) / n
            self.w -= self.lr * (z.T @ g + self.l2 * self.w)
            self.b -= self.lr * g.sum(0)
        return self

    @staticmethod
    def _softmax(a: np.ndarray) -> np.ndarray:
        a = a - a.max(1, keepdims=True)
        e = np.exp(a)
        return e / e.sum(1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return (((x - self.mean) / self.std) @ self.w + self.b).argmax(1)
