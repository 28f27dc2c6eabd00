"""Generation throughput with the key/value cache vs naive recomputation of the whole context per token.

python benchmarks/emopia/bench_generate.py [--tokens 256 512] [--size demo|default]
Uses the real sampling path (grammar masks, clock) with random weights; speed does not depend on the weights.
The context window is the model's max_seq_len (512), so naive cost per token grows with the position.
"""

from __future__ import annotations

import argparse
import time

import torch

from mlrun_music_emopia.generate import sample
from mlrun_music_emopia.models.transformer import EmotionTransformer
from mlrun_music_emopia.tokens import vocab

SIZES = {"demo": dict(d_model=64, n_layers=2, n_heads=4, d_ff=128),
         "default": dict(d_model=512, n_layers=6, n_heads=8, d_ff=2048)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--size", choices=list(SIZES), default="default")
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(0)
    model = EmotionTransformer(vocab_size=vocab().size, max_seq_len=512, dropout=0.0, **SIZES[args.size]).eval()
    info = {"tokens_per_second": {}, "duration_scale": 60.0}
    print(f"size {args.size}, batch {args.batch}, threads {torch.get_num_threads()}")
    for n in args.tokens:
        row = []
        for cache in (True, False):
            t0 = time.perf_counter()
            out = sample(model, info, 1, 600.0, n=args.batch, seed=0, use_cache=cache, max_tokens=n)
            dt = time.perf_counter() - t0
            made = sum(s.n_tokens for s in out)
            row.append(made / dt)
        print(f"{n} tokens: cache {row[0]:.0f} tokens/s, naive {row[1]:.0f} tokens/s, speed-up {row[0] / row[1]:.1f}x")


if __name__ == "__main__":
    main()
