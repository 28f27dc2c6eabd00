"""Transcription benchmark: grooves with unseen patterns (seeds never used for training), accompaniment mixed in,
rendered with a soundfont (default: the held-out FluidR3Mono kit), transcribed by `process` with the ML classifier
and with the heuristic; onset F-measure per class (mir_eval, 50 ms) and the real-time factor.

    nice python benchmarks/beatsight/transcription.py --model runs/beatsight/bench/checkpoints/best.pt \
        --grooves 10 --out /tmp/beatsight-transcription
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from mlrun_music_beatsight.data import grooves
from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.classes import COMPONENTS
from mlrun_music_beatsight.transcribe.pipeline import process
from mlrun_music_beatsight.beatmap.score import score


def render_groove(seed: int, soundfont: str, renderer: str, accomp_db: float, out: Path) -> tuple[Path, Path]:
    """The song of ``seed`` (:func:`grooves.test_song`, also what `mlrun evaluate beatsight-transcriber` scores) as
    a WAV and its drums as MIDI."""
    mix, hits, tempo = grooves.test_song(seed, soundfont, renderer, accomp_db)
    wav, mid = out / f"groove{seed}.wav", out / f"groove{seed}.mid"
    sf.write(str(wav), mix, 44100)
    synth.write_midi(mid, hits, tempo)
    return wav, mid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="checkpoint of beatsight (the CNN on detected onsets) or beatsight-transcriber")
    ap.add_argument("--grooves", type=int, default=10)
    ap.add_argument("--first-seed", type=int, default=5000, help="training grooves use seeds 1000..1499")
    ap.add_argument("--soundfont", default=synth.TEST_SOUNDFONT)
    ap.add_argument("--renderer", default="fluidsynth")
    ap.add_argument("--accompaniment-db", type=float, default=-6.0, help="accompaniment level relative to drums")
    ap.add_argument("--sensitivity", type=float, default=50.0)
    ap.add_argument("--confidence", type=float, default=None,
                    help="process --confidence (default: 0.7, or a transcriber's tuned threshold)")
    ap.add_argument("--out", default="/tmp/beatsight-transcription")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    totals = {k: {c: [0, 0, 0] for c in ("overall", *COMPONENTS)} for k in ("ml", "heuristic")}
    any_f = {"ml": [], "heuristic": []}
    seconds = {"ml": 0.0, "heuristic": 0.0}
    audio_s = 0.0
    for g in range(args.grooves):
        wav, mid = render_groove(args.first_seed + g, args.soundfont, args.renderer, args.accompaniment_db, out)
        audio_s += sf.info(str(wav)).duration
        for kind in ("ml", "heuristic"):
            bsm = out / f"{wav.stem}.{kind}.bsm"
            t0 = time.perf_counter()
            process(wav, bsm, ml_model=args.model if kind == "ml" else None, use_ml=kind == "ml",
                    confidence=args.confidence, sensitivity=args.sensitivity, say=lambda s: None)
            seconds[kind] += time.perf_counter() - t0
            s = score(bsm, mid)
            any_f[kind].append(s["onset_f_measure_any_class"])
            o = s["overall"]
            tp = round(o["precision"] * o["estimated"])
            for key, n_est, n_ref, hits in [("overall", o["estimated"], o["reference"], tp)] + [
                    (r["component"], r["estimated"], r["reference"], round(r["precision"] * r["estimated"]))
                    for r in s["per_class"]]:
                t = totals[kind][key]
                t[0] += hits; t[1] += n_est; t[2] += n_ref
    result = {"args": vars(args), "audio_seconds": audio_s, "results": {}}
    for kind in ("ml", "heuristic"):
        rows = {}
        for key, (tp, n_est, n_ref) in totals[kind].items():
            if n_est + n_ref == 0:
                continue
            rows[key] = {"f_measure": 2 * tp / (n_est + n_ref), "precision": tp / n_est if n_est else 0.0,
                         "recall": tp / n_ref if n_ref else 0.0, "reference": n_ref, "estimated": n_est}
        result["results"][kind] = {"per_class": rows, "onset_f_any_class_mean": float(np.mean(any_f[kind])),
                                   "real_time_factor": seconds[kind] / audio_s}
    (out / "transcription.json").write_text(json.dumps(result, indent=2))
    print(f"{args.grooves} grooves, {audio_s:.1f} s of audio, {Path(args.soundfont).name} via {args.renderer}, "
          f"accompaniment {args.accompaniment_db:+g} dB")
    print("| class | ML F | heuristic F | reference hits |\n| --- | ---: | ---: | ---: |")
    for key in ("overall", *COMPONENTS):
        ml = result["results"]["ml"]["per_class"].get(key)
        he = result["results"]["heuristic"]["per_class"].get(key)
        ref = (ml or he or {}).get("reference", 0)
        if ml or he:
            print(f"| {key} | {ml['f_measure'] if ml else 0:.3f} | {he['f_measure'] if he else 0:.3f} | {ref} |")
    for kind in ("ml", "heuristic"):
        r = result["results"][kind]
        print(f"{kind}: onset F regardless of class {r['onset_f_any_class_mean']:.3f}, "
              f"real-time factor {r['real_time_factor']:.4f} (process seconds per audio second)")


if __name__ == "__main__":
    main()
