"""Kit-relative names for the components that are positions on a kit rather than sounds: the three toms are named
by their pitch order within the song, the two crashes by their brightness order (crash2 the brighter in every kit
measured, `benchmarks/beatsight/kit_order.py`). A single hit cannot tell a low-tuned high tom from a high-tuned low
tom; a song that plays several toms can. Torch-free.

The classifier still names each hit; this step only regroups a family's hits by the drum they come from (hits of
near-equal pitch or brightness are one drum) and, when the song plays several drums of the family, gives them names
in the family's order -- the names that agree best with the classifier's scores.
"""

from __future__ import annotations

import attrs
import numpy as np

from .classes import COMPONENTS


@attrs.frozen
class Family:
    """Components named by the order of a measured feature, lowest first."""

    names: tuple[str, ...]
    feature: str  # "pitch" (Hz of the lowest strong peak, 40-400 Hz) or "brightness" (centroid above 1 kHz)
    tolerance: float  # relative difference below which two hits are the same drum


FAMILIES: tuple[Family, ...] = (
    Family(("tom_low", "tom_mid", "tom_high"), "pitch", 0.06),
    Family(("crash", "crash2"), "brightness", 0.05),
)


def _spectra(audio: np.ndarray, sr: int, time: float, seconds: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Power spectrum of ``seconds`` after ``time`` minus that of as long before it (what the hit added), and its
    frequencies; None when the hit adds nothing."""
    n = int(seconds * sr)
    s = int(round(time * sr))
    after = audio[s:s + n]
    if len(after) < n // 2:
        return None
    before = audio[max(0, s - n):s]
    size = 1 << int(np.ceil(np.log2(4 * n)))
    power = np.abs(np.fft.rfft(after * np.hanning(len(after)), size)) ** 2
    if len(before):
        power = power - np.abs(np.fft.rfft(before * np.hanning(len(before)), size)) ** 2 * len(after) / len(before)
    power = np.maximum(power, 0.0)
    return (power, np.fft.rfftfreq(size, 1 / sr)) if power.sum() > 0 else None


def measure(audio: np.ndarray, sr: int, time: float, feature: str) -> float:
    """The ``feature`` of the hit at ``time`` in Hz, or NaN when it cannot be measured."""
    if feature == "pitch":
        got = _spectra(audio, sr, time, 0.15)
        if got is None:
            return float("nan")
        power, freqs = got
        band = (freqs >= 40) & (freqs <= 400)
        mag = np.sqrt(power[band])
        if mag.max() <= 0:
            return float("nan")
        # The lowest local maximum at half the strongest or more: the fundamental, not a louder overtone.
        strong = (mag >= 0.5 * mag.max()) & (mag >= np.roll(mag, 1)) & (mag >= np.roll(mag, -1))
        return float(freqs[band][np.argmax(strong)])
    got = _spectra(audio, sr, time, 0.2)
    if got is None:
        return float("nan")
    power, freqs = got
    # Above 1 kHz only: a kick under the crash (the usual accent) would pull a full-band centroid down by half.
    band = freqs >= 1000.0
    total = power[band].sum()
    return float((power[band] * freqs[band]).sum() / total) if total > 0 else float("nan")


def _clusters(values: np.ndarray, tolerance: float) -> np.ndarray:
    """Cluster index (0 = lowest) of each value: sorted values split where neighbours differ by more than
    ``tolerance`` (relative)."""
    order = np.argsort(values)
    gaps = np.diff(np.log(values[order])) > np.log1p(tolerance)
    ids = np.empty(len(values), np.int64)
    ids[order] = np.concatenate([[0], np.cumsum(gaps)])
    return ids


def _ordered_names(fit: np.ndarray) -> list[int]:
    """For ``fit[cluster, name]`` (clusters and names both in ascending order), the name of each cluster that
    maximises the total fit with names never decreasing from one cluster to the next, every name used when there
    are at least as many clusters as names, and no two clusters sharing a name when there are fewer."""
    k, m = fit.shape
    strict = k <= m
    neg = -np.inf
    # best[i, j]: best total of clusters 0..i with cluster i named j (and, if not strict, names 0..j all used).
    best = np.full((k, m), neg)
    back = np.zeros((k, m), np.int64)
    best[0] = fit[0] if strict else np.where(np.arange(m) == 0, fit[0], neg)
    for i in range(1, k):
        for j in range(m):
            prev = best[i - 1, :j] if strict else best[i - 1, max(0, j - 1):j + 1]
            if len(prev) == 0 or np.all(prev == neg):
                continue
            p = int(np.argmax(prev)) + (0 if strict else max(0, j - 1))
            best[i, j] = best[i - 1, p] + fit[i, j]
            back[i, j] = p
    j = int(np.argmax(best[-1])) if strict else m - 1
    names = [j]
    for i in range(k - 1, 0, -1):
        j = int(back[i, j])
        names.append(j)
    return names[::-1]


def _names(fit: np.ndarray, support: np.ndarray) -> list[int]:
    """:func:`_ordered_names` over the clusters of two hits or more (a lone hit may be mismeasured: a quiet hit under
    the previous drum's tail); each lone hit then gets the name it fits best between its supported neighbours'."""
    supported = support >= 2
    if not supported.any():
        supported[:] = True
    idx = np.flatnonzero(supported)
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
           scores: np.ndarray | None = None) -> Renaming:
    """Kit-relative components for hits at ``times`` named ``components``. ``scores[i]`` are the classifier's
    per-class scores of hit ``i`` (probabilities or activations, in :data:`COMPONENTS` order); without them each
    hit's own name is its only vote."""
    new = list(components)
    changed = {}
    for family in FAMILIES:
        idx = [i for i, c in enumerate(components) if c in family.names]
        values = np.array([measure(audio, sr, float(times[i]), family.feature) for i in idx])
        keep = np.isfinite(values) & (values > 0)
        idx = [i for i, ok in zip(idx, keep) if ok]
        values = values[keep]
        changed[family.names[0].split("_")[0]] = 0
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
        names = _names(fit, np.bincount(cluster))
        for i, c in zip(idx, cluster):
            name = family.names[names[c]]
            if new[i] != name:
                changed[family.names[0].split("_")[0]] += 1
                new[i] = name
    return Renaming(new, changed)
