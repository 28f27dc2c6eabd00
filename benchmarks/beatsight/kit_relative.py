"""Kit-relative names against each hit's own name, for a beatsight-transcriber checkpoint: onset F overall and for
toms and crashes on groove songs of several kits, and the per-hit accuracy of the one-shots (played in one file, and
each alone: `mlrun evaluate beatsight-transcriber`'s one-shot check; 8 per note of every component the kit has, 144
on a General MIDI kit) on each kit but the synthetic ones.

    python benchmarks/beatsight/kit_relative.py CKPT [--songs 20] [--kits test,TimGM6mb.sf2,synthetic,...]

Kits: ``test`` is the held-out kit with the benchmark's songs (`grooves.test_song`, seeds 5000 on); any other is a
training kit's file name (or ``synthetic``), with groove songs from the training generator at seeds 8000 on (never
trained on) and accompaniment by the same kit, or by ``--soundfont`` when the kit plays drums only (AVL kits).
"""

from __future__ import annotations

import argparse

import numpy as np

from mlrun_music.api import load_model
from mlrun_music_beatsight.kits.classes import COMPONENTS
from mlrun_music_beatsight.data.grooves import KitSource, test_song, training_audio
from mlrun_music_beatsight.transcribe.pipeline import transcribe_frames
from mlrun_music_beatsight.models.transcriber import match_counts, times_by_class
from mlrun_music_beatsight.kits.soundfonts import kit_name
from mlrun_music_beatsight.data.transcriber import band_sources, kit_sources
from mlrun_music_beatsight.evaluate.transcriber import FIRST_SEED, one_shot_accuracy

GROUPS = {"toms": ("tom_low", "tom_mid", "tom_high"), "crashes": ("crash", "crash2")}


def kit_source(name: str, cfg) -> KitSource:
    """``test``, ``synthetic`` or a training kit (:func:`kit_sources`) by file name."""
    if name == "test":
        return KitSource(cfg.test_soundfont, "fluidsynth")
    if name == "synthetic":
        return KitSource(None)
    found = [k for k in kit_sources(cfg, None) if kit_name(k.path) == name]
    if not found:
        raise SystemExit(f"--kits: {name} is not an installed training kit of this checkpoint")
    return found[0]


def f_of(counts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], names: tuple[str, ...] | None = None) -> str:
    tp, ne, nr = (np.sum([c[i] for c in counts], axis=0) for i in range(3))
    sel = [COMPONENTS.index(n) for n in names] if names else list(range(len(COMPONENTS)))
    return f"{2 * tp[sel].sum() / max(ne[sel].sum() + nr[sel].sum(), 1):.3f} ({int(nr[sel].sum())})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--songs", type=int, default=20)
    ap.add_argument("--kits", default="test,TimGM6mb.sf2,sf_GMbank.sf2,Black_Pearl_4_LV2.sf2,synthetic")
    args = ap.parse_args()
    loaded = load_model("beatsight-transcriber", args.checkpoint)
    cfg = loaded.config
    print(f"{args.songs} groove songs per kit, threshold {cfg.threshold}; F (reference hits)\n")
    print("| kit | names | overall | toms | crashes | one-shots in one file | one-shots alone |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.kits.split(","):
        kit = kit_source(name, cfg)
        band = (band_sources([kit]) or [KitSource(cfg.soundfont, cfg.renderer)])[0]
        counts: dict[str, list] = {"absolute": [], "kit-relative": []}
        for g in range(args.songs):
            if name == "test":
                audio, hits, _ = test_song(FIRST_SEED["test"] + g, kit.path, kit.renderer)
            else:
                audio, hits = training_audio(8000 + g, kit, [band])
            audio = audio / np.max(np.abs(audio))
            reference = times_by_class((h.time, h.component) for h in hits)
            found = transcribe_frames(loaded.model, audio, cfg.threshold)
            counts["absolute"].append(match_counts(times_by_class(h[:2] for h in found.hits), reference))
            found.kit_relative(audio)
            counts["kit-relative"].append(match_counts(times_by_class(h[:2] for h in found.hits), reference))
        shots = one_shot_accuracy(loaded.model, kit.path, kit.renderer) if kit.path else {}
        for names, key in (("absolute", ""), ("kit-relative", "_kit_relative")):
            acc = " | ".join(f"{shots[k + key]['accuracy']:.3f}" if shots else "-" for k in ("in_sequence", "alone"))
            print(f"| {kit_name(kit.path) if kit.path else 'synthetic'} | {names} | {f_of(counts[names])} | "
                  f"{f_of(counts[names], GROUPS['toms'])} | {f_of(counts[names], GROUPS['crashes'])} | {acc} |")


if __name__ == "__main__":
    main()
