"""Tempo of a transcribed song from its drum hits, in quarter notes per minute (as a MIDI file states it), so the
beatmap's sixteenth grid holds the hits.

Every tempo from :data:`LO` to :data:`HI` BPM (0.05 % apart) is scored by how the hits sit on its grids, measured as
vector strength (the length of the mean of ``exp(2 pi i t / period)`` over hits: 1 when they share one phase of the
period, near 0 when spread over it):

- all onsets on the sixteenth grid (rewarded: the grid the beatmap quantizes to) and on the eighth, beat, triplet
  and dotted-eighth grids (penalised: a tempo whose coarser grid already holds every hit is a multiple of the true
  one);
- kick and snare on the beat and on the eighth grid (rewarded: drummers put them there);
- kick against snare over two and three beats (rewarded: the back beat, kick and snare alternating in a bar);
- the median gap between onsets near a sixteenth, an eighth or a beat (rewarded), and a weak preference for tempi
  near 120 BPM.

The weights (:data:`WEIGHTS`) were chosen on songs of known tempo rendered with training kits and on exact hits of
generated grooves (`benchmarks/beatsight/tempo.py`, BENCHMARKS.md "Tempo", docs/experiments/beatsight.md). Hits are scored in windows of about 20 s, averaged
weighted by their onsets, so a tempo that drifts over a long song still lines up within each window. Torch-free.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The tempo range searched (BPM): a little wider than 60-220 so a tempo near either end is not pushed off it.
LO, HI = 57.0, 230.0
#: Relative step between the tempi scored.
STEP = 0.0005
#: Onsets of any class closer than this (s) are one onset.
MERGE = 0.025
#: Window length (s) over which the grid fits are measured.
WINDOW = 20.0
#: At least this many onsets (distinct in time), else no estimate.
MIN_ONSETS = 8
#: Weights of the features of :func:`features`, named by :data:`NAMES` in the same order.
WEIGHTS = np.array([1.8, -0.9, -0.6, 1.0, 1.65, 0.32, 0.46, -0.4, -0.5, 0.4, -0.12])
NAMES = ("onsets_sixteenths", "onsets_eighths", "onsets_beats", "kick_snare_beats", "kick_snare_eighths",
         "backbeat_2", "backbeat_3", "onsets_triplets", "onsets_dotted_eighths", "gap_fit", "prior")


def _phasor(times: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Mean of ``exp(2 pi i t / period)`` over ``times``, per period (zeros without times)."""
    if len(times) == 0:
        return np.zeros(len(periods), complex)
    return np.exp(2j * np.pi * times[None, :] / periods[:, None]).mean(axis=1)


def merged(times: np.ndarray, within: float = MERGE) -> np.ndarray:
    """Sorted ``times`` with each one within ``within`` s of the last kept one dropped."""
    out: list[float] = []
    for t in np.sort(times):
        if not out or t - out[-1] > within:
            out.append(float(t))
    return np.array(out)


def _ioi_fit(times: np.ndarray, beat: np.ndarray) -> np.ndarray:
    """How close the median gap between onsets is to a sixteenth, an eighth or a beat of each tempo (1 on one of
    them, falling off over a few percent): the time-keeping hand plays one of those."""
    gaps = np.diff(times)
    if len(gaps) == 0:
        return np.zeros(len(beat))
    ratio = np.log2(float(np.median(gaps)) / beat)
    return np.max([np.exp(-0.5 * ((ratio - r) / 0.08) ** 2) for r in (-2.0, -1.0, 0.0)], axis=0)


def features(times: np.ndarray, kicks: np.ndarray, snares: np.ndarray, bpms: np.ndarray) -> np.ndarray:
    """``[len(bpms), len(NAMES)]`` grid fits (:data:`NAMES`) of one window's onsets (``times``, merged) and its
    kick and snare hits at each tempo of ``bpms``."""
    beat = 60.0 / bpms
    ks = np.concatenate([kicks, snares])
    cols = [np.abs(_phasor(times, beat / 4)), np.abs(_phasor(times, beat / 2)), np.abs(_phasor(times, beat)),
            np.abs(_phasor(ks, beat)), np.abs(_phasor(ks, beat / 2))]
    for bars in (2, 3):
        both = len(kicks) and len(snares)
        cols.append(np.abs(_phasor(kicks, bars * beat) - _phasor(snares, bars * beat)) / 2 if both
                    else np.zeros(len(bpms)))
    cols.append(np.abs(_phasor(times, beat / 3)))
    cols.append(np.abs(_phasor(times, 0.75 * beat)))
    cols.append(_ioi_fit(times, beat))
    cols.append(-np.log2(bpms / 120.0) ** 2)
    return np.stack(cols, axis=1)


def feature_matrix(times: Sequence[float], components: Sequence[str], bpms: np.ndarray) -> np.ndarray | None:
    """:func:`features` of hits at ``times`` (s) named ``components`` at each tempo of ``bpms``, averaged over
    windows of about :data:`WINDOW` s weighted by their onsets; None with fewer than :data:`MIN_ONSETS` distinct
    onsets."""
    t = np.asarray(times, float)
    comp = np.asarray(components, dtype=object)
    onsets = merged(t)
    if len(onsets) < MIN_ONSETS:
        return None
    n = max(1, int(round((onsets[-1] - onsets[0]) / WINDOW)))
    edges = np.linspace(onsets[0], onsets[-1] + 1e-6, n + 1)
    total, weight = np.zeros((len(bpms), len(NAMES))), 0
    for a, b in zip(edges[:-1], edges[1:]):
        inside = (t >= a) & (t < b)
        win = onsets[(onsets >= a) & (onsets < b)]
        if len(win) < 2:
            continue
        total += len(win) * features(win, t[inside & (comp == "kick")], t[inside & (comp == "snare")], bpms)
        weight += len(win)
    return total / weight if weight else None


def estimate(times: Sequence[float], components: Sequence[str], lo: float = LO, hi: float = HI) -> float | None:
    """The tempo (BPM, quarter notes) of hits at ``times`` (s) named ``components`` (:data:`..kits.classes.COMPONENTS`
    names); None with fewer than :data:`MIN_ONSETS` distinct onsets."""
    bpms = np.exp(np.arange(np.log(lo), np.log(hi), STEP))
    f = feature_matrix(times, components, bpms)
    if f is None:
        return None
    return float(bpms[int(np.argmax(f @ WEIGHTS))])


def peak_times(activation: np.ndarray, frames: np.ndarray, classes: np.ndarray, fps: float) -> np.ndarray:
    """Hit times (s) between frames: each hit's peak frame moved by the parabola through its class's activation at
    the frames either side (frames are 10 ms apart; a sixteenth note at 220 BPM is 68 ms)."""
    frames = np.asarray(frames, np.int64)
    inner = (frames >= 1) & (frames <= len(activation) - 2)
    f = np.where(inner, frames, 1)
    a, b, c = (activation[f + d, classes] for d in (-1, 0, 1))
    curve = a - 2 * b + c
    shift = np.where(inner & (curve < 0), 0.5 * (a - c) / np.where(curve < 0, curve, -1.0), 0.0)
    return (frames + np.clip(shift, -0.5, 0.5)) / fps
