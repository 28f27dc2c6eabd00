"""Sampling emotion-conditioned piano pieces of a requested duration, and writing them as MIDI with a manifest
(`run`: the body of `mlrun emopia generate`).

Incremental decoding keeps keys and values of past tokens (``use_cache``), so each new token costs one position
instead of re-running the whole context. Pieces longer than the model's window continue in a sliding window: when
the cache is full, the last half of the context is re-encoded once and decoding goes on.

Duration control: the REMI clock (Bar/Position/Tempo tokens) is followed as tokens arrive; EOS is refused before
90 % of the target, and a Bar or Position that would reach the target ends the piece there. Notes still sounding
at the target are cut, and an end marker at the clock's final position keeps a closing rest, so the file lasts the
requested time within 10 %. With ``bars`` the target is a number of 4/4 bars on the token clock instead. A grammar
mask keeps the stream valid REMI (Pitch, Velocity, Duration in order, positions moving forward) so every sample
decodes.

Classifier-free guidance (``guidance`` g): for a model trained with emotion dropout, each step runs the batch
twice, under the prompted emotion and under "no emotion", and samples from ``uncond + g * (cond - uncond)``
logits; g = 1 is the conditional model as trained, g > 1 strengthens what the emotion changes. This is the
model's own (learned) emotion response, applied before any steering.

Steering (``Steering``), applied to the logits before sampling; the model itself is unchanged:
- key: Pitch tokens outside the key's scale are refused, and its tonic and fifth gain ``tonic_bias`` (logits),
  so the piece is written in that key (constrained, not transposed afterwards);
- density: Position and Bar tokens gain ``-density * density_bias * log2(gap in seconds)``, Tempo tokens twice
  that through the beat's length, and a further Pitch at the same position a bonus (dense) or a penalty growing
  with the chord (sparse): density +1 favours short gaps, fast tempi and fuller chords (high arousal), -1 the
  opposite (low arousal);
- tempo: a fixed tempo refuses Tempo tokens; the clock runs at that tempo and the MIDI file carries it.
"""

from __future__ import annotations

import itertools
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
from .keys import Key, make_key

MIN_SECONDS, MAX_SECONDS = 2.0, 600.0
MIN_TEMPO, MAX_TEMPO = 30.0, 300.0
MIN_BARS, MAX_BARS = 1, 256
#: Steering strengths of `generate` and `evaluate --steer`, chosen on generation seeds 100-103 (docs/experiments).
TONIC_BIAS, DENSITY_BIAS = 1.0, 1.0
#: Classifier-free guidance of `generate` and `evaluate` for models trained with emotion dropout, chosen on the
#: validation split (docs/experiments/emopia.md).
GUIDANCE = 6.0
MAX_GUIDANCE = 20.0


def has_unconditional(info: dict[str, Any]) -> bool:
    """Whether the model learnt the "no emotion" class (trained with ``--emotion-dropout`` > 0)."""
    return float(info.get("emotion_dropout", 0.0)) > 0


def guidance_for(info: dict[str, Any], guidance: float | None, where: str) -> float:
    """The guidance to sample with: ``guidance`` if given (refused, naming ``where``, for a model without the
    "no emotion" class), else GUIDANCE for a model that has it and 1 (none) for one that has not."""
    if guidance is None:
        return GUIDANCE if has_unconditional(info) else 1.0
    if not (0.0 <= guidance <= MAX_GUIDANCE):
        raise UserError(f"--guidance must be between 0 and {MAX_GUIDANCE:g}, got {guidance:g}")
    if guidance != 1.0 and not has_unconditional(info):
        raise UserError(f"{where} was trained without --emotion-dropout, so it has no unconditional mode: "
                        f"--guidance {guidance:g} needs one (use --guidance 1)")
    return float(guidance)


@attrs.define
class Steering:
    """What generation is steered toward (see the module docstring); per piece keys, one density and tempo."""

    keys: list[Key | None] | None = None
    tonic_bias: float = TONIC_BIAS
    density: int = 0
    density_bias: float = DENSITY_BIAS
    tempo: float | None = None


def emotion_steering(quadrant: int, n: int, seed: int, key: Key | None = None, tempo: float | None = None,
                     tonic_bias: float = TONIC_BIAS, density_bias: float = DENSITY_BIAS) -> Steering:
    """Steering toward a quadrant's proxy cues: major (Q1, Q4) or minor (Q2, Q3) on a tonic drawn from ``seed``
    per piece (or ``key`` for all), dense onsets for high arousal (Q1, Q2), sparse ones for low (Q3, Q4)."""
    if key is None:
        tonics = np.random.RandomState(int(seed) % (2 ** 32)).randint(0, 12, size=n)
        keys = [make_key(int(t), quadrant in (2, 3)) for t in tonics]
    else:
        keys = [key] * n
    return Steering(keys, tonic_bias, 1 if quadrant in (1, 2) else -1, density_bias, tempo)


def _pitch_bias(key: Key | None, tonic_bias: float) -> np.ndarray:
    v = tokens.vocab()
    bias = np.zeros(v.size, dtype=np.float32)
    if key is None:
        return bias
    for pitch, i in v.pitch_id.items():
        pc = pitch % 12
        bias[i] = -np.inf if pc not in key.scale else (tonic_bias if pc in key.anchors else 0.0)
    return bias


def _density_bias(tracker: tokens.TimeTracker, density: int, strength: float) -> np.ndarray | None:
    """Bias toward the onset density of ``density`` (+1 dense, -1 sparse): ``-density * strength * log2(gap in
    seconds)`` over the Position and Bar tokens that may follow a note, twice that over Tempo tokens (through the
    beat's length), and on a further Pitch at the same position ``+strength`` when dense, ``-strength`` times the
    notes already there when sparse (onsets and notes per second both follow)."""
    if not density or tracker.last_kind not in (tokens.DUR, tokens.POS):
        return None
    v = tokens.vocab()
    bias = np.zeros(v.size, dtype=np.float32)
    if tracker.last_kind == tokens.POS:
        ids = v.ids_of[tokens.TEMPO]
        bias[ids] = 2 * density * strength * np.log2(v.value[ids] / tracker.tempo)
        return bias
    here = max(tracker.pos, 0)
    beat = 60.0 / tracker.tempo
    ids = v.ids_of[tokens.POS]
    gaps = np.maximum(v.value[ids] - here, 1.0) / tokens.POSITIONS_PER_BEAT * beat
    bias[ids] = -density * strength * np.log2(gaps)
    bias[v.bar] = -density * strength * np.log2(max(tokens.BAR_TICKS - here, 1) / tokens.POSITIONS_PER_BEAT * beat)
    bias[v.ids_of[tokens.PITCH]] = strength if density > 0 else -strength * tracker.notes_here
    return bias


def check_tempo(bpm: float) -> float:
    if not (MIN_TEMPO <= bpm <= MAX_TEMPO):
        raise UserError(f"--tempo must be between {MIN_TEMPO:g} and {MAX_TEMPO:g} bpm, got {bpm:g}")
    return float(bpm)


def check_bars(bars: int, tempo: float | None) -> int:
    if not (MIN_BARS <= bars <= MAX_BARS):
        raise UserError(f"--bars must be between {MIN_BARS} and {MAX_BARS}, got {bars}")
    seconds = bars_seconds(bars, tempo)
    if seconds > MAX_SECONDS:
        raise UserError(f"--bars {bars} at {tempo or tokens.DEFAULT_TEMPO:g} bpm lasts {seconds:.0f} s, over the "
                        f"{MAX_SECONDS:g} s limit")
    return int(bars)


def bars_seconds(bars: int, tempo: float | None) -> float:
    """Length of ``bars`` bars of 4/4 at ``tempo`` (default: the tokenizer's 120 bpm)."""
    return bars * 4 * 60.0 / float(tempo or tokens.DEFAULT_TEMPO)


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
           top_k: int = 10, seed: int = 0, use_cache: bool = True, max_tokens: int | None = None,
           steering: Steering | None = None, bars: int | None = None, guidance: float = 1.0,
           fill_beats: bool = False) -> list[Sample]:
    """Generate ``n`` pieces of ``seconds`` (or of ``bars`` 4/4 bars) for a quadrant (1..4) in one batch, with
    classifier-free ``guidance`` when it is not 1 (the model must have the "no emotion" class); ``fill_beats``
    refuses a Bar or Position that would leave a whole beat silent."""
    steering = steering or Steering()
    tempo = steering.tempo
    if bars is not None:
        seconds = bars_seconds(bars, tempo)
        target_ticks = float(bars * tokens.BAR_TICKS)
    seconds = check_duration(seconds) if bars is None else float(seconds)
    device = next(itertools.chain(model.parameters(), model.buffers())).device
    v = tokens.vocab()
    window = model.max_seq_len
    keep = max(1, window // 2)
    rate = float(info.get("tokens_per_second", {}).get(f"Q{quadrant}", 40.0))
    budget = max_tokens or int(4 * rate * seconds + 256)
    gen = torch.Generator().manual_seed(int(seed))
    guided = guidance != 1.0
    rows = 2 * n if guided else n  # guided: rows n.. are the same pieces under "no emotion"
    emotion = torch.full((rows,), quadrant - 1, dtype=torch.long, device=device)
    if guided:
        emotion[n:] = int(info.get("n_emotions", 4))
    duration = torch.full((rows,), seconds / float(info.get("duration_scale", 60.0)), device=device)
    trackers = [tokens.TimeTracker(tempo or tokens.DEFAULT_TEMPO) for _ in range(n)]
    keys = steering.keys or [None] * n
    fixed = np.stack([_pitch_bias(k, steering.tonic_bias) for k in keys])
    if tempo is not None:
        fixed[:, v.ids_of[tokens.TEMPO]] = -np.inf
    fixed_bias = torch.from_numpy(fixed) if (keys != [None] * n or tempo is not None) else None
    seqs = torch.full((n, 1), v.bos, dtype=torch.long)
    stops: list[str | None] = [None] * n
    clocks = [0.0] * n  # where each piece ends: the refused Bar/Position's time, or the clock at EOS

    def reached(tr: tokens.TimeTracker, tok: int) -> bool:
        return tr.ticks_if(tok) >= target_ticks if bars is not None else tr.seconds_if(tok) >= seconds

    def eos_ok(tr: tokens.TimeTracker) -> bool:
        return tr.ticks() >= 0.9 * target_ticks if bars is not None else tr.seconds >= 0.9 * seconds

    cache = None
    ctx_start = 0
    for _ in range(budget):
        length = seqs.shape[1]
        if length - ctx_start > window:
            ctx_start = length - keep
            cache = None
        inputs = torch.cat([seqs, seqs]) if guided else seqs
        if use_cache:
            if cache is None:
                cache = model.new_cache(rows, device)
                logits = model(inputs[:, ctx_start:].to(device), emotion, duration, cache)[:, -1]
            else:
                logits = model(inputs[:, -1:].to(device), emotion, duration, cache)[:, -1]
        else:
            logits = model(inputs[:, ctx_start:].to(device), emotion, duration)[:, -1]
        logits = logits.float().cpu()
        if guided:
            logits = logits[n:] + guidance * (logits[:n] - logits[n:])
        if fixed_bias is not None:
            logits = logits + fixed_bias
        if steering.density:
            for i, tr in enumerate(trackers):
                b = _density_bias(tr, steering.density, steering.density_bias)
                if b is not None:
                    logits[i] += torch.from_numpy(b)
        masks = np.stack([tr.allowed(eos_ok=eos_ok(tr)) for tr in trackers])
        if fill_beats:
            for i, tr in enumerate(trackers):
                fill = tr.no_silent_beat()
                if fill is not None and (masks[i] & fill).any():
                    masks[i] = masks[i] & fill
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
            if v.kind[tok] in (tokens.BAR, tokens.POS) and reached(trackers[i], tok):
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
        target = seconds if bars is None else trackers[i].seconds_at(target_ticks)
        s = Sample(quadrant, ids, target, clock, stops[i] or "budget")
        s.score = to_score(ids, target, clock, tempo=tempo, key=keys[i])
        out.append(s)
    return out


def to_score(ids: list[int], target: float, clock: float, tempo: float | None = None, key: Key | None = None) -> Any:
    """Decode to a seconds-based score, cut at ``target``, with an end marker at the closing position; a fixed
    ``tempo`` replaces the decoded tempo map and ``key`` adds its key signature."""
    import symusic

    score = tokens.decode(ids)
    if tempo is not None:
        score.tempos.clear()
        score.tempos.append(symusic.Tempo(time=0, qpm=float(tempo)))
    if key is not None:
        score.key_signatures.append(symusic.KeySignature(time=0, key=key.fifths, tonality=int(key.minor)))
    score = score.to("second")
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


def run(checkpoint: str | None, emotion: str, duration: float | None, num_samples: int, temperature: float, top_k: int,
        seed: int, out_dir: str | None, device: str, use_cache: bool, shipped: str | None = None,
        written: list[Path] | None = None, key: Key | None = None, tempo: float | None = None,
        bars: int | None = None, steer: bool = True, guidance: float | None = None,
        fill_beats: bool = True) -> Iterator[str]:
    """Generate and write (no checkpoint: the shipped model); yields the lines the command prints and appends each
    MIDI file to ``written``. ``guidance``: classifier-free guidance (None: the model's default); ``steer``: emotion
    steering (mode and onset density of the quadrant); ``key`` and ``tempo`` apply with or without it;
    ``fill_beats``: no whole beat left silent."""
    loaded = api.load_model("emopia", checkpoint, device, shipped=shipped)
    guidance = guidance_for(loaded.info, guidance, str(loaded.path))
    q = parse_emotion(emotion, loaded.info.get("trained_quadrants", (1, 2, 3, 4)))
    out = Path(out_dir) if out_dir else api.default_output_dir(loaded.path, "generated", loaded)
    if steer:
        steering = emotion_steering(q, num_samples, seed, key=key, tempo=tempo)
    else:
        steering = Steering([key] * num_samples if key else None, tempo=tempo)
    seconds = float(duration if duration is not None else 30.0)
    samples, wall = timed_sample(loaded.model, loaded.info, q, seconds, n=num_samples, temperature=temperature,
                                 top_k=top_k, seed=seed, use_cache=use_cache, steering=steering, bars=bars,
                                 guidance=guidance, fill_beats=fill_beats)
    name = QUADRANTS[q][0]
    records = []
    for i, s in enumerate(samples):
        path = out / f"{name}_Q{q}_seed{seed}_{i:02d}.mid"
        length = write_midi(s.score, path)
        if written is not None:
            written.append(path)
        notes = sum(len(t.notes) for t in s.score.tracks)
        piece_key = (steering.keys or [None] * num_samples)[i]
        records.append({"file": path.name, "emotion": name, "quadrant": q, "target_seconds": round(s.target_seconds, 3),
                        "seconds": round(length, 3), "notes": notes, "tokens": s.n_tokens, "stop": s.stop,
                        "key": piece_key.name if piece_key else None})
        where = f", {piece_key.name}" if piece_key else ""
        yield f"wrote {path} ({length:.1f} s{where}, {notes} notes, {s.n_tokens} tokens, stopped by {s.stop})"
    n_tok = sum(s.n_tokens for s in samples)
    write_json(out / f"{name}_Q{q}_seed{seed}.json", {
        "checkpoint": str(loaded.path), "emotion": name, "quadrant": q,
        "duration": None if bars is not None else seconds, "bars": bars, "tempo": tempo,
        "key": key.name if key else None,
        "steering": {"mode_and_density": steer, "tonic_bias": steering.tonic_bias if steering.keys else None,
                     "density": steering.density, "density_bias": steering.density_bias if steering.density else None},
        "guidance": guidance, "fill_beats": fill_beats, "temperature": temperature, "top_k": top_k, "seed": seed,
        "kv_cache": use_cache,
        "tokens_per_second": n_tok / wall if wall > 0 else None, "samples": records})
    yield f"{len(samples)} piece(s) of Q{q} ({name}) in {wall:.1f} s ({n_tok / max(wall, 1e-9):.0f} tokens/s)"
