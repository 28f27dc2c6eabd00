"""Sampling melodies from any chromasonic model (LSTM, Transformer or Markov): seed notes, openings, and the body of
``mlrun chromasonic generate`` (load a checkpoint, build the opening, sample, write MIDI and ABC)."""

from __future__ import annotations

import logging
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import torch

from mlrun_music.api import load_model
from mlrun_music.errors import UserError
from mlrun_music.fileio import refuse_overwrite_of_inputs

from .data.abc import parse_abc_file
from .data.melody import (PAD_ID, SPECIALS, UNK_ID, Melody, Vocabulary, estimate_sharps, event_token, events,
                          note_name, parse_note_name, parse_token, quantize_duration, signature_shift, tokens_of)
from .data.midi import write_abc, write_midi
from .data.notation import (Key, Meter, beat_length, complete_bars, from_training_frame, key_of_sharps, parse_key,
                            parse_meter, pickup_phase, seed_key, seed_meter)
from .data.splits import rebuild_data
from .models.neural import log_probs


#: Sampling rules of ``generate --rhythm`` and of the evaluation's sampling (``--rhythm``).
RHYTHMS = ("metre", "free")
#: Positions in the bar are counted in 1/48 of a quarter: the twelfths of the duration grid and every metre's bar
#: and beat (down to a 1/32 denominator's unit, 6/48) are whole numbers of it.
TICKS = 48
EIGHTH = TICKS // 2


def _ticks(quarters: Fraction | float) -> int:
    return round(Fraction(quarters).limit_denominator(TICKS) * TICKS)


class MetreRule:
    """The ``metre`` sampling rule: each row is a melody in a metre, at a known position in its bar when sampling
    starts; a sampled event may not cross the next bar line, and one that starts off the eighth grid (counted from
    the bar line) must end by the next beat. The model's probabilities are renormalised over the events allowed,
    so every bar of the continuation is full and an excursion off the grid (a triplet, a dotted rhythm) returns to
    the beat instead of shifting every later onset; a note on the grid may still syncopate across a beat. When no
    event of the vocabulary fits, the bar rule alone applies, then none. A rule of generation only: the models are
    trained and scored (perplexity) without it."""

    def __init__(self, vocab: Vocabulary, meters: Sequence[Meter], positions: Sequence[Fraction]) -> None:
        if len(meters) != len(positions):
            raise ValueError("one metre and one position per melody")
        self.durations = torch.tensor([0 if t in SPECIALS else _ticks(parse_token(t)[1]) for t in vocab.tokens],
                                      dtype=torch.long)
        self.bar = torch.tensor([_ticks(m.bar) for m in meters], dtype=torch.long)
        self.beat = torch.tensor([_ticks(beat_length(m)) for m in meters], dtype=torch.long)
        self.position = torch.tensor([_ticks(p) for p in positions], dtype=torch.long) % self.bar

    def allowed(self, rows: Sequence[int]) -> torch.Tensor:
        """(len(rows), V) booleans: the events each row may take next."""
        idx = torch.tensor(list(rows), dtype=torch.long)
        pos, bar, beat = self.position[idx, None], self.bar[idx, None], self.beat[idx, None]
        end = pos + self.durations[None, :]
        real = self.durations[None, :] > 0
        in_bar = real & (end <= bar)
        back_by_beat = (pos % EIGHTH == 0) | (end <= (pos // beat + 1) * beat)
        ok = in_bar & back_by_beat
        fallback = ~ok.any(dim=1, keepdim=True)
        ok = torch.where(fallback, in_bar, ok)
        return torch.where(~ok.any(dim=1, keepdim=True), real, ok)

    def advance(self, rows: Sequence[int], tokens: torch.Tensor) -> None:
        idx = torch.tensor(list(rows), dtype=torch.long)
        self.position[idx] = (self.position[idx] + self.durations[tokens.view(-1).cpu()]) % self.bar[idx]


@torch.no_grad()
def sample(model: torch.nn.Module, openings: Sequence[Sequence[int]], length: int, context: int,
           temperature: float = 1.0, seed: int = 0, top_k: int = 0, rule: MetreRule | None = None
           ) -> list[list[int]]:
    """Continue each opening by ``length`` sampled events (batched); the model sees the last ``context`` events.

    ``<pad>`` and ``<unk>`` are never sampled; with a ``rule`` (one row per opening) only the events it allows.
    Openings may differ in length: shorter ones are left-padded only in bookkeeping, each row is run at its own
    length.
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
            if rule is not None:
                lp = lp.masked_fill(~rule.allowed(rows), float("-inf"))
            if top_k > 0:
                kth = torch.topk(lp, min(top_k, lp.shape[-1]), dim=-1).values[:, -1:]
                lp = lp.masked_fill(lp < kth, float("-inf"))
            nxt = torch.multinomial(torch.softmax(lp, dim=-1), 1, generator=g)
            if rule is not None:
                rule.advance(rows, nxt)
            seqs = torch.cat([seqs, nxt], dim=1)
        for r, i in enumerate(rows):
            out[i] = seqs[r].tolist()
    return out


def read_seed_notes(text: str) -> list[tuple[str, int | None, float]]:
    """``"C4:1 D4:0.5 r:0.5 E4"`` -> ``(item, pitch, quarters)`` (duration defaults to one quarter)."""
    items = text.replace(",", " ").split()
    if not items:
        raise UserError("--seed-notes: no notes given (example: --seed-notes 'C4:1 D4:0.5 r:0.5 E4:1')")
    out = []
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
        out.append((item, pitch, dur))
    return out


def parse_seed_notes(text: str, vocab: Vocabulary, info: dict[str, Any], key: Key | None = None) -> list[int]:
    """``"C4:1 D4:0.5 r:0.5 E4"`` -> token ids (duration defaults to one quarter; ``62:1/2`` works too).

    The notes are in ``key`` (C major when not given); a model trained with key normalisation reads them transposed to the
    white keys. Every seed event must be in the model's vocabulary (after the same quantisation as training);
    otherwise a UserError names it and lists the nearest events the model knows.
    """
    ids = []
    index = vocab.index
    key = key or Key("C", "", 0)
    shift = signature_shift(key.sharps) if info.get("normalize_key") else 0
    for item, pitch, dur in read_seed_notes(text):
        pitch = None if pitch is None else min(127, max(0, pitch + shift))
        token = event_token(pitch, quantize_duration(dur, info.get("max_duration", 8.0)))
        if token not in index:
            known = [t for t in vocab.tokens[2:] if t.split("_")[0] == token.split("_")[0]]
            hint = (f"durations known for {note_name(pitch)}: " + ", ".join(t.split("_")[1] for t in known[:12])
                    if known else f"pitches known: {_pitch_span(vocab)}")
            keyed = (f" (read in {key.name}, transposed to the white keys the model was trained "
                     f"in)") if info.get("normalize_key") else ""
            raise UserError(f"--seed-notes: '{item}' is not in the model's vocabulary{keyed}; {hint}")
        ids.append(index[token])
    return ids


def _pitch_span(vocab: Vocabulary) -> str:
    pitches = sorted(vocab.pitches())
    return f"{note_name(pitches[0])}..{note_name(pitches[-1])}" if pitches else "none"


def _rebuild(config: Any, log: logging.Logger) -> Any:
    """The checkpoint's dataset, rebuilt from its config; its data report goes to a temporary folder (not beside
    the checkpoint, which may be a shipped model inside the installed package)."""
    with tempfile.TemporaryDirectory(prefix="chromasonic-generate-") as tmp:
        return rebuild_data(config, log, Path(tmp), "chromasonic")


def _opening_from_tune(seed_from: str, loaded: Any, length: int, log: logging.Logger) -> tuple[list[int], Melody]:
    info, config = loaded.info, loaded.config
    vocab = Vocabulary(tuple(info["vocab"]))
    path = Path(seed_from)
    if path.suffix.lower() == ".abc" or path.is_file():
        if not path.is_file():
            raise UserError(f"--seed-from: {path} does not exist")
        res = parse_abc_file(str(path), path.name, max_melodies=1)
        if not res["melodies"]:
            why = res.get("file_error") or (res["skipped"][0]["reason"] if res["skipped"] else "no tunes")
            raise UserError(f"--seed-from: no usable tune in {path} ({why})")
        melody = Melody.from_json(res["melodies"][0])
    else:
        data = _rebuild(config, log)
        wanted = seed_from.lower()
        found = [m for ds in (data.test, data.val, data.train) if ds is not None for m in ds.melodies
                 if wanted in m.title.lower()]
        if not found:
            raise UserError(f"--seed-from: no tune titled like '{seed_from}' in the run's dataset "
                            f"(pass an .abc file, or a title such as '{data.test.melodies[0].title}')")
        melody = found[0]
    ids = vocab.encode(tokens_of(melody, info["normalize_key"], info["max_duration"]))[:length]
    return ids, melody


def _tune_key_meter(melody: Melody) -> tuple[Key, Meter | None]:
    sharps = melody.key_sharps if melody.key_sharps is not None else estimate_sharps(melody.notes)
    return seed_key(melody.key, sharps), seed_meter(melody.meter)


def held_out_opening(melodies: Sequence[Melody], key: Key | None, meter: Meter | None, random_seed: int) -> Melody:
    """The held-out tune that opens a melody when no seed is given: picked by ``random_seed`` among the tunes in
    the mode of ``key`` (major, minor, ...) and in ``meter`` when there are any, else among those in the metre,
    else those in the mode, else all, so that the opening already sounds as asked."""
    keys_meters = [_tune_key_meter(m) for m in melodies]
    for want_mode, want_meter in ((True, True), (False, True), (True, False), (False, False)):
        fit = [m for m, (k, mt) in zip(melodies, keys_meters)
               if (not want_mode or key is None or k.mode == key.mode)
               and (not want_meter or meter is None or mt == meter)]
        if fit:
            return fit[random_seed % len(fit)]
    raise UserError("the model's dataset has no held-out tune to open with; give --seed-notes or --seed-from")


def key_in_seed_mode(asked: Key, seed: Key) -> Key:
    """``--key`` names the tonic; a seed tune in another mode keeps its mode (a minor seed with ``--key G`` is
    written in G minor: the model continues the seed's mode, and the written key says where its tonic is)."""
    if asked.mode == seed.mode:
        return asked
    try:
        return parse_key(asked.tonic + seed.mode)
    except UserError:  # the tonic in that mode would need more than 7 sharps or flats
        return asked


def run_generate(checkpoint: str, *, seed_notes: str | None, seed_from: str | None, seed_length: int,
                 length: int, temperature: float, top_k: int, random_seed: int, bpm: float, out: str,
                 abc_out: str | None, device: str, key: str | None = None, meter: str | None = None,
                 rhythm: str = "metre") -> dict[str, Any]:
    """Generate one melody in the seed's key and metre (or ``key`` / ``meter``); returns what was written.

    Models trained on tunes transposed to the white keys generate there; the melody is transposed back to the
    key. A seed tune's pickup (found from its notes) opens the first bar; the last bar is filled with a rest.
    ``rhythm="metre"`` samples under :class:`MetreRule` in the written metre, ``"free"`` from the model alone."""
    if rhythm not in RHYTHMS:
        raise UserError(f"--rhythm: use {' or '.join(RHYTHMS)}, not '{rhythm}'")
    if seed_notes and seed_from:
        raise UserError("use either --seed-notes or --seed-from, not both")
    asked_key = parse_key(key) if key else None
    key_asked, key_note = asked_key, ""
    asked_meter = parse_meter(meter) if meter else None
    seed_file = seed_from if seed_from and Path(seed_from).is_file() else None
    refuse_overwrite_of_inputs(out, checkpoint, seed_file, option="--out")
    refuse_overwrite_of_inputs(abc_out, checkpoint, seed_file, out, option="--abc")
    log = logging.getLogger("mlrun_music")
    loaded = load_model("chromasonic", checkpoint, device)
    info = loaded.info
    vocab = Vocabulary(tuple(info["vocab"]))
    title = "chromasonic melody"
    tune_meter: Meter | None = None
    tune: Melody | None = None
    if seed_notes:
        given = [(p, d) for _, p, d in read_seed_notes(seed_notes)]
        tune_key = asked_key or key_of_sharps(estimate_sharps(given))
        opening = parse_seed_notes(seed_notes, vocab, info, tune_key)
        opening_quarters = sum((quantize_duration(d, info.get("max_duration", 8.0)) for _, d in given), Fraction(0))
    else:
        if seed_from:
            opening, tune = _opening_from_tune(seed_from, loaded, seed_length, log)
        else:
            data = _rebuild(loaded.config, log)
            tune = held_out_opening(data.test.melodies, asked_key, asked_meter, random_seed)
            opening = vocab.encode(tokens_of(tune, info["normalize_key"], info["max_duration"]))[:seed_length]
        tune_key, tune_meter = _tune_key_meter(tune)
        if asked_key is not None:
            asked_key = key_in_seed_mode(asked_key, tune_key)
            if asked_key.name != key_asked.name:
                key_note = (f"the opening tune is in {tune_key.name}: --key {key} keeps its tonic in that mode, "
                            f"{asked_key.name}")
        title = f"after {tune.title}" if tune.title else title
        # the opening's own durations, <unk> events included: they sound in the tune before the continuation
        opening_quarters = sum((d for _, d in events(tune, False, info["max_duration"])[:len(opening)]),
                               Fraction(0))
    written_key = asked_key or tune_key
    written_meter = asked_meter or tune_meter or Meter(4, 4)
    pickup = pickup_phase(tune.notes, written_meter) if tune is not None else Fraction(0)
    rule = MetreRule(vocab, [written_meter], [opening_quarters - pickup]) if rhythm == "metre" else None
    ids = sample(loaded.model, [opening], length, int(info["sequence_length"]), temperature, random_seed,
                 top_k, rule)[0]
    melody = vocab.decode(ids)
    if not melody:
        raise UserError("the generated melody is empty")
    if info.get("normalize_key"):
        melody = from_training_frame(melody, written_key.sharps)
    notes = len(melody)
    melody = complete_bars(melody, written_meter, pickup)
    written = write_midi(melody, out, bpm=bpm, key=written_key, meter=written_meter)
    unknown = opening.count(UNK_ID)  # a --seed-from tune's events the model never saw: context only, not written
    result = {"out": str(written), "notes": notes, "opening": len(opening) - unknown, "generated": length,
              "unknown_opening": unknown, "seconds": sum(d for _, d in melody) * 60.0 / bpm,
              "key": written_key.name, "meter": written_meter.text, "rhythm": rhythm, "melody": melody,
              "key_note": key_note}
    if abc_out:
        result["abc"] = str(write_abc(melody, abc_out, title, meter=written_meter, key=written_key, bpm=bpm,
                                      pickup=pickup))
    return result
