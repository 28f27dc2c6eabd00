"""The tracker's settings on validation data: downbeat F (70 ms, anticipation 0) of the shipped model's phase and of
the phase-locked loop (``--tracker pll``) over a grid of gains, on sets outside every test set.

    python benchmarks/phase/tracker_sweep.py --json /tmp/phase/tracker_sweep.json

Validation sets: the songs set's ``val`` split, scores pieces 6-11 of each source (the test set takes 0-5) and the
first 28 training songs of the embedded default (the synthetic test set is its held-out songs). The network runs
once per item; each setting then only reruns the loop. Prints one line per setting, then the CPU time of the loop
with the default settings beside that of the network's offline pass (torch, one thread), per second of audio.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
import torch



def main() -> None:
    from mlrun_music.api import load_model
    from mlrun_music.fileio import write_text
    from mlrun_music_phase.apply import predict_phase
    from mlrun_music_phase.data.default import prepare_default
    from mlrun_music_phase.data.scores import build_scores
    from mlrun_music_phase.data.songset import build_songs
    from mlrun_music_phase.evaluate import _aggregate, load_items, score
    from mlrun_music_phase.config import FPS
    from mlrun_music_phase.tracker import BarClock

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gains", default="0.3,0.5,0.8")
    ap.add_argument("--rate-gains", default="0.0005,0.002")
    ap.add_argument("--corrections", default="0.25,0.5,0.75", help="max_correction values (tracker.MAX_CORRECTION)")
    ap.add_argument("--snaps", default="0.1,0.15,0.2",
                    help="snap windows (tracker.SNAP), each with correction 0.75, rate gain 0.002 and gains 0.3, 0.5; "
                         "the grid above runs without snapping")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    loaded = load_model("phase", quiet=True)
    sets = {"songs_val": build_songs(split="val"), "scores_6_11": build_scores(per_source=6, first=6),
            "synthetic_train_28": prepare_default(loaded.config).root / "rendered" / "train"}
    warmup = loaded.config.warmup_seconds
    settings = [("none", 0.0, 0.0, 0.0, 0.0)] + [
        ("pll", float(g), float(r), float(c), 0.0) for c, g, r in itertools.product(
            args.corrections.split(","), args.gains.split(","), args.rate_gains.split(","))] + [
        ("pll", g, 0.002, 0.75, float(w)) for w in args.snaps.split(",") for g in (0.3, 0.5)]
    results: dict[str, dict[str, dict]] = {}
    cpu = {"network": 0.0, "tracker": 0.0, "audio_seconds": 0.0}
    for name, folder in sets.items():
        items = load_items(folder, 28 if name.startswith("synthetic") else 0)
        start = time.process_time()
        raw = [predict_phase(loaded.model, it.audio, 0.0) for it in items]
        cpu["network"] += time.process_time() - start
        start = time.process_time()
        for p in raw:
            BarClock().run(p)
        cpu["tracker"] += time.process_time() - start
        cpu["audio_seconds"] += sum(len(p) for p in raw) / FPS
        for tracker, gain, rate_gain, correction, snap in settings:
            key = "raw" if tracker == "none" else \
                f"pll snap {snap:g} correction {correction:g} gain {gain:g} rate-gain {rate_gain:g}"
            rows = [score(p if tracker == "none" else BarClock(gain, rate_gain, max_correction=correction,
                                                               snap=snap).run(p),
                          it, 0.0, warmup, 0.07) for p, it in zip(raw, items)]
            results.setdefault(key, {})[name] = _aggregate(rows)
    for key, by_set in results.items():
        print(f"{key:52s} " + "  ".join(f"{s} F {v['downbeat_f']:.3f} ({v['downbeats_per_true_downbeat']:.2f}/bar)"
                                        for s, v in by_set.items()))
    per_s = {k: 1000 * cpu[k] / cpu["audio_seconds"] for k in ("network", "tracker")}
    print(f"CPU ms per second of audio ({cpu['audio_seconds']:.0f} s): network offline {per_s['network']:.2f}, "
          f"tracker {per_s['tracker']:.3f} (network / tracker {per_s['network'] / per_s['tracker']:.1f}x)")
    if args.json:
        write_text(args.json, json.dumps({"settings": results, "cpu_ms_per_audio_second": per_s}, indent=1) + "\n")


if __name__ == "__main__":
    main()
