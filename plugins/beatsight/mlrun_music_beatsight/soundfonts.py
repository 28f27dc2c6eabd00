"""Which soundfonts may be trained on: never the held-out test kit or one that carries its drum samples.
Torch- and numpy-free (the config's validation uses it)."""

from __future__ import annotations

from pathlib import Path

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
