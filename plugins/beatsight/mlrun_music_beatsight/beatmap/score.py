"""`mlrun beatsight score`: onset F-measure per class and overall (mir_eval, 50 ms window) of a beatmap against a
reference beatmap or the MIDI file it was rendered from."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError

from .bsm import hit_times_by_component, read_bsm
from ..kits.classes import COMPONENTS


def reference_times(path: str | Path) -> dict[str, list[float]]:
    """Onsets per component of a .bsm or a .mid/.midi file (channel-10 notes mapped to the 12 classes)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"REFERENCE {path} does not exist")
    if path.suffix.lower() in (".mid", ".midi"):
        from ..kits.synth import ground_truth_from_midi

        out: dict[str, list[float]] = {c: [] for c in COMPONENTS}
        for t, comp in ground_truth_from_midi(path):
            out[comp].append(t)
        return out
    return hit_times_by_component(read_bsm(path))


#: mir_eval refuses event times past this (seconds): a file with such hits is named instead.
MAX_SECONDS = 30000.0


def _within_limit(times: dict[str, list[float]], path: str | Path) -> None:
    """A one-line UserError naming ``path`` when one of its hits lies past :data:`MAX_SECONDS`."""
    late = max((t for ts in times.values() for t in ts), default=0.0)
    if late > MAX_SECONDS:
        raise UserError(f"{path}: a hit at {late:.0f} s lies past the {MAX_SECONDS:.0f} s (8 h 20 min) that onset "
                        "scoring (mir_eval) accepts")


def _clean(times: list[float], merge: float = 0.001) -> np.ndarray:
    """Sorted times with those within ``merge`` s of the previous kept one dropped: two notes of one class at the
    same instant (GM 35 and 36) are one hit; for class-agnostic onsets, hits within 30 ms are one audible onset."""
    out: list[float] = []
    for t in np.sort(np.asarray(times, dtype=np.float64)):
        if not out or t - out[-1] > merge:
            out.append(float(t))
    return np.array(out)


def _f(ref: np.ndarray, est: np.ndarray, window: float) -> tuple[float, float, float, int]:
    import mir_eval

    if len(ref) == 0 or len(est) == 0:
        return 0.0, 0.0, 0.0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f, p, r = mir_eval.onset.f_measure(ref, est, window=window)
    return float(f), float(p), float(r), int(round(p * len(est)))


def score(estimate: str | Path, reference: str | Path, window: float = 0.05) -> dict[str, Any]:
    """Per-class and overall (micro: matches summed over classes) precision, recall and F-measure."""
    est = hit_times_by_component(read_bsm(estimate))
    _within_limit(est, estimate)
    ref = reference_times(reference)
    _within_limit(ref, reference)
    rows, tp_all, n_est_all, n_ref_all = [], 0, 0, 0
    for c in COMPONENTS:
        r, e = _clean(ref[c]), _clean(est[c])
        if len(r) == 0 and len(e) == 0:
            continue
        f, p, rc, tp = _f(r, e, window)
        rows.append({"component": c, "f_measure": f, "precision": p, "recall": rc, "reference": len(r),
                     "estimated": len(e)})
        tp_all, n_est_all, n_ref_all = tp_all + tp, n_est_all + len(e), n_ref_all + len(r)
    all_ref = _clean([t for c in COMPONENTS for t in ref[c]], merge=0.03)
    all_est = _clean([t for c in COMPONENTS for t in est[c]], merge=0.03)
    onset_f = _f(all_ref, all_est, window)[0]
    precision = tp_all / n_est_all if n_est_all else 0.0
    recall = tp_all / n_ref_all if n_ref_all else 0.0
    overall = 2 * tp_all / (n_est_all + n_ref_all) if n_est_all + n_ref_all else 0.0
    return {"estimate": str(estimate), "reference": str(reference), "window_s": window,
            "overall": {"f_measure": overall, "precision": precision, "recall": recall,
                        "reference": n_ref_all, "estimated": n_est_all},
            "onset_f_measure_any_class": onset_f, "per_class": rows}
