"""Sampling emotion-conditioned piano pieces of a requested duration, and writing them as MIDI with a manifest
(`run`: the body of `mlrun emopia generate`).

Incremental decoding keeps keys and values of past tokens (``use_cache``), so each new token costs one position
instead of re-running the whole context. Pieces longer than the model's window continue in a sliding window: when
the cache is full, the last half of the context is re-encoded once and decoding goes on.

Duration control: the REMI clock (Bar/Position/Tempo tokens) is followed as tokens arrive; EOS is refused before
90 % of the target, and a Bar or Position that would reach the target ends the piece there. Notes still sounding
at the target are cut, and an end marker at the clock's final position keeps a closing rest, so the file lasts the
requested time within 10 %. A grammar mask keeps the stream valid REMI (Pitch, Velocity, Duration in order,
positions moving forward) so every sample decodes.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import attrs
import numpy as np
import torch

from mlrun_music import api
from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json

from . import tokens
from .emotions import QUADRANTS, parse_emotion

MIN_SECONDS, MAX_SECONDS = 2.0, 600.0


@attrs.define
class Sample:
    """One generated piece."""

    quadrant: int
    ids: list[int]
    target_seconds: float
    clock_seconds: float
    stop: str  # "duration", "eos" or "budget"
    score: Any = None  # symusic ScoreSecond, cut to the target

    @property
    def n_tokens(self) -> int:
        return len(self.ids)


def check_duration(seconds: float) -> float:
    if not (MIN_SECONDS <= seconds <= MAX_SECONDS) or seconds != seconds:
        raise UserError(f"--duration must be between {MIN_SECONDS:g} and {MAX_SECONDS:g} seconds, got {seconds:g}")
    return float(seconds)


def _top_k_sample(logits: torch.Tensor, top_k: int, temperature: float, gen: torch.Generator) -> torch.Tensor:
    logits = logits / temperature
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=gen).squeeze(-1)


@torch.no_grad()
def sample(model: Any, info: dict[str, Any], quadrant: int, seconds: float, n: int = 1, temperature: float = 0.8,
           top_k: int = 10, seed: int = 0, use_cache: bool = True, max_tokens: int | None = None) -> list[Sample]:
    """Generate ``n`` pieces of ``seconds`` for a quadrant (1..4) in one batch."""
    seconds = check_duration(seconds)
    device = next(model.parameters()).device
    v = tokens.vocab()
    window = model.max_seq_len
    keep = max(1, window // 2)
    rate = float(info.get("tokens_per_second", {}).get(f"Q{quadrant}", 40.0))
    budget = max_tokens or int(4 * rate * seconds + 256)
    gen = torch.Generator().manual_seed(int(seed))
    emotion = torch.full((n,), quadrant - 1, dtype=torch.long, device=device)
    duration = torch.full((n,), seconds / float(info.get("duration_scale", 60.0)), device=device)
    trackers = [tokens.TimeTracker() for _ in range(n)]
    seqs = torch.full((n, 1), v.bos, dtype=torch.long)
    stops: list[str | None] = [None] * n
    clocks = [0.0] * n  # where each piece ends: the refused Bar/Position's time, or the clock at EOS
    cache = None
    ctx_start = 0
    for _ in range(budget):
        length = seqs.shape[1]
        if length - ctx_start > window:
            ctx_start = length - keep
            cache = None
        if use_cache:
            if cache is None:
                cache = model.new_cache(n, device)
                logits = model(seqs[:, ctx_start:].to(device), emotion, duration, cache)[:, -1]
            else:
                logits = model(seqs[:, -1:].to(device), emotion, duration, cache)[:, -1]
        else:
            logits = model(seqs[:, ctx_start:].to(device), emotion, duration)[:, -1]
        logits = logits.float().cpu()
        masks = np.stack([tr.allowed(eos_ok=tr.seconds >= 0.9 * seconds) for tr in trackers])
        logits = logits.masked_fill(~torch.from_numpy(masks), float("-inf"))
        chosen = _top_k_sample(logits, top_k, temperature, gen)
        step = torch.full((n,), v.pad, dtype=torch.long)
        for i in range(n):
            if stops[i] is not None:
                continue
            tok = int(chosen[i])
            if tok == v.eos:
                stops[i], clocks[i] = "eos", trackers[i].seconds
                continue
            if v.kind[tok] in (tokens.BAR, tokens.POS) and trackers[i].seconds_if(tok) >= seconds:
                stops[i], clocks[i] = "duration", trackers[i].seconds_if(tok)
                continue
            trackers[i].push(tok)
            step[i] = tok
        if all(s is not None for s in stops):
            break
        seqs = torch.cat([seqs, step[:, None]], dim=1)
    out = []
    for i in range(n):
        ids = [int(t) for t in seqs[i, 1:] if int(t) != v.pad]
        clock = clocks[i] if stops[i] is not None else trackers[i].seconds
        s = Sample(quadrant, ids, seconds, clock, stops[i] or "budget")
        s.score = to_score(ids, seconds, clock)
        out.append(s)
    return out


def to_score(ids: list[int], target: float, clock: float) -> Any:
    """Decode to a seconds-based score, cut at ``target``, with an end marker at the closing position."""
    import symusic

    score = tokens.decode(ids).to("second")
    end = 0.0
    for track in score.tracks:
        kept = [n for n in track.notes if n.time < target]
        track.notes.clear()
        for note in kept:
            note.duration = float(min(note.duration, target - note.time))
            end = max(end, note.time + note.duration)
            track.notes.append(note)
    # The clock is where the next (refused) bar or position would start: the piece rests until then.
    end = min(target, max(end, clock))
    score.markers.append(symusic.TextMeta(time=float(end), text="end", ttype="second"))
    return score


def write_midi(score: Any, path: Path) -> float:
    """Write at 480 ticks per quarter (atomically); returns the file's length in seconds as mido reads it."""
    import mido

    tick = score.to("tick").resample(480)
    with atomic_path(path, suffix=".mid") as tmp:
        tick.dump_midi(str(tmp))
        length = float(mido.MidiFile(str(tmp)).length)
    return length


def timed_sample(*args: Any, **kwargs: Any) -> tuple[list[Sample], float]:
    """``sample`` and its wall time in seconds."""
    t0 = time.perf_counter()
    out = sample(*args, **kwargs)
    return out, time.perf_counter() - t0


def run(checkpoint: str | None, emotion: str, duration: float, num_samples: int, temperature: float, top_k: int,
        seed: int, out_dir: str | None, device: str, use_cache: bool, shipped: str | None = None,
        written: list[Path] | None = None) -> Iterator[str]:
    """Generate and write (no checkpoint: the shipped model); yields the lines the command prints and appends each
    MIDI file to ``written``."""
    loaded = api.load_model("emopia", checkpoint, device, shipped=shipped)
    q = parse_emotion(emotion, loaded.info.get("trained_quadrants", (1, 2, 3, 4)))
    out = Path(out_dir) if out_dir else api.default_output_dir(loaded.path, "generated", loaded)
    samples, wall = timed_sample(loaded.model, loaded.info, q, duration, n=num_samples, temperature=temperature,
                                 top_k=top_k, seed=seed, use_cache=use_cache)
    name = QUADRANTS[q][0]
    records = []
    for i, s in enumerate(samples):
        path = out / f"{name}_Q{q}_seed{seed}_{i:02d}.mid"
        length = write_midi(s.score, path)
        if written is not None:
            written.append(path)
        notes = sum(len(t.notes) for t in s.score.tracks)
        records.append({"file": path.name, "emotion": name, "quadrant": q, "target_seconds": duration,
                        "seconds": round(length, 3), "notes": notes, "tokens": s.n_tokens, "stop": s.stop})
        yield f"wrote {path} ({length:.1f} s, {notes} notes, {s.n_tokens} tokens, stopped by {s.stop})"
    n_tok = sum(s.n_tokens for s in samples)
    write_json(out / f"{name}_Q{q}_seed{seed}.json", {
        "checkpoint": str(loaded.path), "emotion": name, "quadrant": q, "duration": duration,
        "temperature": temperature, "top_k": top_k, "seed": seed, "kv_cache": use_cache,
        "tokens_per_second": n_tok / wall if wall > 0 else None, "samples": records})
    yield f"{len(samples)} piece(s) of Q{q} ({name}) in {wall:.1f} s ({n_tok / max(wall, 1e-9):.0f} tokens/s)"
