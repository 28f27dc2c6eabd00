"""Training throughput (events/s per optimizer step) and generation speed (events/s) of the three models at the
default sizes, on synthetic token ids (speed does not depend on what the tokens mean).

    python benchmarks/chromasonic/bench_models.py [--threads 1] [--vocab 336] [--steps 20]

Prints one JSON line per measurement. The Markov model's "training" is counting: events/s of MarkovModel.fit.
Generation is timed free and under the metre rule of ``generate --rhythm metre`` (6/8, a vocabulary of the same
size whose tokens carry folk durations), in the same pass.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import torch

from mlrun_music_chromasonic.config import ChromasonicConfig
from mlrun_music_chromasonic.data.melody import Vocabulary
from mlrun_music_chromasonic.data.notation import Meter
from mlrun_music_chromasonic.generate import MetreRule, sample
from mlrun_music_chromasonic.models.markov import MarkovModel
from mlrun_music_chromasonic.models.neural import build_lstm, build_transformer, loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=336, help="Vocabulary size (336 = the folk run's).")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = ChromasonicConfig()
    info = {"vocab": ["<pad>", "<unk>"] + [f"t{i}" for i in range(args.vocab - 2)],
            "sequence_length": cfg.sequence_length}
    g = torch.Generator().manual_seed(0)
    batch = torch.randint(2, args.vocab, (args.batch_size, cfg.sequence_length + 1), generator=g)
    events = args.batch_size * cfg.sequence_length
    models = {"lstm": build_lstm(cfg, info), "transformer": build_transformer(cfg, info)}
    for name, model in models.items():
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for step in range(args.steps + 2):
            if step == 2:
                start = time.perf_counter()  # two warm-up steps
            out = loss(model, batch, cfg)
            opt.zero_grad()
            out.loss.backward()
            opt.step()
        sec = (time.perf_counter() - start) / args.steps
        print(json.dumps({"what": "train_step", "model": name, "batch": args.batch_size,
                          "window": cfg.sequence_length, "s_per_step": round(sec, 4),
                          "events_per_s": round(events / sec)}), flush=True)
    rng = random.Random(0)
    tunes = [[rng.randrange(2, args.vocab) for _ in range(150)] for _ in range(2000)]
    start = time.perf_counter()
    markov = MarkovModel(args.vocab, cfg.markov_order).fit(tunes)
    sec = time.perf_counter() - start
    print(json.dumps({"what": "fit_by_counting", "model": "markov", "events": 300000,
                      "seconds": round(sec, 2), "events_per_s": round(300000 / sec)}), flush=True)
    models["markov"] = markov
    durations = ["1/4", "1/2", "3/4", "1", "3/2", "2", "3", "1/3"]
    timed_vocab = Vocabulary(("<pad>", "<unk>") + tuple(f"{40 + k // len(durations)}_{durations[k % len(durations)]}"
                                                        for k in range(args.vocab - 2)))
    for name, model in models.items():
        model.eval()
        for n in (1, 64):
            openings = [[rng.randrange(2, args.vocab) for _ in range(8)] for _ in range(n)]
            for rhythm in ("free", "metre"):
                rule = MetreRule(timed_vocab, [Meter(6, 8)] * n, [0] * n) if rhythm == "metre" else None
                start = time.perf_counter()
                sample(model, openings, 64, cfg.sequence_length, 1.0, 0, rule=rule)
                sec = time.perf_counter() - start
                print(json.dumps({"what": "generate", "model": name, "rhythm": rhythm, "melodies": n,
                                  "events_each": 64, "seconds": round(sec, 3), "events_per_s": round(n * 64 / sec)}),
                      flush=True)


if __name__ == "__main__":
    main()
