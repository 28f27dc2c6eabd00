"""The best one-shot accuracy kit-relative naming allows on each kit, at several tom tolerances
(:func:`kit_relative.ceiling` of the one-shot test set: each hit named by its true component, a perfect
classifier, then toms and crashes renamed by their order, as the evaluation does). Below 1.0, the kit tunes drums of two different names
closer than the tolerance, and no classifier's scores can separate them again. Also each tom note's measured pitch
(median over its hits).

    python benchmarks/beatsight/one_shot_ceiling.py [--tolerances 0.04,0.06,0.08]
"""

from __future__ import annotations

import argparse

import attrs
import numpy as np

from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.kit_relative import FAMILIES, ceiling, measure
from mlrun_music_beatsight.config import TranscriberConfig
from mlrun_music_beatsight.kits.soundfonts import kit_name
from mlrun_music_beatsight.data.transcriber import kit_sources
from mlrun_music_beatsight.evaluate.transcriber import one_shot_set

TOMS = FAMILIES[0]


def ceilings(path: str, renderer: str, tolerances: list[float]) -> tuple[list[float], str]:
    """:func:`ceiling` per tom tolerance, and the toms' pitch per note ("43: 85")."""
    hits, audio = one_shot_set(path, renderer)
    times, truth = np.array([h.time for h in hits]), [h.component for h in hits]
    out = [ceiling(audio, synth.SAMPLE_RATE, times, truth, (attrs.evolve(TOMS, tolerance=tol), *FAMILIES[1:]))
           for tol in tolerances]
    pitch: dict[int, list[float]] = {}
    for h in hits:
        if h.component in TOMS.names:
            pitch.setdefault(h.note, []).append(measure(audio, synth.SAMPLE_RATE, h.time, "pitch"))
    return out, ", ".join(f"{n}: {np.median(v):.0f}" for n, v in sorted(pitch.items())) or "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tolerances", default="0.04,0.06,0.08")
    args = ap.parse_args()
    tolerances = [float(t) for t in args.tolerances.split(",")]
    cfg = TranscriberConfig()
    print(f"One-shots named right by a perfect classifier after kit-relative naming (default tom tolerance "
          f"{TOMS.tolerance:g})\n")
    print("| kit | " + " | ".join(f"toms {t:g}" for t in tolerances) + " | tom pitch per note (Hz) |\n|"
          + " --- |" + " ---: |" * len(tolerances) + " --- |")
    kits = [(kit_name(k.path), k.path, k.renderer) for k in kit_sources(cfg, None)]
    kits.append((f"{kit_name(cfg.test_soundfont)} (test kit)", cfg.test_soundfont, "fluidsynth"))
    for name, path, renderer in kits:
        acc, pitch = ceilings(path, renderer, tolerances)
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in acc) + f" | {pitch} |")


if __name__ == "__main__":
    main()
