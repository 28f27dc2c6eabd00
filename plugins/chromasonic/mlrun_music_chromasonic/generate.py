"""Sampling melodies from any chromasonic model (LSTM, Transformer or Markov), and parsing seed notes."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

import torch

from mlrun_music.errors import UserError

from .melody import PAD_ID, UNK_ID, Vocabulary, event_token, note_name, parse_note_name, quantize_duration
from .models import log_probs


@torch.no_grad()
def sample(model: torch.nn.Module, openings: Sequence[Sequence[int]], length: int, context: int,
           temperature: float = 1.0, seed: int = 0, top_k: int = 0) -> list[list[int]]:
    """Continue each opening by ``length`` sampled events (batched); the model sees the last ``context`` events.

    ``<pad>`` and ``<unk>`` are never sampled. Openings may differ in length: shorter ones are left-padded only
    in bookkeeping, each row is run at its own length.
    """
    model.eval()
    g = torch.Generator().manual_seed(int(seed))
    out = [list(o) for o in openings]
    groups: dict[int, list[int]] = {}
    for i, o in enumerate(openings):
        if not o:
            raise UserError("an opening needs at least one note")
        groups.setdefault(len(o), []).append(i)
    device = next((b.device for b in list(model.parameters()) + list(model.buffers())), torch.device("cpu"))
    for rows in groups.values():
        seqs = torch.tensor([out[i] for i in rows], dtype=torch.long)
        for _ in range(length):
            x = seqs[:, -context:].to(device)
            lp = log_probs(model, x)[:, -1].cpu() / temperature
            lp[:, PAD_ID] = float("-inf")
            lp[:, UNK_ID] = float("-inf")
            if top_k > 0:
                kth = torch.topk(lp, min(top_k, lp.shape[-1]), dim=-1).values[:, -1:]
                lp = lp.masked_fill(lp < kth, float("-inf"))
            nxt = torch.multinomial(torch.softmax(lp, dim=-1), 1, generator=g)
            seqs = torch.cat([seqs, nxt], dim=1)
        for r, i in enumerate(rows):
            out[i] = seqs[r].tolist()
    return out


def parse_seed_notes(text: str, vocab: Vocabulary, info: dict[str, Any]) -> list[int]:
    """``"C4:1 D4:0.5 r:0.5 E4"`` -> token ids (duration defaults to one quarter; ``62:1/2`` works too).

    Every seed event must be in the model's vocabulary (after the same quantisation as training); otherwise a
    UserError names it and lists the nearest events the model knows.
    """
    ids = []
    index = vocab.index
    items = text.replace(",", " ").split()
    if not items:
        raise UserError("--seed-notes: no notes given (example: --seed-notes 'C4:1 D4:0.5 r:0.5 E4:1')")
    for item in items:
        name, _, dur_text = item.partition(":")
        try:
            pitch = parse_note_name(name)
            dur = float(Fraction(dur_text)) if dur_text else 1.0
            if not dur > 0:
                raise ValueError("duration must be > 0")
        except (ValueError, ZeroDivisionError) as exc:
            raise UserError(f"--seed-notes: cannot read '{item}' ({exc}); use NOTE[:QUARTERS], e.g. C4:1, F#5:0.5, "
                            f"r:1") from None
        token = event_token(pitch, quantize_duration(dur, info.get("max_duration", 8.0)))
        if token not in index:
            known = [t for t in vocab.tokens[2:] if t.split("_")[0] == token.split("_")[0]]
            hint = (f"durations known for {note_name(pitch)}: " + ", ".join(t.split("_")[1] for t in known[:12])
                    if known else f"pitches known: {_pitch_span(vocab)}")
            keyed = " (the model was trained on tunes transposed to the white keys)" if info.get("normalize_key") \
                else ""
            raise UserError(f"--seed-notes: '{item}' is not in the model's vocabulary{keyed}; {hint}")
        ids.append(index[token])
    return ids


def _pitch_span(vocab: Vocabulary) -> str:
    pitches = sorted(vocab.pitches())
    return f"{note_name(pitches[0])}..{note_name(pitches[-1])}" if pitches else "none"
