"""Soundfonts as drum kits: which may be trained on (never the held-out test kit or one that carries its drum
samples), and how each plays drums (MIDI channel, which note sounds which component).
Torch- and numpy-free (the config's validation uses it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from .classes import GM_NOTES

#: File-name fragments of soundfonts that share their drum samples with the test kit (FluidR3Mono_GM.sf3):
#: FluidR3_GM/GS and MuseScore_General render the same drums.
SAME_AS_TEST_KIT = ("fluidr3", "musescore_general", "fluid-soundfont")


def leaks_test_kit(path: str, test_soundfont: str) -> bool:
    """Whether ``path`` is the test soundfont itself or one known to carry the same drum samples."""
    p = Path(path)
    if p.exists() and Path(test_soundfont).exists() and p.resolve() == Path(test_soundfont).resolve():
        return True
    names = {p.name.lower(), p.resolve().name.lower() if p.exists() else ""}
    return any(tag in name for tag in SAME_AS_TEST_KIT for name in names)


@attrs.frozen
class DrumKit:
    """How a soundfont plays drums: the MIDI channel (index) its kit answers on, the program to select there (None
    on the General MIDI drum channel 10) and the notes that sound each component (a component may be missing)."""

    channel: int
    program: int | None
    notes: dict[str, tuple[int, ...]]
    drums_only: bool = False  # plays no General MIDI instruments, so it cannot render accompaniment

    def remap(self, note: int) -> int | None:
        """The note of this kit that stands for General MIDI percussion ``note``: the same note when the kit has it
        with the same meaning, else the first note of the same component, else of :data:`STAND_INS`' component
        (a 5-piece kit has no high tom: a fill's high-tom notes play its mid tom), else None (not playable)."""
        comp = next((c for c, ns in GM_NOTES.items() if note in ns), None)
        if comp is None:
            return None
        for c in (comp, STAND_INS.get(comp)):
            if c and self.notes.get(c):
                return note if note in self.notes[c] else self.notes[c][0]
        return None


#: Which component plays a missing one in grooves (the hit is labelled with the component actually played).
STAND_INS = {"tom_high": "tom_mid", "china": "crash2", "crash2": "crash", "ride_bell": "ride"}

GENERAL_MIDI_KIT = DrumKit(channel=9, program=None, notes=dict(GM_NOTES))

#: Glen MacArthur's AVL Drumkits (Debian avldrums.lv2-soundfont: Black Pearl, Red Zeppelin), two real acoustic
#: 5-piece kits sampled at 5 velocity layers. Their single preset sits at bank 0 program 0 (not the GM drum bank)
#: and their key map follows GM for the shells but not for every cymbal: 48 is a swish hat, 50 a crash choke, 52 a
#: ride choke, so high tom and china are absent. Names from the plugin's MIDNAM note list. Any melodic channel plays
#: the preset; channel 16 (index 15) stays clear of the accompaniment's channels.
AVL_KIT = DrumKit(channel=15, program=0, drums_only=True, notes={
    "kick": (36,), "snare": (38, 40), "hihat_closed": (42, 44), "hihat_open": (46,), "crash": (49,), "ride": (51,),
    "tom_high": (), "tom_mid": (45, 47), "tom_low": (41, 43), "crash2": (57,), "ride_bell": (53,), "china": ()})

#: File-name fragments of the kits above.
_KITS_BY_NAME = (("black_pearl", AVL_KIT), ("red_zeppelin", AVL_KIT))


def is_hydrogen_kit(path: str) -> bool:
    """Whether ``path`` is a Hydrogen drumkit (its ``drumkit.xml`` or the folder holding one; :mod:`.hydrogen`)."""
    p = Path(path)
    return p.name == "drumkit.xml" or (p.is_dir() and (p / "drumkit.xml").is_file())


def kit_name(path: str) -> str:
    """A kit's name in reports: the soundfont's file name, or a Hydrogen kit's folder name."""
    p = Path(path)
    return (p if p.name != "drumkit.xml" else p.parent).name


def drum_kit(path: str) -> DrumKit:
    """How the soundfont or Hydrogen kit at ``path`` plays drums (General MIDI unless it is a kit we know
    otherwise; a Hydrogen kit plays the GM notes of the components it has instruments for)."""
    if is_hydrogen_kit(path):
        from .hydrogen import load

        return DrumKit(channel=9, program=None, notes=load(path).notes, drums_only=True)
    name = Path(path).name.lower()
    return next((kit for tag, kit in _KITS_BY_NAME if tag in name), GENERAL_MIDI_KIT)


def extra_renderer(soundfont: str) -> str:
    """fluidsynth for SoundFonts, timidity for a timidity patch set (.cfg, e.g. freepats), hydrogen (sample mixing)
    for a Hydrogen drumkit."""
    from mlrun_music.audio.render import is_patch_set

    if is_hydrogen_kit(soundfont):
        return "hydrogen"
    return "timidity" if is_patch_set(soundfont) else "fluidsynth"


def extra_soundfonts(config: Any, log: Any) -> list[str]:
    """The ``--extra-soundfonts`` that exist (missing ones are skipped, and said so when ``log`` is given)."""
    out = []
    for item in [e.strip() for e in config.extra_soundfonts.split(",") if e.strip()]:
        if is_hydrogen_kit(item):
            item = str(Path(item) / "drumkit.xml") if Path(item).is_dir() else item
        if not Path(item).is_file():
            if log is not None:
                log.warning("beatsight: extra training soundfont %s is not installed; skipped", item)
            continue
        out.append(item)
    return out
