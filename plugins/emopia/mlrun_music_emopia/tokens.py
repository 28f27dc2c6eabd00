"""MIDI <-> event tokens with miditok's REMI, plus what generation needs to know about the token grammar.

Why REMI through miditok (measured, see BENCHMARKS.md): it is the field's maintained tokenizer; it parses with
symusic (C++), which is fast on whole corpora; it has a beat grid (Bar/Position), so rhythm is explicit; tempo is a
token, which matters for emotion (arousal); and its round trip keeps every note within the grid. A hand-written
time-shift vocabulary like the original's would tie rhythm to absolute milliseconds and hide the tempo.

Settings: 4/4 grid of 8 positions per beat, 16 velocity bins, 33 tempo bins of 5 bpm (40-200), pitches 21-108.
Drum tracks are dropped explicitly (counted by the loader); all other tracks are merged into one piano stream.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

TOKENIZER_VERSION = "miditok-REMI/1"
POSITIONS_PER_BEAT = 8
BAR_TICKS = 4 * POSITIONS_PER_BEAT  # the grid is 4/4 (time signatures are not tokenized)
DEFAULT_TEMPO = 120.0

# Token kinds (index into the grammar tables).
PAD, BOS, EOS, MASK, BAR, POS, TEMPO, PITCH, VEL, DUR, OTHER = range(11)
_KIND_OF_PREFIX = {"PAD": PAD, "BOS": BOS, "EOS": EOS, "MASK": MASK, "Bar": BAR, "Position": POS, "Tempo": TEMPO,
                   "Pitch": PITCH, "Velocity": VEL, "Duration": DUR}


class SkipClip(Exception):
    """A file that cannot be used; the message is the reason counted in the data report."""


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """The one REMI tokenizer this plugin uses (deterministic vocabulary)."""
    from miditok import REMI, TokenizerConfig

    config = TokenizerConfig(
        pitch_range=(21, 109), beat_res={(0, 4): POSITIONS_PER_BEAT, (4, 12): 4}, num_velocities=16,
        special_tokens=["PAD", "BOS", "EOS", "MASK"], use_tempos=True, num_tempos=33, tempo_range=(40, 200),
        use_time_signatures=False, use_programs=False,
    )
    return REMI(config)


class Vocab:
    """Per-token-id tables: kind and value, used for grammar masks, time tracking and augmentation."""

    def __init__(self) -> None:
        tok = tokenizer()
        vocab: dict[str, int] = tok.vocab
        self.size = len(vocab)
        self.names = [""] * self.size
        self.kind = np.full(self.size, OTHER, dtype=np.int64)
        self.value = np.zeros(self.size, dtype=np.float64)  # position ticks, tempo bpm, pitch, velocity
        self.dur_ticks = np.zeros(self.size, dtype=np.float64)
        for name, i in vocab.items():
            self.names[i] = name
            prefix, _, val = name.partition("_")
            kind = _KIND_OF_PREFIX.get(prefix, OTHER)
            self.kind[i] = kind
            if kind in (POS, TEMPO, PITCH, VEL):
                self.value[i] = float(val)
            elif kind == DUR:  # "beats.positions.resolution"
                b, p, r = (int(x) for x in val.split("."))
                self.dur_ticks[i] = (b + p / r) * POSITIONS_PER_BEAT
        self.pad, self.bos, self.eos = vocab["PAD_None"], vocab["BOS_None"], vocab["EOS_None"]
        self.bar = vocab["Bar_None"]
        self.ids_of = {k: np.nonzero(self.kind == k)[0] for k in range(11)}
        self.pitch_id = {int(self.value[i]): int(i) for i in self.ids_of[PITCH]}
        self.tempo_values = self.value[self.ids_of[TEMPO]]
        self.vel_values = self.value[self.ids_of[VEL]]

    # -- augmentation tables (train only) --------------------------------------------------------------
    def transpose_table(self, semitones: int) -> np.ndarray | None:
        """id -> id with pitches shifted, or None when a pitch would leave the range (caller keeps 0)."""
        table = np.arange(self.size)
        for p, i in self.pitch_id.items():
            j = self.pitch_id.get(p + semitones)
            if j is None:
                return None
            table[i] = j
        return table

    def scale_table(self, kind: int, factor: float) -> np.ndarray:
        """id -> id with tempo or velocity values multiplied by ``factor`` (nearest bin)."""
        table = np.arange(self.size)
        ids = self.ids_of[kind]
        values = self.value[ids]
        for i, v in zip(ids, values):
            table[i] = ids[int(np.argmin(np.abs(values - v * factor)))]
        return table


@lru_cache(maxsize=1)
def vocab() -> Vocab:
    return Vocab()


def piano_score(score: Any) -> tuple[Any, int]:
    """Drop drum tracks and merge the rest into one piano track. Returns (score, drum tracks dropped).

    Raises SkipClip for files with no notes or only drums.
    """
    import symusic

    drums = [t for t in score.tracks if t.is_drum]
    pitched = [t for t in score.tracks if not t.is_drum]
    n_pitched = sum(len(t.notes) for t in pitched)
    if n_pitched == 0:
        if any(len(t.notes) for t in drums):
            raise SkipClip("only drum tracks")
        raise SkipClip("no notes")
    merged = symusic.Score(score.ticks_per_quarter)
    for tempo in score.tempos:
        merged.tempos.append(tempo)
    track = symusic.Track(name="Piano", program=0, is_drum=False)
    for t in pitched:
        for n in t.notes:
            track.notes.append(n)
    track.notes.sort()
    merged.tracks.append(track)
    return merged, len(drums)


def load_score(path: str) -> Any:
    """Parse a MIDI file with symusic; SkipClip on empty or corrupt files."""
    import os

    import symusic

    try:
        if os.path.getsize(path) == 0:
            raise SkipClip("empty file")
        return symusic.Score(str(path))
    except SkipClip:
        raise
    except Exception as exc:  # symusic raises RuntimeError/ValueError with a C++ message
        raise SkipClip(f"corrupt MIDI ({str(exc).splitlines()[0][:80]})") from None


def encode(score: Any) -> list[int]:
    """Token ids of a (piano) score, without BOS/EOS."""
    seqs = tokenizer().encode(score)
    seq = seqs[0] if isinstance(seqs, list) else seqs
    return list(seq.ids)


def decode(ids: list[int]) -> Any:
    """A symusic score (ticks, 8 per quarter) from token ids; special tokens are ignored."""
    v = vocab()
    clean = [int(i) for i in ids if v.kind[int(i)] not in (PAD, BOS, EOS, MASK)]
    return tokenizer().decode([clean])


def seconds_of(score: Any) -> float:
    """End of the last note, in seconds."""
    sec = score.to("second")
    ends = [float(n.time + n.duration) for t in sec.tracks for n in t.notes]
    return max(ends) if ends else 0.0


class TimeTracker:
    """Follows the musical clock of a REMI token stream as tokens arrive (Bar, Position, Tempo).

    Used during generation to know how many seconds the piece lasts so far, and to enforce the grammar
    (positions move forward within a bar; Pitch, Velocity, Duration come in that order).
    """

    def __init__(self, tempo: float = DEFAULT_TEMPO) -> None:
        self.bar = -1
        self.pos = -1  # position ticks within the bar; -1 right after a Bar
        self.tempo = float(tempo)
        self.anchor_ticks = 0.0  # ticks at the last tempo change
        self.anchor_seconds = 0.0
        self.last_kind = BOS
        self.notes_here = 0  # notes at the current position (guards against stuck generation)
        self.empty_bars = 0
        self.sounding_until = 0.0  # tick where the last note sounding so far ends

    def ticks(self, bar: int | None = None, pos: int | None = None) -> float:
        bar = self.bar if bar is None else bar
        pos = self.pos if pos is None else pos
        return max(bar, 0) * BAR_TICKS + max(pos, 0)

    def seconds_at(self, ticks: float) -> float:
        return self.anchor_seconds + (ticks - self.anchor_ticks) * 60.0 / (self.tempo * POSITIONS_PER_BEAT)

    @property
    def seconds(self) -> float:
        return self.seconds_at(self.ticks())

    def ticks_if(self, token: int) -> float:
        """The tick clock after ``token`` (Bar and Position move it)."""
        v = vocab()
        kind = v.kind[token]
        if kind == BAR:
            return float((self.bar + 1) * BAR_TICKS)
        if kind == POS:
            return float(max(self.bar, 0) * BAR_TICKS + v.value[token])
        return self.ticks()

    def seconds_if(self, token: int) -> float:
        """The clock after ``token`` (Bar and Position move it)."""
        return self.seconds_at(self.ticks_if(token))

    def push(self, token: int) -> None:
        v = vocab()
        kind = int(v.kind[token])
        if kind == BAR:
            self.empty_bars = self.empty_bars + 1 if self.last_kind == BAR else 0
            self.bar += 1
            self.pos = -1
            self.notes_here = 0
        elif kind == POS:
            self.pos = int(v.value[token])
            self.notes_here = 0
            self.empty_bars = 0
        elif kind == TEMPO:
            now = self.ticks()
            self.anchor_seconds = self.seconds_at(now)
            self.anchor_ticks = now
            self.tempo = float(v.value[token])
        elif kind == PITCH:
            self.notes_here += 1
        elif kind == DUR:
            self.sounding_until = max(self.sounding_until, self.ticks() + float(v.dur_ticks[token]))
        self.last_kind = kind

    def no_silent_beat(self) -> np.ndarray | None:
        """Mask over the vocabulary refusing the Bar and Position tokens that would leave a whole beat with no
        note sounding (between the end of the notes so far and the next onset); None where no such token may
        follow (not after a Bar or a Duration)."""
        if self.last_kind not in (BAR, DUR):
            return None
        v = vocab()
        first_silent = np.ceil(self.sounding_until / POSITIONS_PER_BEAT) * POSITIONS_PER_BEAT
        base = max(self.bar, 0) * BAR_TICKS
        mask = np.ones(v.size, dtype=bool)
        ids = v.ids_of[POS]
        mask[ids] = base + v.value[ids] < first_silent + POSITIONS_PER_BEAT
        mask[v.bar] = (self.bar + 1) * BAR_TICKS < first_silent + POSITIONS_PER_BEAT
        return mask

    def allowed(self, eos_ok: bool, max_notes_per_position: int = 12, max_empty_bars: int = 2) -> np.ndarray:
        """Boolean mask over the vocabulary of tokens the REMI grammar allows next (read-only, cached)."""
        key = (self.last_kind, self.pos, bool(eos_ok), self.notes_here < max_notes_per_position,
               self.empty_bars < max_empty_bars)
        return _grammar_mask(*key)


@lru_cache(maxsize=4096)
def _grammar_mask(last_kind: int, pos: int, eos_ok: bool, pitch_ok: bool, bar_ok: bool) -> np.ndarray:
    v = vocab()
    mask = np.zeros(v.size, dtype=bool)
    k = last_kind

    def positions_after(p: int) -> None:
        ids = v.ids_of[POS]
        mask[ids[v.value[ids] > p]] = True

    if k in (BOS, PAD, MASK, OTHER, EOS):
        mask[v.bar] = True
    elif k == BAR:
        positions_after(-1)
        if bar_ok:
            mask[v.bar] = True
    elif k == POS:
        mask[v.ids_of[TEMPO]] = True
        mask[v.ids_of[PITCH]] = True
    elif k == TEMPO:
        mask[v.ids_of[PITCH]] = True
    elif k == PITCH:
        mask[v.ids_of[VEL]] = True
    elif k == VEL:
        mask[v.ids_of[DUR]] = True
    elif k == DUR:
        if pitch_ok:
            mask[v.ids_of[PITCH]] = True
        positions_after(pos)
        mask[v.bar] = True
        if eos_ok:
            mask[v.eos] = True
    mask.setflags(write=False)
    return mask
