"""Musical keys for `mlrun emopia generate --key` and for emotion steering (torch-free: the CLI checks --key first).

A key is a tonic pitch class and a mode. Its scale is what generation allows: the seven notes of the major scale or
of the harmonic minor scale (the raised seventh, not the natural one, so that a minor key cannot be heard as its
relative major). Its MIDI key signature is
the number of sharps (positive) or flats (negative) of the spelling given, an enharmonic spelling beyond seven
sharps or flats being replaced by the usual one (D# major -> Eb major).
"""

from __future__ import annotations

import re

import attrs

from mlrun_music.errors import UserError

LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
LETTER_FIFTHS = {"F": -1, "C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5}
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11)  # harmonic minor
_SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_PATTERN = re.compile(r"^([A-Ga-g])\s*(#|b|sharp|flat|♯|♭)?\s*(m|min|minor|maj|major|M)?$")

KEY_HELP = ("Write the piece in this key: a tonic A-G with an optional # or b, then an optional m/minor/major "
            "(C, F#m, Bb major, c minor); generated pitches are constrained to its scale (major, or harmonic "
            "minor) and the key signature is written into the MIDI file.")


@attrs.frozen
class Key:
    tonic: int  # pitch class 0..11
    minor: bool
    fifths: int  # key signature: sharps > 0, flats < 0

    @property
    def name(self) -> str:
        names = _FLAT_NAMES if self.fifths < 0 else _SHARP_NAMES
        return f"{names[self.tonic]} {'minor' if self.minor else 'major'}"

    @property
    def scale(self) -> frozenset[int]:
        return frozenset((self.tonic + s) % 12 for s in (MINOR_STEPS if self.minor else MAJOR_STEPS))

    @property
    def anchors(self) -> frozenset[int]:
        """Tonic and fifth: the pitch classes steering favours (the third follows from the scale)."""
        return frozenset((self.tonic + s) % 12 for s in (0, 7))


def make_key(tonic: int, minor: bool) -> Key:
    """A key from a pitch class, spelled with the fewest sharps or flats."""
    fifths = (tonic * 7 + (-3 if minor else 0)) % 12  # circle-of-fifths position of the key signature
    if fifths > 6:
        fifths -= 12
    return Key(tonic % 12, minor, fifths)


def parse_key(text: str) -> Key:
    """``C``, ``F#m``, ``Bb major``, ``c minor``, ``Ebm``... A one-line UserError for anything else."""
    m = _PATTERN.match(text.strip()) if text else None
    if m is None:
        raise UserError(f"--key: unknown key '{text}'; give a tonic A-G with an optional # or b and an optional "
                        f"m/minor/major, e.g. C, F#m, Bb major")
    letter, accidental, mode = m.group(1).upper(), m.group(2) or "", m.group(3) or ""
    shift = 1 if accidental in ("#", "sharp", "♯") else -1 if accidental in ("b", "flat", "♭") else 0
    minor = mode in ("m", "min", "minor")
    tonic = (LETTER_PC[letter] + shift) % 12
    fifths = LETTER_FIFTHS[letter] + 7 * shift - (3 if minor else 0)
    if abs(fifths) > 7:
        return make_key(tonic, minor)
    return Key(tonic, minor, fifths)
