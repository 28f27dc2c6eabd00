"""Hydrogen drumkits (a folder of samples and a ``drumkit.xml``, e.g. Debian's hydrogen-drumkits) as training kits:
which instrument plays which component, and rendering hits by mixing the samples of the velocity layer they hit.

Instrument names are free text, so components are found by keyword (:func:`component_of`); instruments that match
no component (cowbell, clap, rolls, chokes, unnamed slots) are not used. Where a kit has two crashes, the brighter one
is ``crash2`` (as in every General MIDI soundfont; ``docs/experiments/beatsight/kit_order.py``)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import attrs
import numpy as np

from mlrun_music.errors import UserError

from .classes import COMPONENTS, GM_NOTES

KIT_FILE = "drumkit.xml"

#: (component, pattern) in the order they are tried on a lower-cased instrument name; first match wins.
_RULES: tuple[tuple[str | None, str], ...] = (
    (None, r"roll|choke|flink|swish|mute|stick|rim ?click|clap|cowbell|splash|tamb|agogo|semi|hat free|side o?hh|zap|\bfx\b"),
    ("ride_bell", r"ride.*(bell|cup)|(bell|cup).*ride|paiste bell"),
    ("china", r"china"),
    (None, r"crash.*ride|ride.*crash"),  # crash/ride cymbals: neither class
    ("ride", r"ride"),
    ("crash", r"crash"),
    ("hihat_open", r"(hat|hh|hi-hat).*(open|\bop\b)|open ?(hh|hat)"),
    ("hihat_closed", r"(hat|hh|hi-hat).*(clos|\bcl\b|pedal|\bpd\b)|(closed|pedal) ?(hh|hat)"),
    ("kick", r"kick|bass ?drum"),
    ("snare", r"snare"),
    ("tom_low", r"floor|tom ?lo(w)?\b|low tom"),
    ("tom_mid", r"tom ?mid|mid(dle)? tom"),
    ("tom_high", r"tom ?hi(gh)?\b|high tom"),
    ("tom_mid", r"^\W*tom\W*$"),  # a kit's only rack tom, as in the AVL kits (5-piece kits have no high tom)
)


def component_of(name: str) -> str | None:
    """The component a Hydrogen instrument's name stands for, or None."""
    low = name.lower()
    for component, pattern in _RULES:
        if re.search(pattern, low):
            return component
    return None


@attrs.frozen
class Layer:
    """One sample of an instrument, played for velocities (0-1) in ``[low, high]``."""

    path: Path
    low: float
    high: float
    gain: float


@attrs.frozen
class Instrument:
    name: str
    component: str
    gain: float
    layers: tuple[Layer, ...]

    def layer(self, velocity: float) -> Layer:
        """The layer for ``velocity`` (0-1): the one whose range holds it, else the nearest."""
        return min(self.layers, key=lambda la: 0.0 if la.low <= velocity <= la.high
                   else min(abs(velocity - la.low), abs(velocity - la.high)))


def kit_file(path: str | Path) -> Path:
    """The ``drumkit.xml`` of a kit given as the file or its folder."""
    p = Path(path)
    return p if p.name == KIT_FILE else p / KIT_FILE


def _float(node: ET.Element, tag: str, default: float) -> float:
    try:
        return float(node.findtext(tag, default=str(default)))
    except ValueError:
        return default


def _parse(path: Path) -> list[tuple[str, float, list[Layer]]]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        root = ET.fromstring(re.sub(r'\sxmlns="[^"]*"', "", text, count=1))
    except OSError as exc:
        raise UserError(f"hydrogen kit {path}: cannot read it ({exc.strerror})") from None
    except ET.ParseError as exc:
        raise UserError(f"hydrogen kit {path}: not valid XML ({exc})") from None
    out = []
    for ins in root.iter("instrument"):
        name = (ins.findtext("name") or "").strip()
        nodes = list(ins.iter("layer"))
        layers = [Layer(path.parent / fn, _float(n, "min", 0.0), _float(n, "max", 1.0), _float(n, "gain", 1.0))
                  for n in nodes if (fn := (n.findtext("filename") or "").strip())]
        if not nodes and (fn := (ins.findtext("filename") or "").strip()):  # old kits: one sample, no layers
            layers = [Layer(path.parent / fn, 0.0, 1.0, 1.0)]
        layers = [la for la in layers if la.path.is_file()]
        if name and layers:
            out.append((name, _float(ins, "volume", 1.0) * _float(ins, "gain", 1.0), layers))
    return out


@lru_cache(maxsize=64)
def _sample(path: Path, sample_rate: int) -> np.ndarray:
    import soundfile as sf

    from mlrun_music.audio.io import resample

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise UserError(f"hydrogen kit sample {path}: cannot read it ({exc})") from None
    return resample(data.mean(axis=1), rate, sample_rate)


def _brightness(inst: Instrument, sample_rate: int) -> float:
    from .kit_relative import measure

    x = _sample(inst.layer(0.8).path, sample_rate)
    audio = np.concatenate([np.zeros(sample_rate // 10, np.float32), x, np.zeros(sample_rate, np.float32)])
    value = measure(audio, sample_rate, 0.1, "brightness")
    return 0.0 if np.isnan(value) else value


@attrs.frozen
class HydrogenKit:
    """A Hydrogen drumkit's instruments by General MIDI note: each component's GM notes go to its instruments in
    turn (one snare plays 38 and 40; two play one each)."""

    path: Path
    by_note: dict[int, Instrument]

    @property
    def notes(self) -> dict[str, tuple[int, ...]]:
        """The GM notes this kit can play, per component (empty where it has no instrument)."""
        return {c: tuple(n for n in GM_NOTES[c] if n in self.by_note) for c in COMPONENTS}

    def render(self, hits: Sequence, sample_rate: int, tail: float = 1.5) -> np.ndarray:
        """``hits`` (``time``, ``note``, ``velocity`` 1-127) as mono float32 audio: each hit's layer sample, scaled
        by velocity and the instrument's and layer's gains."""
        end = max((h.time for h in hits), default=0.0) + tail
        out = np.zeros(int(end * sample_rate) + 1, np.float32)
        for h in hits:
            inst = self.by_note[h.note]
            v = h.velocity / 127
            layer = inst.layer(v)
            x = _sample(layer.path, sample_rate) * (v * layer.gain * inst.gain)
            s = int(round(h.time * sample_rate))
            n = min(len(x), len(out) - s)
            out[s:s + n] += x[:n]
        return out


@lru_cache(maxsize=32)
def load(path: str | Path, sample_rate: int = 44100) -> HydrogenKit:
    """The kit at ``path`` (its folder or ``drumkit.xml``); a UserError naming it when it plays no component."""
    file = kit_file(path)
    if not file.is_file():
        raise UserError(f"hydrogen kit {path}: no {KIT_FILE} there")
    found: dict[str, list[Instrument]] = {c: [] for c in COMPONENTS}
    sounds: set[tuple[Path, ...]] = set()
    for name, gain, layers in _parse(file):
        comp = component_of(name)
        sound = tuple(sorted(la.path.resolve() for la in layers))
        # One sound under two names (Millo_MultiLayered2's "Tom Mid" and "Tom Hi" play the same samples, as do its
        # two crashes) keeps the first: labelled both ways it would teach the model a contradiction. The other
        # name's hits are then played by its stand-in (soundfonts.STAND_INS) and labelled as played.
        if comp and sound not in sounds:
            sounds.add(sound)
            found[comp].append(Instrument(name, comp, gain, tuple(layers)))
    crashes = sorted(found["crash"] + found["crash2"], key=lambda i: _brightness(i, sample_rate))
    if len(crashes) >= 2:
        found["crash"], found["crash2"] = crashes[:1], [attrs.evolve(crashes[-1], component="crash2")]
    if not any(found.values()):
        raise UserError(f"hydrogen kit {file}: no instrument is named like a drum this task knows")
    by_note = {}
    for comp, instruments in found.items():
        for i, note in enumerate(GM_NOTES[comp]):
            if instruments:
                by_note[note] = instruments[i % len(instruments)]
    return HydrogenKit(file, by_note)
