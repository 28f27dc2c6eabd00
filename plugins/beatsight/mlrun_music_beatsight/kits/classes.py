"""The 12 drum components, in the reference order, and their General MIDI percussion notes. Torch-free."""

from __future__ import annotations

from mlrun_music.errors import UserError

#: The classifier's classes; the index is the model's output index.
COMPONENTS: tuple[str, ...] = (
    "kick", "snare", "hihat_closed", "hihat_open", "crash", "ride",
    "tom_high", "tom_mid", "tom_low", "crash2", "ride_bell", "china",
)

#: General MIDI percussion notes (channel 10) that sound each component.
GM_NOTES: dict[str, tuple[int, ...]] = {
    "kick": (35, 36), "snare": (38, 40), "hihat_closed": (42, 44), "hihat_open": (46,), "crash": (49,),
    "ride": (51,), "tom_high": (48, 50), "tom_mid": (45, 47), "tom_low": (41, 43), "crash2": (57,),
    "ride_bell": (53,), "china": (52,),
}

#: Indices of the cymbal-like components (hi-hats, cymbals): a hand on one of them often plays together with a
#: kick, snare or tom, so a second class at one onset is looked for in the other group.
METALS: frozenset[int] = frozenset(COMPONENTS.index(c) for c in (
    "hihat_closed", "hihat_open", "crash", "ride", "crash2", "ride_bell", "china"))

#: The family of each component: what a hit is regardless of which drum or cymbal of its kind played it.
FAMILY: dict[str, str] = {
    "kick": "kick", "snare": "snare", "hihat_closed": "hihat", "hihat_open": "hihat", "crash": "cymbal",
    "crash2": "cymbal", "china": "cymbal", "ride": "ride", "ride_bell": "ride", "tom_high": "tom", "tom_mid": "tom",
    "tom_low": "tom",
}

#: GM note -> component, for scoring against MIDI references.
NOTE_TO_COMPONENT: dict[int, str] = {n: c for c, notes in GM_NOTES.items() for n in notes}

#: Lanes of the beatmap editor, one per component.
LANES: dict[str, int] = {c: i for i, c in enumerate(COMPONENTS)}


def component_index(name: str, where: str = "component") -> int:
    """Index of ``name`` among :data:`COMPONENTS`, or a UserError listing the valid names."""
    if not isinstance(name, str) or name not in COMPONENTS:
        raise UserError(f"{where}: unknown component {name!r}; valid components: {', '.join(COMPONENTS)}")
    return COMPONENTS.index(name)
