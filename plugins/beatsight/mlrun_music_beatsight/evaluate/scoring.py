"""Scoring transcribed hits against reference hits at the three strictnesses of the song tables (class-aware,
family, class-agnostic), and the mix levels those tables are measured at."""

from __future__ import annotations

import numpy as np

from ..kits.classes import FAMILY
from ..models.transcriber import match_counts, times_by_class

#: Mix levels of the per-level figures: accompaniment relative to the drums' RMS in dB (None: drums only).
MIX_LEVELS: dict[str, float | None] = {"drums_only": None, "accompaniment_-6dB": -6.0, "accompaniment_0dB": 0.0,
                                       "accompaniment_+6dB": 6.0}


def _merged(times: list[float], within: float) -> np.ndarray:
    """Sorted ``times`` with each one within ``within`` s of the last kept one dropped (one audible onset)."""
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > within:
            out.append(t)
    return np.array(out, float)


def level_counts(found: list[tuple[float, str]], reference: list[tuple[float, str]]
                 ) -> dict[str, np.ndarray]:
    """(matched, estimated, reference) counts of one song at three strictnesses: ``class_aware`` (the hit's own
    class, summed over classes), ``family`` (kick, snare, hi-hat, tom, cymbal, ride: :data:`..kits.classes.FAMILY`)
    and ``class_agnostic`` (any class). Hits of one family or of any class within 30 ms are one onset."""
    out = {"class_aware": np.array([x.sum() for x in match_counts(times_by_class(found), times_by_class(reference))])}
    families = sorted(set(FAMILY.values()))

    def by_family(events: list[tuple[float, str]]) -> list[np.ndarray]:
        return [_merged([t for t, c in events if FAMILY[c] == f], 0.03) for f in families]

    out["family"] = np.array([x.sum() for x in match_counts(by_family(found), by_family(reference))])
    agnostic = match_counts([_merged([t for t, _ in found], 0.03)], [_merged([t for t, _ in reference], 0.03)])
    out["class_agnostic"] = np.array([x.sum() for x in agnostic])
    return out


def f_measure(counts: np.ndarray) -> float:
    """F of (matched, estimated, reference) counts; 0 when both are empty."""
    tp, ne, nr = (int(x) for x in counts)
    return 2 * tp / (ne + nr) if ne + nr else 0.0
