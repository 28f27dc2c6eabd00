"""Decoder-only transformer conditioned on emotion and target duration, with a key/value cache.

Input at each position: [token embedding * sqrt(d) ; emotion embedding ; Linear(duration)] projected to d, plus
sinusoidal positions. The emotion class ``n_emotions`` means "no emotion" (a zero embedding, no parameters of its
own, so checkpoints trained without it load unchanged): training with ``--emotion-dropout`` replaces a share of the
labels with it, which gives the unconditional model that classifier-free guidance contrasts at sampling.
Pre-norm causal self-attention blocks. At the default sizes (d_model 512, 6 layers, 8 heads,
ff 2048) it has about 19.5M parameters; PyTorch's TransformerDecoder of the same sizes has 25.8M, the difference
being a cross-attention that, with no encoder, would attend to the same sequence and add nothing.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mlrun_music.training import OnnxSpec, StepOutput


def sinusoid(n: int, d: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    pe = torch.zeros(n, d)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: d // 2])
    return pe


class KVCache:
    """Preallocated keys and values per layer: [B, H, max_len, head_dim]; ``length`` positions filled."""

    def __init__(self, n_layers: int, batch: int, heads: int, max_len: int, head_dim: int, device: Any,
                 dtype: torch.dtype = torch.float32) -> None:
        shape = (batch, heads, max_len, head_dim)
        self.k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.v = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(n_layers)]
        self.length = 0
        self.max_len = max_len


class Block(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, D = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=-1)
        q, k, v = (t.view(B, T, h, D // h).transpose(1, 2) for t in (q, k, v))
        past = 0
        if cache is not None:
            past = cache.length
            cache.k[layer][:, :, past:past + T] = k
            cache.v[layer][:, :, past:past + T] = v
            k = cache.k[layer][:, :, : past + T]
            v = cache.v[layer][:, :, : past + T]
        # Written out (not scaled_dot_product_attention) so the ONNX export is plain MatMul/Softmax.
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // h))
        S = k.shape[2]
        causal = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=past)
        att = att.masked_fill(~causal, float("-inf"))
        att = self.drop(torch.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.ln2(x)))


class EmotionTransformer(nn.Module):
    """Logits for the next token given tokens, emotion class (quadrant - 1) and duration (seconds / 60)."""

    def __init__(self, vocab_size: int, n_emotions: int = 4, d_model: int = 512, n_layers: int = 6,
                 n_heads: int = 8, d_ff: int = 2048, max_seq_len: int = 512, dropout: float = 0.1,
                 emotion_dim: int = 64, duration_dim: int = 32) -> None:
        super().__init__()
        self.d_model, self.n_layers, self.n_heads, self.max_seq_len = d_model, n_layers, n_heads, max_seq_len
        self.n_emotions = n_emotions
        self.tok = nn.Embedding(vocab_size, d_model)
        self.emotion = nn.Embedding(n_emotions, emotion_dim)
        self.duration = nn.Linear(1, duration_dim)
        self.inp = nn.Linear(d_model + emotion_dim + duration_dim, d_model)
        self.register_buffer("pos", sinusoid(max_seq_len, d_model), persistent=False)
        self.drop = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, d_ff, dropout) for _ in range(n_layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def new_cache(self, batch: int, device: Any = None) -> KVCache:
        return KVCache(self.n_layers, batch, self.n_heads, self.max_seq_len, self.d_model // self.n_heads,
                       device or self.head.weight.device)

    def forward(self, tokens: torch.Tensor, emotion: torch.Tensor, duration: torch.Tensor,
                cache: KVCache | None = None) -> torch.Tensor:
        B, T = tokens.shape
        start = cache.length if cache is not None else 0
        if start + T > self.max_seq_len:
            raise ValueError(f"sequence of {start + T} tokens exceeds max_seq_len {self.max_seq_len}")
        x = self.tok(tokens) * math.sqrt(self.d_model)
        none = emotion >= self.n_emotions  # the "no emotion" class: a zero embedding
        e = self.emotion(emotion.clamp(0, self.n_emotions - 1)).masked_fill(none[:, None], 0.0)
        e = e[:, None, :].expand(B, T, -1)
        d = self.duration(duration.reshape(B, 1).to(x.dtype))[:, None, :].expand(B, T, -1)
        x = self.inp(torch.cat([x, e, d], dim=-1)) + self.pos[start:start + T]
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += T
        return self.head(self.norm(x))


def build(config: Any, info: dict[str, Any]) -> EmotionTransformer:
    """The model factory: sizes from the config, vocabulary from the data info (``--num-threads`` is the core's)."""
    return EmotionTransformer(vocab_size=int(info["vocab_size"]), n_emotions=int(info.get("n_emotions", 4)),
                              d_model=config.d_model, n_layers=config.n_layers, n_heads=config.n_heads,
                              d_ff=config.d_ff, max_seq_len=config.max_seq_len, dropout=config.dropout,
                              emotion_dim=config.emotion_dim, duration_dim=config.duration_dim)


def loss(model: nn.Module, batch: dict[str, torch.Tensor], config: Any) -> StepOutput:
    """Next-token cross-entropy ignoring PAD, weighted per real token; token accuracy as a metric.

    In training, each window's emotion is replaced by the "no emotion" class with probability ``emotion_dropout``.
    """
    from ..tokens import vocab

    emotion = batch["emotion"]
    p = float(getattr(config, "emotion_dropout", 0.0))
    if model.training and p > 0:
        drop = torch.rand(emotion.shape, device=emotion.device) < p
        emotion = emotion.masked_fill(drop, int(getattr(model, "n_emotions", 4)))
    logits = model(batch["tokens"], emotion, batch["duration"])
    targets = batch["targets"]
    pad = vocab().pad
    value = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=pad)
    real = targets != pad
    n = int(real.sum())
    acc = ((logits.argmax(-1) == targets) & real).sum().float() / max(n, 1)
    return StepOutput(value, {"token_acc": acc}, count=n)


def onnx_spec(model: nn.Module, config: Any, info: dict[str, Any]) -> OnnxSpec:
    """Full-sequence forward (no cache) for a fixed length of ``max_seq_len`` tokens; the batch axis is dynamic."""
    L = config.max_seq_len
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, int(info["vocab_size"]), (2, L), generator=g)
    emotion = torch.tensor([0, 2], dtype=torch.long)
    duration = torch.tensor([0.5, 0.6], dtype=torch.float32)
    return OnnxSpec(args=(tokens, emotion, duration), input_names=["tokens", "emotion", "duration"],
                    output_names=["logits"],
                    dynamic_axes={"tokens": {0: "batch"}, "emotion": {0: "batch"}, "duration": {0: "batch"},
                                  "logits": {0: "batch"}}, opset=17, tolerance=1e-3)
