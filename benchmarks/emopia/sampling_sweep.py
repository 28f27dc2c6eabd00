"""Sampling settings of an emopia model judged on the VALIDATION split: feature overlap with the real clips and
the share of pieces the emotion classifier recognises, per setting.

python benchmarks/emopia/sampling_sweep.py [--checkpoint CKPT] --run-dir RUN [--split val]
    [--ceiling [--ceiling-from train] [--ceiling-pieces N]] [SETTING ...]

SETTING is comma-separated key=value: t (temperature, 0.8), k (top-k, 10; 0 = all), g (guidance, 6), fill (1 = no
whole beat left silent, 0), n (pieces per quadrant, 12), seed (100). RUN is the training run folder of the model
(its split.json), e.g. ``<recipe work folder>/stages/emopia/train``; no --checkpoint: the shipped model.
Generation goes through the same code as `mlrun evaluate emopia` (its classifier is trained on the training clips;
``ratio`` is the recognised share of the generated pieces over that of the real clips of the split). --ceiling adds
the overlap of 10 random draws of N real clips of another split (--ceiling-from, default train; N: as many as the
generated pieces, 96 without settings) with the split's clips: about what a model that wrote exactly like real
music of the corpus would reach.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from mlrun_music import api
from mlrun_music.fileio import write_json
from mlrun_music.symbolic_features import FEATURES, midi_features, overlap_table
from mlrun_music_emopia import evaluate as ev
from mlrun_music_emopia.config import EmopiaEvalConfig
from mlrun_music_emopia.data import loader as data_mod
from mlrun_music_emopia.features import EmotionClassifier, matrix

KEYS = {"t": ("temperature", float), "k": ("top_k", int), "fill": ("fill_beats", lambda x: x == "1"),
        "n": ("samples_per_emotion", int), "seed": ("seed", int)}


def parse(setting: str) -> tuple[EmopiaEvalConfig, float]:
    opts = EmopiaEvalConfig(samples_per_emotion=12, seed=100, temperature=0.8, top_k=10, fill_beats=False)
    guidance = 6.0
    for item in setting.split(","):
        key, _, value = item.partition("=")
        if key == "g":
            guidance = float(value)
        elif key in KEYS:
            name, kind = KEYS[key]
            setattr(opts, name, kind(value))
        else:
            raise SystemExit(f"unknown setting key '{key}' in '{setting}' (t, k, g, fill, n, seed)")
    return opts, guidance


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("settings", nargs="*")
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--split", default="val")
    ap.add_argument("--ceiling", action="store_true")
    ap.add_argument("--ceiling-from", default="train")
    ap.add_argument("--ceiling-pieces", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    log = logging.getLogger("sampling_sweep")
    loaded = api.load_model("emopia", args.checkpoint, "cpu", quiet=True)
    prep = data_mod.prepare(loaded.config, args.run_dir, log, save_split=False, reuse_split=True, restart=False)
    x_tr, y_tr = ev._clip_features(prep, prep.clips["train"])
    x_ev, y_ev = ev._clip_features(prep, prep.clips[args.split])
    clf = EmotionClassifier().fit(matrix(x_tr), np.asarray(y_tr) - 1)
    real_acc = float(np.mean(clf.predict(matrix(x_ev)) + 1 == np.asarray(y_ev)))
    real = [f for f in (midi_features(c.path) for c in prep.clips[args.split]) if f]
    print(f"{args.split}: {len(real)} real clips, classifier recognises {real_acc:.3f} of them")
    print(f"{'setting':28s} " + " ".join(f"{k[:6]:>6s}" for k in FEATURES) + "   mean   acc ratio  per quadrant")
    result: dict = {"split": args.split, "real_clips": len(real), "real_accuracy": real_acc, "settings": {}}
    for setting in args.settings:
        opts, guidance = parse(setting)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            _, per_q, _, files = ev._generate(loaded.model, loaded.info, opts, clf, [1, 2, 3, 4], Path(tmp), log,
                                              steer=False, guidance=guidance)
            table = ev._overlap(real, files)
        acc = float(np.mean(list(per_q.values())))
        result["settings"][setting] = {"accuracy": acc, "ratio": acc / real_acc, "per_quadrant": per_q,
                                       "seconds": time.perf_counter() - t0, **table}
        print(f"{setting:28s} " + " ".join(f"{table['overlap'][k]:6.3f}" for k in FEATURES) +
              f"  {table['mean']:.3f}  {acc:.3f}  {acc / real_acc:.2f}  " +
              " ".join(f"{q} {v:.2f}" for q, v in per_q.items()), flush=True)
    if args.ceiling:
        n = args.ceiling_pieces or (4 * parse(args.settings[0])[0].samples_per_emotion if args.settings else 96)
        other = [f for f in (midi_features(c.path) for c in prep.clips[args.ceiling_from]) if f]
        rng = random.Random(0)
        means = [overlap_table(real, rng.sample(other, min(n, len(other))))["mean"] for _ in range(10)]
        result["ceiling"] = {"from": args.ceiling_from, "pieces": n, "draws": 10, "mean": float(np.mean(means)),
                             "sd": float(np.std(means))}
        print(f"ceiling: {n} random {args.ceiling_from} clips vs the {args.split} clips, mean overlap "
              f"{np.mean(means):.3f} (sd {np.std(means):.3f}, 10 draws)")
    if args.json:
        write_json(args.json, result)
    print(json.dumps({k: round(v["mean"], 3) for k, v in result["settings"].items()}))


if __name__ == "__main__":
    main()
