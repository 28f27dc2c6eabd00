"""Held-out evaluation of one model: next-event accuracy and perplexity (teacher-forced, the same positions and
context for every model), then diversity / coherence / musicality of melodies it generates from held-out openings,
with the same figures for the real held-out tunes as a reference.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json

from . import metrics as M
from ..data.splits import TuneWindows, rebuild_data, retokenize, windows_from_melodies
from ..generate import MetreRule, sample
from ..data.melody import PAD_ID, Vocabulary, events
from ..data.midi import write_midi
from ..data.notation import Meter, pickup_phase, seed_meter
from ..models.neural import log_probs


@torch.no_grad()
def score_tunes(model: torch.nn.Module, tunes: list[list[int]], context: int, batch_size: int = 64,
                device: Any = "cpu") -> dict[str, float]:
    """Teacher-forced next-event log-likelihood on whole tunes.

    Each tune is read in windows of ``context`` events with a stride of half a window; each event (from the
    second on) is scored once, with at least half a window of preceding context when the tune has it. Events
    whose target is ``<unk>`` count as they are (all models share the vocabulary, so figures stay comparable).
    """
    stride = max(1, context // 2)
    rows: list[tuple[list[int], int]] = []  # (window ids, first scored target index inside the window)
    for tune in tunes:
        if len(tune) < 2:
            continue
        start, scored_to = 0, 0  # scored_to: last absolute target index already scored
        while True:
            window = tune[start:start + context + 1]
            first = max(0, scored_to - start)  # target j of the window is tune[start + j + 1]
            rows.append((window, first))
            scored_to = start + len(window) - 1
            if start + context + 1 >= len(tune):
                break
            start += stride
    nll, correct, count = 0.0, 0, 0
    model.eval()
    for i in range(0, len(rows), batch_size):
        chunk = rows[i:i + batch_size]
        width = max(len(w) for w, _ in chunk)
        batch = torch.full((len(chunk), width), PAD_ID, dtype=torch.long)
        mask = torch.zeros(len(chunk), width - 1, dtype=torch.bool)
        for r, (w, first) in enumerate(chunk):
            batch[r, :len(w)] = torch.tensor(w)
            mask[r, first:len(w) - 1] = True
        batch = batch.to(device)
        lp = log_probs(model, batch[:, :-1]).cpu()
        targets = batch[:, 1:].cpu()
        picked = lp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        nll -= float(picked[mask].sum())
        correct += int(((lp.argmax(-1) == targets) & mask).sum())
        count += int(mask.sum())
    if count == 0:
        raise UserError("no held-out events to score (every held-out tune is shorter than 2 events)")
    mean_nll = nll / count
    return {"accuracy": correct / count, "cross_entropy": mean_nll, "perplexity": math.exp(mean_nll),
            "scored_events": count}


def openings_and_references(ds: TuneWindows, n: int, opening: int) -> tuple[list[list[int]], list[int]]:
    """``n`` openings from held-out tunes and the tune index of each: tunes spread evenly over the held-out set
    (which keeps its sources' order, so the first ``n`` would all come from one collection), every tune in turn
    when there are fewer than ``n``."""
    usable = [i for i, t in enumerate(ds.tunes) if len(t) > opening]
    if not usable:
        raise UserError(f"no held-out tune is longer than --opening-length {opening}")
    if n <= len(usable):
        picks = [usable[k * len(usable) // n] for k in range(n)]
    else:
        picks = [usable[k % len(usable)] for k in range(n)]
    return [ds.tunes[i][:opening] for i in picks], picks


def evaluate_model(model: torch.nn.Module, info: dict[str, Any], ds: TuneWindows, options: Any,
                   device: Any = "cpu", examples_dir: Path | None = None, label: str = "") -> dict[str, Any]:
    """Every figure for one model on one held-out set (see the module docstring)."""
    vocab = Vocabulary(tuple(info["vocab"]))
    context = int(info["sequence_length"])
    scores = score_tunes(model, ds.tunes, context, options.batch_size, device)
    openings, picks = openings_and_references(ds, options.num_generated, options.opening_length)
    placed = placements(ds, info, picks, options.opening_length)
    rule = (MetreRule(vocab, [meter for meter, _, _ in placed], [start - phase for _, start, phase in placed])
            if options.rhythm == "metre" else None)
    generated_ids = sample(model, openings, options.generate_length, context, options.temperature,
                           options.generation_seed, rule=rule)
    generated = [vocab.decode(g[options.opening_length:]) for g in generated_ids]
    references = [vocab.decode(ds.tunes[i][options.opening_length:options.opening_length + options.generate_length])
                  for i in sorted(set(picks))]
    pitch_count = len(vocab.pitches())
    gen = M.melody_metrics(generated, pitch_count)
    ref = M.melody_metrics(references, pitch_count)
    gen_metre, ref_metre = metrical(ds, info, picks, placed, generated, options)
    gen.update(gen_metre)
    ref.update(ref_metre)
    gen["feature_overlap"], ref["feature_overlap_other_tunes"] = overlaps(ds, vocab, picks, placed, generated,
                                                                          references, options)
    ppl_score = M.perplexity_score(scores["perplexity"], len(vocab) - 1)  # <pad> is never a candidate
    result = {
        "model": label, "held_out_tunes": len(ds.tunes), **scores, "perplexity_score": ppl_score,
        **gen, "overall": M.overall(scores["accuracy"], ppl_score, gen["diversity"], gen["coherence"],
                                    gen["musicality"]),
        "reference": {**ref, "tunes": len(references)},
        "generation": {"melodies": len(generated), "opening_length": options.opening_length,
                       "length": options.generate_length, "temperature": options.temperature,
                       "seed": options.generation_seed, "rhythm": options.rhythm},
        "vocab_size": len(vocab),
    }
    if examples_dir is not None:
        for k, mel in enumerate(generated[:3]):
            write_midi(vocab.decode(generated_ids[k]), examples_dir / f"{label or 'model'}_example_{k + 1}.mid")
    return result


def placements(ds: TuneWindows, info: dict[str, Any], picks: list[int], opening_length: int
               ) -> list[tuple[Meter, Fraction, Fraction]]:
    """Where each continuation sits: its tune's metre (4/4 when the tune has none), the position where the
    continuation starts (the opening's length in quarters) and the first bar line (the pickup estimated from the
    tune's own notes)."""
    out = []
    for i in picks:
        melody = ds.melodies[i]
        real = events(melody, info["normalize_key"], info["max_duration"])
        meter = seed_meter(melody.meter) or Meter(4, 4)
        start = sum((Fraction(d) for _, d in real[:opening_length]), Fraction(0))
        out.append((meter, start, pickup_phase(real, meter)))
    return out


def metrical(ds: TuneWindows, info: dict[str, Any], picks: list[int],
             placed: list[tuple[Meter, Fraction, Fraction]], generated: list[list[tuple]], options: Any
             ) -> tuple[dict[str, float], dict[str, float]]:
    """Metrical figures of the generated continuations and of the real ones, each placed as ``placements`` says
    (the same placement the metre rule samples under)."""
    gen_pieces, ref_pieces, seen = [], [], set()
    for k, i in enumerate(picks):
        meter, start, phase = placed[k]
        gen_pieces.append((generated[k], start, meter, phase))
        if i not in seen:
            seen.add(i)
            real = events(ds.melodies[i], info["normalize_key"], info["max_duration"])
            ref_pieces.append((real[options.opening_length:options.opening_length + options.generate_length],
                               start, meter, phase))
    return M.metrical_metrics(gen_pieces), M.metrical_metrics(ref_pieces)


def overlaps(ds: TuneWindows, vocab: Vocabulary, picks: list[int], placed: list[tuple[Meter, Fraction, Fraction]],
             generated: list[list[tuple]], references: list[list[tuple]], options: Any
             ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Feature overlap (``metrics.feature_overlap``) of the generated continuations with the real continuations of
    the same openings, and, as the figure real tunes reach, of the real continuations of the held-out tunes that
    gave no opening with those of the tunes that did (each piece in its tune's metre)."""
    meter_of = {i: placed[k][0] for k, i in enumerate(picks)}
    real = [M.melody_features(notes, meter_of[i]) for notes, i in zip(references, sorted(set(picks)))]
    made = [M.melody_features(notes, meter) for notes, (meter, _, _) in zip(generated, placed)]
    opening, length = options.opening_length, options.generate_length
    others = [M.melody_features(vocab.decode(ds.tunes[i][opening:opening + length]),
                                seed_meter(ds.melodies[i].meter) or Meter(4, 4))
              for i, tune in enumerate(ds.tunes) if len(tune) > opening and i not in meter_of]
    real = [f for f in real if f is not None]
    return (M.feature_overlap(real, [f for f in made if f is not None]),
            M.feature_overlap(real, [f for f in others if f is not None]))


def held_out_set(config: Any, info: dict[str, Any], split: str, data_dir: str | None, log: Any,
                 out_dir: Path, task_name: str = "chromasonic") -> TuneWindows:
    """The tunes to evaluate on: ``--data DIR`` (all its ABC tunes) or the run's own split, rebuilt from the
    checkpoint's config and encoded with the checkpoint's vocabulary."""
    if data_dir:
        from ..data.sources import load_abc_folder

        melodies, _ = load_abc_folder(Path(data_dir), config, log)
        melodies = [m for m in melodies if len(m.notes) >= 2]
        if not melodies:
            raise UserError(f"--data: no tune in {data_dir} has 2 or more notes")
        return windows_from_melodies(melodies, info)
    if split not in ("train", "val", "test"):
        raise UserError(f"--split: use train, val or test, not '{split}'")
    data = rebuild_data(config, log, out_dir, task_name)
    ds = getattr(retokenize(data, info, config), split)
    if ds is None or not ds.tunes:
        raise UserError(f"--split {split}: the dataset has no {split} tunes")
    return ds


def evaluate(ctx: Any) -> dict[str, Any]:
    """The ``mlrun evaluate chromasonic CHECKPOINT`` hook."""
    from ..config import EvaluateConfig

    options = ctx.options or EvaluateConfig()
    ds = held_out_set(ctx.config, ctx.info, ctx.split, ctx.data, ctx.log, ctx.out_dir, ctx.task)
    name = ctx.checkpoint_path.stem.replace("_best", "").replace("_final", "")
    result = evaluate_model(ctx.model, ctx.info, ds, options, ctx.device, ctx.out_dir / "examples", name)
    result["split"] = "data" if ctx.data else ctx.split
    write_json(ctx.out_dir / f"{name}_evaluation.json", result)
    return result
