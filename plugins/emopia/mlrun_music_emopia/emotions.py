"""Emotion vocabulary: Russell's four quadrants (what EMOPIA labels) and the names that select them.

Torch-free: used by the CLI to check ``--emotion`` before anything heavy is imported.
"""

from __future__ import annotations

from typing import Iterable

from mlrun_music.errors import UserError

#: Quadrant number -> (readable name, one-line description). Model class index = quadrant - 1.
QUADRANTS: dict[int, tuple[str, str]] = {
    1: ("happy", "high valence, high arousal"),
    2: ("tense", "low valence, high arousal"),
    3: ("sad", "low valence, low arousal"),
    4: ("calm", "high valence, low arousal"),
}

#: Every accepted name -> quadrant. Of six basic emotion names, four map as in the original project
#: (joy->Q1, anger->Q2, sadness->Q3, calm->Q4); surprise and fear are known names without data (None).
ALIASES: dict[str, int | None] = {
    "q1": 1, "1": 1, "happy": 1, "joy": 1, "excited": 1,
    "q2": 2, "2": 2, "tense": 2, "anger": 2, "angry": 2,
    "q3": 3, "3": 3, "sad": 3, "sadness": 3,
    "q4": 4, "4": 4, "calm": 4, "relaxed": 4,
    "surprise": None, "fear": None,
}


def quadrant_label(q: int) -> str:
    """``Q1 (happy)``."""
    return f"Q{q} ({QUADRANTS[q][0]})"


def describe_trained(trained: Iterable[int]) -> str:
    """A readable list of trained quadrants with the names that select them."""
    parts = []
    for q in sorted(trained):
        names = [n for n, v in ALIASES.items() if v == q and not n.isdigit() and not n.startswith("q")]
        parts.append(f"Q{q} ({', '.join(names)})")
    return "; ".join(parts)


def parse_emotion(name: str, trained: Iterable[int] = (1, 2, 3, 4)) -> int:
    """The quadrant (1..4) for an emotion name; a UserError names the trained emotions otherwise."""
    trained = sorted(set(trained))
    key = name.strip().lower()
    if key not in ALIASES:
        raise UserError(f"--emotion: unknown emotion '{name}'; trained emotions: {describe_trained(trained)}")
    q = ALIASES[key]
    if q is None:
        raise UserError(f"--emotion: '{name}' has no training data (EMOPIA labels only the four quadrants); "
                        f"trained emotions: {describe_trained(trained)}")
    if q not in trained:
        raise UserError(f"--emotion: '{name}' ({quadrant_label(q)}) was not in this model's training data; "
                        f"trained emotions: {describe_trained(trained)}")
    return q
