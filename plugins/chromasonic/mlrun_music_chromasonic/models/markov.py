"""The Markov-chain baseline: counts of the next event after each context of 1..order events, smoothed so every
event keeps a probability, stored as tensors (buffers) so it saves, loads and scores like the neural models.

Smoothing (``witten_bell``, interpolated): P_k(w | h) = (c(h, w) + T(h) P_{k-1}(w | h')) / (c(h) + T(h)) with
T(h) the number of distinct events seen after h and h' the context shortened by one; P_0 is the add-alpha
unigram. ``additive``: the longest seen context's add-alpha estimate (back-off to shorter contexts).
Counts are kept sparse (CSR rows per seen context), so the table grows with the data, not with V^order.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

import torch
from torch import nn

from ..data.melody import PAD_ID


class MarkovModel(nn.Module):
    """Order-``order`` Markov chain over token ids; ``forward(tokens) -> log-probabilities (B, T, V)``."""

    def __init__(self, vocab_size: int, order: int, smoothing: str = "witten_bell", alpha: float = 0.1) -> None:
        super().__init__()
        if vocab_size ** order >= 2 ** 62:
            raise ValueError(f"markov order {order} is too high for a vocabulary of {vocab_size}")
        self.vocab_size, self.order, self.smoothing, self.alpha = vocab_size, order, smoothing, alpha
        self.register_buffer("unigram", torch.zeros(vocab_size))
        for k in range(1, order + 1):
            for name, dtype in (("keys", torch.long), ("row_ptr", torch.long), ("cols", torch.long),
                                ("counts", torch.float32)):
                self.register_buffer(f"{name}_{k}", torch.zeros(1 if name == "row_ptr" else 0, dtype=dtype))

    # The table's size depends on the data: take the stored shapes before copying (load_model builds empty).
    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        for name in list(self._buffers):
            stored = state_dict.get(prefix + name)
            if stored is not None and stored.shape != self._buffers[name].shape:
                self._buffers[name] = torch.empty_like(stored, dtype=self._buffers[name].dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def fit(self, tunes: Sequence[Sequence[int]]) -> "MarkovModel":
        """Count every event after every context of length 1..order inside each tune (never across tunes)."""
        v = self.vocab_size
        uni = torch.zeros(v)
        tables: list[Counter] = [Counter() for _ in range(self.order + 1)]
        for tune in tunes:
            for j, w in enumerate(tune):
                if w == PAD_ID:
                    continue
                uni[w] += 1
                key = 0
                for k in range(1, min(self.order, j) + 1):
                    key += tune[j - k] * v ** (k - 1)  # context read backwards: last event is the lowest digit
                    tables[k][(key, w)] += 1
        self.unigram = uni
        for k in range(1, self.order + 1):
            items = sorted(tables[k].items())
            pairs = torch.tensor([kw for kw, _ in items], dtype=torch.long).reshape(-1, 2)
            counts = torch.tensor([c for _, c in items], dtype=torch.float32)
            keys, per_key = torch.unique_consecutive(pairs[:, 0], return_counts=True)
            row_ptr = torch.zeros(len(keys) + 1, dtype=torch.long)
            row_ptr[1:] = torch.cumsum(per_key, 0)
            setattr(self, f"keys_{k}", keys)
            setattr(self, f"row_ptr_{k}", row_ptr)
            setattr(self, f"cols_{k}", pairs[:, 1].contiguous())
            setattr(self, f"counts_{k}", counts)
        return self

    def _rows(self, k: int, context_keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dense count rows (N, V) for context keys and whether each context was seen."""
        keys, row_ptr = getattr(self, f"keys_{k}"), getattr(self, f"row_ptr_{k}")
        cols, counts = getattr(self, f"cols_{k}"), getattr(self, f"counts_{k}")
        n = context_keys.numel()
        dense = torch.zeros(n, self.vocab_size)
        if keys.numel() == 0:
            return dense, torch.zeros(n, dtype=torch.bool)
        pos = torch.searchsorted(keys, context_keys).clamp(max=keys.numel() - 1)
        seen = keys[pos] == context_keys
        start = torch.where(seen, row_ptr[pos], torch.zeros_like(pos))
        length = torch.where(seen, row_ptr[pos + 1] - row_ptr[pos], torch.zeros_like(pos))
        total = int(length.sum())
        if total:
            row_of = torch.repeat_interleave(torch.arange(n), length)
            offset = torch.arange(total) - torch.repeat_interleave(torch.cumsum(length, 0) - length, length)
            entry = torch.repeat_interleave(start, length) + offset
            dense[row_of, cols[entry]] = counts[entry]
        return dense, seen

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, t = tokens.shape
        v = self.vocab_size
        positions = torch.arange(t).repeat(b)
        allowed = torch.ones(v)
        allowed[PAD_ID] = 0.0
        prob = (self.unigram + self.alpha) * allowed
        prob = (prob / prob.sum()).expand(b * t, v).clone()
        key = torch.zeros(b * t, dtype=torch.long)
        for k in range(1, self.order + 1):
            # Context of position p (predicting p + 1) = events p-k+1..p; only where it lies inside the input.
            back = tokens.reshape(b, t).cpu()
            shifted = torch.roll(back, shifts=k - 1, dims=1).reshape(-1)
            key = key + shifted * v ** (k - 1)
            usable = positions >= k - 1
            if not bool(usable.any()):
                break
            idx = usable.nonzero().squeeze(1)
            rows, seen = self._rows(k, key[idx])
            totals = rows.sum(1, keepdim=True)
            if self.smoothing == "witten_bell":
                types = (rows > 0).sum(1, keepdim=True).float()
                mixed = (rows + types * prob[idx]) / (totals + types).clamp(min=1e-12)
            else:
                mixed = (rows + self.alpha) * allowed / (totals + self.alpha * (v - 1))
            prob[idx] = torch.where(seen.unsqueeze(1), mixed, prob[idx])
        return torch.log(prob.clamp(min=0.0)).reshape(b, t, v).to(tokens.device)
