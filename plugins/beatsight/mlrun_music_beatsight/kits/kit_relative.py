"""Kit-relative names for the components that are positions on a kit rather than sounds: the three toms are named
by their pitch order within the song, the two crashes by their brightness order (crash2 the brighter in every
General MIDI soundfont measured, `docs/experiments/beatsight/kit_order.py`). A single hit cannot tell a low-tuned high
tom from a high-tuned low tom; a song that plays several toms can. Torch-free.

The classifier still names each hit; this step only regroups a family's hits by the drum they come from (hits of
near-equal pitch or brightness are one drum) and, when the song plays several drums of the family, gives them names
in the family's order -- the names that agree best with the classifier's scores.
"""

from __future__ import annotations

import itertools

import attrs
import numpy as np

from .classes import COMPONENTS


@attrs.frozen
class Family:
    """Components named by the order of a measured feature, lowest first."""

    names: tuple[str, ...]
    feature: str  # "pitch" (Hz of the lowest strong peak, 40-400 Hz) or "brightness" (centroid above 1 kHz)
    tolerance: float  # relative difference below which two hits are the same drum

    @property
    def label(self) -> str:
        """The family's name in reports: "tom", "crash"."""
        return self.names[0].split("_")[0]


FAMILIES: tuple[Family, ...] = (
    Family(("tom_low", "tom_mid", "tom_high"), "pitch", 0.08),
    Family(("crash", "crash2"), "brightness", 0.05),
)


def _spectra(audio: np.ndarray, sr: int, time: float, seconds: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """What the hit at ``time`` added to the spectrum: power over ``seconds`` after it minus that over as long
    before it (clipped at 0), the power before it, and their frequencies; None past the end of the audio."""
    n = int(seconds * sr)
    s = int(round(time * sr))
    after = audio[s:s + n]
    if len(after) < n // 2:
        return None
    before = audio[max(0, s - n):s]
    size = 1 << int(np.ceil(np.log2(4 * n)))
    power = np.abs(np.fft.rfft(after * np.hanning(len(after)), size)) ** 2
    ringing = np.zeros_like(power)
    if len(before):
        ringing = np.abs(np.fft.rfft(before * np.hanning(len(before)), size)) ** 2 * len(after) / len(before)
    return np.maximum(power - ringing, 0.0), ringing, np.fft.rfftfreq(size, 1 / sr)


def _measure(audio: np.ndarray, sr: int, time: float, feature: str) -> tuple[float, bool]:
    """The ``feature`` of the hit at ``time`` in Hz (NaN when it cannot be measured), and whether the hit is clear:
    louder in the measured band than what was ringing before it (else it may be mismeasured)."""
    got = _spectra(audio, sr, time, 0.15 if feature == "pitch" else 0.2)
    if got is None:
        return float("nan"), False
    added, ringing, freqs = got
    # Pitch: 40-400 Hz. Brightness: above 1 kHz only, as a kick under the crash (the usual accent) would pull a
    # full-band centroid down by half.
    band = (freqs >= 40) & (freqs <= 400) if feature == "pitch" else freqs >= 1000.0
    total = added[band].sum()
    if total <= 0:
        return float("nan"), False
    clear = bool(total >= ringing[band].sum())
    if feature == "pitch":
        mag = np.sqrt(added[band])
        # The lowest local maximum at half the strongest or more: the fundamental, not a louder overtone.
        strong = (mag >= 0.5 * mag.max()) & (mag >= np.roll(mag, 1)) & (mag >= np.roll(mag, -1))
        return float(freqs[band][np.argmax(strong)]), clear
    return float((added[band] * freqs[band]).sum() / total), clear


def measure(audio: np.ndarray, sr: int, time: float, feature: str) -> float:
    """The ``feature`` (:attr:`Family.feature`) of the hit at ``time`` in Hz, or NaN when it cannot be measured."""
    return _measure(audio, sr, time, feature)[0]


def _clusters(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Cluster index (0 = lowest) of each value: sorted values split where neighbours differ by more than
    ``tolerance`` (relative)."""
    order = np.argsort(values)
    gaps = np.diff(np.log(values[order])) > np.log1p(tolerance)
    ids = np.empty(len(values), np.int64)
    ids[order] = np.concatenate([[0], np.cumsum(gaps)])
    return ids


def _ordered_names(fit: np.ndarray) -> list[int]:
    """For ``fit[drum, name]`` (drums and names both in ascending order), the name of each drum: with fewer drums
    than names, distinct names in order; with as many or more, the drums split in order into one run per name,
    the runs as even as they can be (a kit's toms spread over its tom names). Among those, the best total fit."""
    k, m = fit.shape
    if k < m:
        options = [list(c) for c in itertools.combinations(range(m), k)]
    else:
        sizes = [k // m + (1 if i < k % m else 0) for i in range(m)]
        options = [[j for j, size in enumerate(order) for _ in range(size)]
                   for order in sorted(set(itertools.permutations(sizes)))]
    return max(options, key=lambda names: float(sum(fit[i, j] for i, j in enumerate(names))))


def _names(fit: np.ndarray, reliable: np.ndarray) -> list[int]:
    """:func:`_ordered_names` over the reliable drums (heard twice or more, or clearly once); every other drum (a
    quiet hit under the previous drum's tail may be mismeasured) gets the name it fits best between its reliable
    neighbours' names."""
    if not reliable.any():
        reliable = np.ones_like(reliable)
    idx = np.flatnonzero(reliable)
    named = dict(zip(idx.tolist(), _ordered_names(fit[idx])))
    names = []
    for c in range(len(fit)):
        if c in named:
            names.append(named[c])
            continue
        below = [named[i] for i in idx if i < c]
        above = [named[i] for i in idx if i > c]
        lo, hi = (below[-1] if below else 0), (above[0] if above else fit.shape[1] - 1)
        names.append(lo + int(np.argmax(fit[c, lo:hi + 1])))
    return names


@attrs.define
class Renaming:
    """The new component of every hit, and how many of each family changed."""

    components: list[str]
    changed: dict[str, int]


def rename(audio: np.ndarray, sr: int, times: np.ndarray, components: list[str],
           scores: np.ndarray | None = None, families: tuple[Family, ...] = FAMILIES) -> Renaming:
    """Kit-relative components for hits at ``times`` named ``components``. ``scores[i]`` are the classifier's
    per-class scores of hit ``i`` (probabilities or activations, in :data:`COMPONENTS` order); without them each
    hit's own name is its only vote."""
    new = list(components)
    changed = {}
    for family in families:
        idx = [i for i, c in enumerate(components) if c in family.names]
        measured = [_measure(audio, sr, float(times[i]), family.feature) for i in idx]
        values = np.array([v for v, _ in measured], float).reshape(-1)
        keep = np.isfinite(values) & (values > 0)
        idx = [i for i, ok in zip(idx, keep) if ok]
        values = values[keep]
        clear = np.array([c for (_, c), ok in zip(measured, keep) if ok], bool)
        changed[family.label] = 0
        if len(idx) < 2:
            continue
        cluster = _clusters(values, family.tolerance)
        cols = [COMPONENTS.index(n) for n in family.names]
        if scores is not None:
            s = np.clip(np.asarray(scores, float)[idx][:, cols], 1e-4, None)
            votes = np.log(s / s.sum(axis=1, keepdims=True))
        else:
            votes = np.array([[0.0 if components[i] == n else np.log(1e-4) for n in family.names] for i in idx])
        fit = np.zeros((int(cluster.max()) + 1, len(family.names)))
        np.add.at(fit, cluster, votes)
        reliable = (np.bincount(cluster) >= 2) | (np.bincount(cluster, weights=clear) > 0)
        names = _names(fit, reliable)
        for i, c in zip(idx, cluster):
            name = family.names[names[c]]
            if new[i] != name:
                changed[family.label] += 1
                new[i] = name
    return Renaming(new, changed)


def ceiling(audio: np.ndarray, sr: int, times: np.ndarray, components: list[str],
            families: tuple[Family, ...] = FAMILIES) -> float:
    """The share of hits at ``times`` still named ``components`` (their true names) after :func:`rename`: the best
    any classifier can score with kit-relative names. Below 1 where a kit tunes two differently named drums as
    one (closer than the family's tolerance) or breaks the family's order."""
    named = rename(audio, sr, times, components, families=families).components
    return float(np.mean([a == b for a, b in zip(named, components)]))
