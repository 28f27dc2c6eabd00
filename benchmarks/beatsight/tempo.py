"""Tempo of `mlrun beatsight process` on songs of known tempo: each song (`grooves.tempo_song`: 60-220 quarter notes
per minute, 4/4, 3/4, 2/4, 5/4, 6/8, 7/8 or 12/8, accompaniment at -6 dB) is rendered, written as a WAV, run
through `process` and the beatmap's tempo compared with the song's. Prints the share within 4 % and how the others
miss (half, double, two thirds, ...), per metre and per tempo range.

    python benchmarks/beatsight/tempo.py --kit train --songs 30 --out /tmp/bs_tempo      # settings chosen here
    python benchmarks/beatsight/tempo.py --kit test --songs 30 --first-seed 1000 --out /tmp/bs_tempo

Kits: ``train`` alternates TimGM6mb (timidity) and sf_GMbank (fluidsynth), both training kits; ``test`` is the
held-out FluidR3Mono (fluidsynth). ``--no-ml`` runs the onset pipeline with the heuristic classifier.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from mlrun_music.fileio import atomic_path, write_json
from mlrun_music_beatsight.beatmap.bsm import read_bsm
from mlrun_music_beatsight.data.grooves import tempo_song
from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.transcribe.pipeline import process

KITS = {"train": [(synth.TRAIN_SOUNDFONT, "timidity"), ("/usr/share/sounds/sf2/sf_GMbank.sf2", "fluidsynth")],
        "test": [(synth.TEST_SOUNDFONT, "fluidsynth")]}
#: Ratios (estimate / truth) a metrical error lands on, by name.
RATIOS = {"1/4": 0.25, "1/3": 1 / 3, "1/2": 0.5, "2/3": 2 / 3, "3/4": 0.75, "4/3": 4 / 3, "3/2": 1.5, "2": 2.0,
          "3": 3.0, "4": 4.0}


def kind_of_error(ratio: float, tolerance: float = 0.04) -> str:
    """``ok`` within ``tolerance``, else the nearest of :data:`RATIOS` within it, else ``other``."""
    if abs(ratio - 1.0) <= tolerance:
        return "ok"
    for name, r in RATIOS.items():
        if abs(ratio / r - 1.0) <= tolerance:
            return name
    return "other"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=30)
    ap.add_argument("--first-seed", type=int, default=0, help="settings were chosen on seeds 0-59 (train kits)")
    ap.add_argument("--kit", choices=sorted(KITS), default="train")
    ap.add_argument("--accompaniment-db", type=float, default=-6.0)
    ap.add_argument("--model", default=None, help="process --ml-model (default: the shipped transcriber)")
    ap.add_argument("--no-ml", action="store_true", help="the heuristic onset pipeline")
    ap.add_argument("--out", default="/tmp/beatsight-tempo")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    started = time.perf_counter()
    for i in range(args.songs):
        seed = args.first_seed + i
        font, renderer = KITS[args.kit][i % len(KITS[args.kit])]
        song = tempo_song(seed, font, renderer, args.accompaniment_db)
        wav, bsm = out / f"song{seed}.wav", out / f"song{seed}.bsm"
        with atomic_path(wav, suffix=".wav") as tmp:
            sf.write(str(tmp), song.audio, synth.SAMPLE_RATE)
        process(wav, bsm, ml_model=args.model, use_ml=not args.no_ml, say=lambda s: None)
        bpm = float(read_bsm(bsm)["timing"]["bpm"])
        ratio = bpm / song.tempo
        rows.append({"seed": seed, "kit": Path(font).name, "metre": song.metre, "tempo": round(song.tempo, 2),
                     "estimate": bpm, "ratio": round(ratio, 4), "error": kind_of_error(ratio)})
        print(f"{seed} {song.metre:>5} {song.tempo:6.1f} -> {bpm:6.1f}  {rows[-1]['error']}", flush=True)
    ok = [r["error"] == "ok" for r in rows]
    kinds = Counter(r["error"] for r in rows)
    print(f"\n{args.songs} songs, kit {args.kit}, accompaniment {args.accompaniment_db:+g} dB, "
          f"{'heuristic' if args.no_ml else args.model or 'shipped transcriber'}: within 4 % "
          f"{np.mean(ok):.3f} ({sum(ok)}/{len(ok)}); {time.perf_counter() - started:.0f} s")
    print("misses: " + (", ".join(f"{k} {n}" for k, n in kinds.most_common() if k != "ok") or "none"))
    for key, label in (("metre", "metre"), ("band", "tempo")):
        groups: dict[str, list[bool]] = {}
        for r in rows:
            g = r["metre"] if key == "metre" else f"{int(r['tempo'] // 40 * 40)}-{int(r['tempo'] // 40 * 40 + 40)}"
            groups.setdefault(g, []).append(r["error"] == "ok")
        print(f"by {label}: " + ", ".join(f"{g} {sum(v)}/{len(v)}" for g, v in sorted(groups.items())))
    write_json(out / "tempo.json", {"args": vars(args), "within_4_percent": float(np.mean(ok)),
                                    "errors": dict(kinds), "songs": rows})


if __name__ == "__main__":
    main()
