"""An interpolated trigram model of REMI tokens: the token-level baseline of `mlrun evaluate emopia`.

P(c | a, b) = 0.6 P3(c | a, b) + 0.3 P2(c | b) + 0.1 P1(c), each from training counts (the unigram add-one
smoothed; a missing context gives its weight to the lower orders). It has the transformer's call signature and a
cache, so ``generate.sample`` draws from it under the same grammar, duration control and sampling settings; it
ignores the emotion and the duration inputs.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

WEIGHTS = (0.6, 0.3, 0.1)  # trigram, bigram, unigram


class _History:
    """The cache: the previous token of every row (-1 before the first)."""

    def __init__(self, batch: int) -> None:
        self.prev = np.full(batch, -1, dtype=np.int64)
        self.length = 0


class TrigramModel(nn.Module):
    """Next-token log-probabilities from trigram, bigram and unigram counts of the training sequences."""

    def __init__(self, sequences: Iterable[list[int]], vocab_size: int, max_seq_len: int) -> None:
        super().__init__()
        self.vocab_size, self.max_seq_len = vocab_size, max_seq_len
        uni = np.ones(vocab_size)
        bi = np.zeros((vocab_size, vocab_size))
        tri: dict[tuple[int, int], dict[int, int]] = {}
        for seq in sequences:
            s = np.asarray(seq, dtype=np.int64)
            np.add.at(uni, s, 1)
            np.add.at(bi, (s[:-1], s[1:]), 1)
            for a, b, c in zip(s[:-2].tolist(), s[1:-1].tolist(), s[2:].tolist()):
                row = tri.setdefault((a, b), {})
                row[c] = row.get(c, 0) + 1
        self.p1 = uni / uni.sum()
        totals = bi.sum(1, keepdims=True)
        self.p2 = np.divide(bi, totals, out=np.zeros_like(bi), where=totals > 0)
        self.has2 = totals[:, 0] > 0
        self.p3 = {k: (np.fromiter(v.keys(), np.int64), np.fromiter(v.values(), np.float64) / sum(v.values()))
                   for k, v in tri.items()}
        self.register_buffer("_device", torch.zeros(0), persistent=False)  # where sampling puts its tensors

    def new_cache(self, batch: int, device: Any = None) -> _History:
        return _History(batch)

    def distribution(self, a: int, b: int) -> np.ndarray:
        """P(. | a, b) over the vocabulary (a, b = -1 where there is no such token)."""
        w3, w2, w1 = WEIGHTS
        out = np.zeros(self.vocab_size)
        tri = self.p3.get((a, b)) if a >= 0 and b >= 0 else None
        if tri is None:
            w2, w3 = w2 + w3, 0.0
        else:
            out[tri[0]] += w3 * tri[1]
        if b >= 0 and self.has2[b]:
            out += w2 * self.p2[b]
        else:
            w1 += w2
        return out + w1 * self.p1

    def forward(self, tokens: torch.Tensor, emotion: torch.Tensor | None = None, duration: torch.Tensor | None = None,
                cache: _History | None = None) -> torch.Tensor:
        """Log-probabilities [B, T, V] of the token after each position."""
        toks = tokens.cpu().numpy()
        B, T = toks.shape
        prev = cache.prev.copy() if cache is not None else np.full(B, -1, dtype=np.int64)
        out = np.empty((B, T, self.vocab_size), dtype=np.float32)
        for t in range(T):
            for i in range(B):
                out[i, t] = np.log(self.distribution(int(prev[i]), int(toks[i, t])))
            prev = toks[:, t].copy()
        if cache is not None:
            cache.prev = prev
            cache.length += T
        return torch.from_numpy(out)

    def nll(self, windows: Iterable[np.ndarray], pad: int) -> tuple[float, int]:
        """Summed negative log-likelihood (nats) of each window's tokens after the first, and their count."""
        total, count = 0.0, 0
        for w in windows:
            w = [int(x) for x in w]
            for t in range(1, len(w)):
                if w[t] == pad:
                    continue
                a = w[t - 2] if t >= 2 else -1
                total -= float(np.log(self.distribution(a, w[t - 1])[w[t]]))
                count += 1
        return total, count
