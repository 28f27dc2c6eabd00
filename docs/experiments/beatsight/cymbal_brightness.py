"""How bright each training kit's hi-hats and cymbals are, next to the synthetic kits' and the test kit's: the
spectral centroid above 1 kHz (:func:`mlrun_music_beatsight.kits.kit_relative.measure`, the feature kit-relative naming
orders crashes by) of every note heard alone, median over 3 velocities per kit; for the synthetic kits
(:func:`synthkit.random_kit`, seeds 0 to ``--synthetic-kits - 1``, velocity 0.7) the 10th, 50th and 90th percentile.
Domain randomisation needs the synthetic spread to cover the real kits' (docs/experiments/beatsight.md).

    python docs/experiments/beatsight/cymbal_brightness.py [--synthetic-kits 60]
"""

from __future__ import annotations

import argparse

import numpy as np

from mlrun_music_beatsight.kits import synth, synthkit
from mlrun_music_beatsight.kits.kit_relative import measure
from mlrun_music_beatsight.config import TranscriberConfig
from mlrun_music_beatsight.kits.soundfonts import drum_kit, kit_name
from mlrun_music_beatsight.data.transcriber import kit_sources

CLASSES = ("hihat_closed", "hihat_open", "crash", "crash2", "ride", "ride_bell", "china")
SPACING = 2.0  # s between hits: each rings out alone


def kit_medians(path: str, renderer: str) -> dict[str, float]:
    """Median brightness per class of the kit at ``path`` (classes it lacks are absent)."""
    hits = [h for h in synth.one_shots(3, seed=99, kit=drum_kit(path)) if h.component in CLASSES]
    hits = [synth.Hit(0.5 + SPACING * i, h.note, h.velocity) for i, h in enumerate(hits)]
    audio = synth.render(hits, path, renderer)
    audio = audio / np.max(np.abs(audio))
    per: dict[str, list[float]] = {}
    for h in hits:
        per.setdefault(h.component, []).append(measure(audio, synth.SAMPLE_RATE, h.time, "brightness"))
    return {c: float(np.nanmedian(v)) for c, v in per.items()}


def synthetic_percentiles(kits: int, quantiles: tuple[int, ...] = (10, 50, 90)) -> dict[int, dict[str, float]]:
    """Percentiles over ``kits`` synthetic kits of each class's brightness (one hit per kit and class)."""
    per: dict[str, list[float]] = {c: [] for c in CLASSES}
    for k in range(kits):
        rng = np.random.default_rng(k)
        kit = synthkit.random_kit(rng)
        for comp in CLASSES:
            x = synthkit.hit(kit, comp, 0.7, rng)
            x = np.concatenate([np.zeros(synth.SAMPLE_RATE // 2), x, np.zeros(synth.SAMPLE_RATE)])
            per[comp].append(measure(x, synth.SAMPLE_RATE, 0.5, "brightness"))
    return {q: {c: float(np.percentile(v, q)) for c, v in per.items()} for q in quantiles}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic-kits", type=int, default=60)
    args = ap.parse_args()
    cfg = TranscriberConfig()
    print("Spectral centroid above 1 kHz (Hz), median per kit\n")
    print("| kit | " + " | ".join(CLASSES) + " |\n|" + " --- |" + " ---: |" * len(CLASSES))
    rows = {kit_name(kit.path): kit_medians(kit.path, kit.renderer) for kit in kit_sources(cfg, None)}
    test = {f"{kit_name(cfg.test_soundfont)} (test kit)": kit_medians(cfg.test_soundfont, "fluidsynth")}
    for name, values in {**rows, **test}.items():
        print(f"| {name} | " + " | ".join(f"{values[c]:.0f}" if c in values else "-" for c in CLASSES) + " |")
    for label, fn in (("training kits, median", np.median), ("training kits, min", np.min),
                      ("training kits, max", np.max)):
        cells = [[r[c] for r in rows.values() if c in r] for c in CLASSES]
        print(f"| {label} | " + " | ".join(f"{fn(v):.0f}" if v else "-" for v in cells) + " |")
    for q, values in synthetic_percentiles(args.synthetic_kits).items():
        print(f"| synthetic kits, {q}th percentile | " + " | ".join(f"{values[c]:.0f}" for c in CLASSES) + " |")


if __name__ == "__main__":
    main()
