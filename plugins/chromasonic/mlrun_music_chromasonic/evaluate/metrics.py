"""Quality figures for melodies, each in [0, 1], computed the same way for generated melodies and for real tunes.

The original project's definitions, with its defects fixed:
- computed on the melodies a model GENERATES (the original scored the test data, whatever the model did);
- diversity counts distinct pitches against the pitches the vocabulary holds (not a fixed 88);
- musicality's "length divisible by 4 or 8" (meaningless once notes have durations) becomes metrical regularity:
  at least 75 % of the onsets lie on the eighth-note grid;
- the overall score averages only [0, 1] quantities: accuracy, a perplexity score (1 - ln(perplexity) / ln(V),
  the share of the uniform guess's uncertainty the model removes), diversity, coherence and musicality.
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from typing import Sequence

from ..data.notation import Meter, beat_length

Event = tuple  # (pitch or None, duration in quarter lengths)


def intervals(melody: Sequence[Event]) -> list[int]:
    """Semitone steps between consecutive pitched notes (rests are skipped)."""
    pitches = [p for p, _ in melody if p is not None]
    return [b - a for a, b in zip(pitches, pitches[1:])]


def diversity(melodies: Sequence[Sequence[Event]], vocab_pitches: int) -> float:
    """Mean of: distinct melodies / melodies, distinct pitches / pitches in the vocabulary,
    min(1, distinct intervals / 20)."""
    if not melodies:
        return 0.0
    unique_seq = len({tuple(m) for m in melodies}) / len(melodies)
    pitches = {p for m in melodies for p, _ in m if p is not None}
    unique_pitch = min(1.0, len(pitches) / max(1, vocab_pitches))
    steps = {s for m in melodies for s in intervals(m)}
    return (unique_seq + unique_pitch + min(1.0, len(steps) / 20)) / 3


def coherence_of(melody: Sequence[Event]) -> float:
    """0.5 * share of steps within 2 semitones + 0.3 * (1 - share of leaps over 5) + 0.2 * direction variety
    (entropy of up / down / repeat, divided by its maximum ln 3)."""
    steps = intervals(melody)
    if not steps:
        return 0.0
    n = len(steps)
    small = sum(1 for s in steps if abs(s) <= 2) / n
    leaps = sum(1 for s in steps if abs(s) > 5) / n
    dirs = Counter((s > 0) - (s < 0) for s in steps)
    entropy = -sum((c / n) * math.log(c / n) for c in dirs.values())
    return 0.5 * small + 0.3 * (1 - leaps) + 0.2 * (entropy / math.log(3))


def musicality_of(melody: Sequence[Event]) -> float:
    """0.2 for each of: >= 75 % of onsets on the eighth-note grid; first and second half mean pitches differ by
    more than 2 semitones; the most frequent pitch holds 20-40 % of the notes; the range spans 7-14 semitones;
    the last note is within 3 semitones of the first."""
    pitches = [p for p, _ in melody if p is not None]
    if len(pitches) < 2:
        return 0.0
    score = 0.0
    onset, on_grid = 0.0, 0
    for _, d in melody:
        on_grid += abs(onset * 2 - round(onset * 2)) < 1e-6
        onset += d
    score += 0.2 * (on_grid / len(melody) >= 0.75)
    half = len(pitches) // 2
    first, second = pitches[:half] or pitches, pitches[half:]
    score += 0.2 * (abs(sum(first) / len(first) - sum(second) / len(second)) > 2)
    top = Counter(pitches).most_common(1)[0][1] / len(pitches)
    score += 0.2 * (0.2 <= top <= 0.4)
    score += 0.2 * (7 <= max(pitches) - min(pitches) <= 14)
    score += 0.2 * (abs(pitches[-1] - pitches[0]) <= 3)
    return score


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def melody_metrics(melodies: Sequence[Sequence[Event]], vocab_pitches: int) -> dict[str, float]:
    """diversity, coherence and musicality of a set of melodies."""
    return {"diversity": diversity(melodies, vocab_pitches),
            "coherence": mean([coherence_of(m) for m in melodies]),
            "musicality": mean([musicality_of(m) for m in melodies])}


def perplexity_score(perplexity: float, vocab_size: int) -> float:
    """1 - ln(perplexity) / ln(V): 1 for a certain model, 0 for a uniform guess (clipped to [0, 1])."""
    if not math.isfinite(perplexity) or vocab_size < 2:
        return 0.0
    return min(1.0, max(0.0, 1 - math.log(max(perplexity, 1.0)) / math.log(vocab_size)))


def overall(accuracy: float, ppl_score: float, div: float, coh: float, mus: float) -> float:
    """Mean of five [0, 1] quantities (higher is better)."""
    return (accuracy + ppl_score + div + coh + mus) / 5


# ---------------------------------------------------------------------------------------------------------------
# Metrical figures: how a melody sits in its tune's metre. Positions are in quarter lengths from the tune's first
# note; ``phase`` is where the first bar line falls (a pickup's length, 0 without one).

def metrical_counts(notes: Sequence[Event], start: Fraction, meter: Meter, phase: Fraction) -> Counter:
    """Counts for one continuation: ``notes`` begin at position ``start`` of a tune in ``meter``."""
    c: Counter = Counter()
    beat = beat_length(meter)
    t = Fraction(start)
    onsets = set()
    for pitch, d in notes:
        d = Fraction(d).limit_denominator(48)
        pos = (t - phase) % meter.bar
        onsets.add(t)
        c["onsets"] += 1
        c["on_eighth"] += pos % Fraction(1, 2) == 0
        c["on_sixteenth"] += pos % Fraction(1, 4) == 0
        if pitch is not None:
            c["notes"] += 1
            next_beat = (pos // beat + 1) * beat
            c["syncopated"] += pos % beat != 0 and pos + d > next_beat
        t += d
    first = phase + ((Fraction(start) - phase) // meter.bar + 1) * meter.bar
    line = first
    while line < t:
        c["bar_lines"] += 1
        c["bar_lines_on_onsets"] += line in onsets
        line += meter.bar
    return c


def metrical_metrics(pieces: Sequence[tuple[Sequence[Event], Fraction, Meter, Fraction]]) -> dict[str, float]:
    """Over ``(notes, start, meter, phase)`` continuations: the share of onsets on the metre's eighth grid and
    sixteenth grid, bar completeness (the share of bar lines no note crosses, so every bar's notes sum to the
    metre) and the syncopation rate (notes starting off a beat that last past the next beat)."""
    c: Counter = Counter()
    for notes, start, meter, phase in pieces:
        c.update(metrical_counts(notes, start, meter, phase))
    return {"on_eighth_grid": c["on_eighth"] / c["onsets"] if c["onsets"] else 0.0,
            "on_sixteenth_grid": c["on_sixteenth"] / c["onsets"] if c["onsets"] else 0.0,
            "bar_completeness": c["bar_lines_on_onsets"] / c["bar_lines"] if c["bar_lines"] else 0.0,
            "syncopation": c["syncopated"] / c["notes"] if c["notes"] else 0.0}


# ---------------------------------------------------------------------------------------------------------------
# Per-piece features (mlrun_music.symbolic_features, Yang & Lerch 2020) and the overlap of their distributions.
# The features that describe a monophonic tune: polyphony is 1 for every melody and tempo is not generated (every
# piece is written at the same tempo), so both would compare constants and are left out.

MELODY_FEATURES = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate",
                   "pitch_range", "note_density")
TICKS_PER_QUARTER = 480  # divisible by 12, so every duration of the vocabulary (twelfths of a quarter) is whole


def melody_features(notes: Sequence[Event], meter: Meter) -> dict[str, float] | None:
    """The features of one melody (``MELODY_FEATURES``; None without a pitched note): its events laid end to end
    from time 0 at 120 bpm (note density is then notes per half second of the written melody), bars of ``meter``
    counted from its first event (groove consistency compares consecutive bar-long spans; real and generated
    continuations start at the same positions, so they are counted alike)."""
    import numpy as np

    from mlrun_music.symbolic_features import STEPS_PER_QUARTER, features

    rows, t = [], Fraction(0)
    for pitch, d in notes:
        d = Fraction(d).limit_denominator(48)
        if pitch is not None:
            rows.append((round(t * TICKS_PER_QUARTER), round((t + d) * TICKS_PER_QUARTER), int(pitch)))
        t += d
    bar_steps = max(1, round(meter.bar * STEPS_PER_QUARTER))
    found = features(np.array(rows, dtype=np.int64).reshape(-1, 3), [(0, 500000)], [(0, bar_steps)],
                     TICKS_PER_QUARTER)
    return None if found is None else {k: found[k] for k in MELODY_FEATURES}


def feature_overlap(real: Sequence[dict[str, float]], generated: Sequence[dict[str, float]]) -> dict:
    """Per feature the overlapping area of the real and generated pieces' KDEs, their mean, and each side's mean
    value; ``{"skipped": why}`` with fewer than 2 pieces with notes on either side."""
    from mlrun_music.symbolic_features import overlap_table

    if len(real) < 2 or len(generated) < 2:
        return {"features": list(MELODY_FEATURES),
                "skipped": f"needs 2 or more pieces with notes on each side, got {len(real)} real and "
                           f"{len(generated)} generated"}
    return {"features": list(MELODY_FEATURES), **overlap_table(real, generated, MELODY_FEATURES)}
