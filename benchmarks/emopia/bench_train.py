"""Training throughput on CPU: tokens per second for forward + backward + AdamW step, per model size.

python benchmarks/emopia/bench_train.py [--steps 5] [--threads N]
Random token batches (speed does not depend on the data); sizes: the demo, the quality run, the task's default.
"""

from __future__ import annotations

import argparse
import time

import torch

from mlrun_music_emopia.models.transformer import EmotionTransformer

SIZES = {
    "demo (d64, 2 layers, seq 256, batch 16)": dict(d_model=64, n_layers=2, n_heads=4, d_ff=128, max_seq_len=256,
                                                    batch=16),
    "quality (d96, 2 layers, seq 256, batch 16)": dict(d_model=96, n_layers=2, n_heads=4, d_ff=256,
                                                       max_seq_len=256, batch=16),
    "default (d512, 6 layers, seq 512, batch 8)": dict(d_model=512, n_layers=6, n_heads=8, d_ff=2048,
                                                       max_seq_len=512, batch=8),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name, s in SIZES.items():
        s = dict(s)
        batch = s.pop("batch")
        torch.manual_seed(0)
        model = EmotionTransformer(vocab_size=300, **s)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.01)
        L = s["max_seq_len"]
        x = torch.randint(0, 300, (batch, L + 1))
        emo, dur = torch.randint(0, 4, (batch,)), torch.rand(batch)

        def step() -> None:
            logits = model(x[:, :-1], emo, dur)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 300), x[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        step()  # warm-up
        t0 = time.perf_counter()
        for _ in range(args.steps):
            step()
        dt = (time.perf_counter() - t0) / args.steps
        n = sum(p.numel() for p in model.parameters())
        print(f"{name}: {n / 1e6:.2f}M params, {dt * 1000:.0f} ms/step, {batch * L / dt:.0f} tokens/s")


if __name__ == "__main__":
    main()
