"""The neural melody models and their loss. Every model maps token ids (B, T) to next-event logits (B, T, V):
position t predicts event t + 1 from events 0..t, so one pass trains (and scores) every position of a window.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mlrun_music.errors import UserError
from mlrun_music.training import OnnxSpec, StepOutput

from ..config import check_heads
from ..data.melody import PAD_ID


class MelodyLSTM(nn.Module):
    """Embedding -> LSTM -> dropout -> Linear, at every position (the original project's LSTM, every step trained)."""

    def __init__(self, vocab_size: int, embedding_size: int, hidden_size: int, num_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embedding_size, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(embedding_size, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embed(tokens))
        return self.head(self.drop(out))


class CausalSelfAttention(nn.Module):
    """Multi-head attention written with plain tensor ops (exports to ONNX, no fused fast path)."""

    def __init__(self, width: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(x).reshape(b, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-2, -1) / math.sqrt(w // self.heads) + mask
        att = self.drop(torch.softmax(scores, dim=-1))
        return self.proj((att @ v).transpose(1, 2).reshape(b, t, w))


class Block(nn.Module):
    """Pre-norm Transformer block: causal attention and a feed-forward layer, each with a residual."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, dropout)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attn(self.norm1(x), mask))
        return x + self.drop(self.ff(self.norm2(x)))


def alibi_slopes(heads: int) -> torch.Tensor:
    """ALiBi's per-head slopes 2^(-8 h / heads), h = 1..heads (Press et al. 2022): steep heads look at the last
    few events, shallow ones further back."""
    return torch.tensor([2.0 ** (-8.0 * (h + 1) / heads) for h in range(heads)])


class MelodyTransformer(nn.Module):
    """Token embedding * sqrt(width) (+ learned positions) -> causal blocks -> Linear.

    The causal mask (missing in the original) keeps position t from seeing events after t, so training on every
    position is honest and generation matches training. ``positions="alibi"`` replaces the learned absolute
    positions with a per-head linear penalty on distance added to the attention scores: a training window starts
    anywhere in a tune, so "how many events ago" matters, "index in the window" does not.
    """

    def __init__(self, vocab_size: int, width: int, heads: int, ff: int, layers: int, dropout: float,
                 max_len: int, positions: str = "alibi") -> None:
        super().__init__()
        if positions not in ("learned", "alibi"):
            raise UserError(f"--transformer-positions: unknown '{positions}'; choose learned or alibi")
        self.width, self.max_len, self.heads, self.positions = width, max_len, heads, positions
        self.embed = nn.Embedding(vocab_size, width, padding_idx=PAD_ID)
        # Token vectors of unit scale after the sqrt(width) factor. nn.Embedding's default N(0, 1) became
        # N(0, width) after it, drowning the positions (11x smaller at width 128) and every block's residual
        # update, so the model long could not tell the previous event from older ones.
        nn.init.normal_(self.embed.weight, std=width ** -0.5)
        with torch.no_grad():
            self.embed.weight[PAD_ID].zero_()
        if positions == "learned":
            self.pos = nn.Embedding(max_len, width)
        else:
            self.register_buffer("slopes", alibi_slopes(heads).view(heads, 1, 1), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(width, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        t = tokens.shape[1]
        positions = torch.arange(t, device=tokens.device)
        x = self.embed(tokens) * math.sqrt(self.width)
        if self.positions == "learned":
            x = x + self.pos(positions)
        x = self.drop(x)
        upper = torch.ones(t, t, device=tokens.device, dtype=torch.bool).triu(1)
        mask = torch.zeros(t, t, device=tokens.device, dtype=x.dtype).masked_fill(upper, float("-inf"))
        if self.positions == "alibi":
            distance = (positions.view(t, 1) - positions.view(1, t)).clamp(min=0).to(x.dtype)
            mask = mask - self.slopes * distance          # (heads, t, t), broadcast over the batch
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x))


def vocab_size(info: dict[str, Any]) -> int:
    if "vocab" not in info:
        raise UserError("chromasonic needs the vocabulary in the dataset info ('vocab'); build data with "
                        "mlrun_music_chromasonic.data.splits.splits_from_melodies")
    return len(info["vocab"])


def build_lstm(config: Any, info: dict[str, Any]) -> nn.Module:
    return MelodyLSTM(vocab_size(info), config.embedding_size, config.hidden_size, config.num_layers,
                      config.dropout)


def build_transformer(config: Any, info: dict[str, Any]) -> nn.Module:
    check_heads(config.hidden_size, config.num_heads)
    return MelodyTransformer(vocab_size(info), config.hidden_size, config.num_heads, config.feedforward_size,
                             config.num_layers, config.dropout,
                             int(info.get("sequence_length", config.sequence_length)),
                             config.transformer_positions)


def build_markov(config: Any, info: dict[str, Any]) -> nn.Module:
    from .markov import MarkovModel

    return MarkovModel(vocab_size(info), config.markov_order, config.markov_smoothing, config.markov_alpha)


def log_probs(model: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """Next-event log-probabilities (B, T, V) with ``<pad>`` excluded, the same way for every model."""
    logits = model(tokens).float()
    logits[..., PAD_ID] = float("-inf")
    return torch.log_softmax(logits, dim=-1)


def loss(model: nn.Module, batch: torch.Tensor, config: Any) -> StepOutput:
    """Cross-entropy of every next event in the window (padding ignored), with next-event accuracy."""
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits = model(inputs)
    flat_t = targets.reshape(-1)
    value = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), flat_t, ignore_index=PAD_ID)
    valid = flat_t != PAD_ID
    n = int(valid.sum())
    correct = (logits.reshape(-1, logits.shape[-1]).argmax(-1) == flat_t) & valid
    return StepOutput(value, {"accuracy": correct.sum().float() / max(1, n)}, count=max(1, n))


def onnx_spec(model: nn.Module, config: Any, info: dict[str, Any]) -> OnnxSpec:
    """Token ids (batch, time) int64 -> logits (batch, time, vocab); the Markov table has no ONNX form."""
    from .markov import MarkovModel

    if isinstance(model, MarkovModel):
        raise UserError("--format onnx: the markov model is a count table, not a network; export an lstm or "
                        "transformer checkpoint (e.g. checkpoints/lstm_best.pt)")
    g = torch.Generator().manual_seed(0)
    length = min(16, int(info.get("sequence_length", 16)))
    sample = torch.randint(2, vocab_size(info), (2, length), generator=g)
    return OnnxSpec(args=(sample,), input_names=["tokens"], output_names=["logits"],
                    dynamic_axes={"tokens": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}},
                    tolerance=1e-3)
