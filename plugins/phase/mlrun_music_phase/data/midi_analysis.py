"""Reading a MIDI file for rendering: tempo map, meters, bar starts, drum events, jitter, and why a song is skipped."""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import attrs

#: GM drum notes (channel 10) that count as rhythm events: kicks, snares, toms, hi-hats, cymbals, claps, rims.
RELEVANT_DRUMS = frozenset({35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 57, 59})
DRUM_CHANNEL = 9
MIN_DRUM_NOTES = 20
MAX_SECONDS = 20 * 60
#: More bars than this in a song of at most MAX_SECONDS means bars shorter than 60 ms: a broken tempo or meter.
MAX_BARS = 20_000
DEFAULT_TEMPO = 500_000


class SkipSong(Exception):
    """A song that is skipped; ``reason`` is a short category counted in the render report."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@attrs.define
class TempoMap:
    """Piecewise-constant tempo: converts ticks to seconds and back."""

    ticks_per_beat: int
    ticks: list[int]
    tempos: list[int]
    seconds: list[float]

    @classmethod
    def build(cls, ticks_per_beat: int, changes: list[tuple[int, int]]) -> "TempoMap":
        ticks, tempos = [0], [DEFAULT_TEMPO]
        for tick, tempo in sorted(changes, key=lambda c: c[0]):
            if tick == ticks[-1]:
                tempos[-1] = tempo
            else:
                ticks.append(tick)
                tempos.append(tempo)
        seconds = [0.0]
        for i in range(1, len(ticks)):
            seconds.append(seconds[-1] + (ticks[i] - ticks[i - 1]) * tempos[i - 1] / 1e6 / ticks_per_beat)
        return cls(ticks_per_beat, ticks, tempos, seconds)

    def to_seconds(self, tick: float) -> float:
        i = bisect.bisect_right(self.ticks, tick) - 1
        return self.seconds[i] + (tick - self.ticks[i]) * self.tempos[i] / 1e6 / self.ticks_per_beat

    def to_ticks(self, seconds: float) -> float:
        i = max(0, bisect.bisect_right(self.seconds, seconds) - 1)
        return self.ticks[i] + (seconds - self.seconds[i]) * 1e6 * self.ticks_per_beat / self.tempos[i]


@attrs.define
class DrumEvent:
    tick: int
    note: int
    volume: float


@attrs.define
class SongMidi:
    """What rendering needs to know about one MIDI file."""

    midi: Any  # mido.MidiFile
    tempo_map: TempoMap
    time_signatures: list[tuple[int, int, int]]  # (tick, numerator, denominator)
    drums: list[DrumEvent]
    last_tick: int
    #: False when the file has no time signature at tick 0 and 4/4 (the MIDI default) was assumed there.
    meter_stated: bool = True

    @property
    def meters(self) -> list[str]:
        return sorted({f"{n}/{d}" for _, n, d in self.time_signatures})

    def bar_ticks(self) -> list[int]:
        """Bar starts in ticks from tick 0 across every time-signature change, plus one closing bound."""
        tpb = self.tempo_map.ticks_per_beat
        sigs = self.time_signatures
        bars: list[int] = []
        tick, k = 0, 0
        while True:
            while k + 1 < len(sigs) and sigs[k + 1][0] <= tick:
                k += 1
            bars.append(tick)
            if tick > self.last_tick:
                break  # this start is the closing bound
            if len(bars) > MAX_BARS:
                raise SkipSong("too many bars", f"more than {MAX_BARS} bars (bars shorter than 60 ms)")
            num, den = sigs[k][1], sigs[k][2]
            nxt = tick + max(1, round(tpb * 4 * num / den))
            if k + 1 < len(sigs) and tick < sigs[k + 1][0] < nxt:
                nxt = sigs[k + 1][0]  # a change in mid-bar starts a new bar there
            tick = nxt
        return bars

    def bar_seconds(self) -> list[float]:
        """Bar starts in seconds, from the first bar start at or after the first drum note (pickups dropped)."""
        first_drum = min(e.tick for e in self.drums)
        ticks = [t for t in self.bar_ticks() if t >= first_drum]
        return [self.tempo_map.to_seconds(t) for t in ticks]


def _absolute(track: Any) -> list[tuple[int, Any]]:
    out, tick = [], 0
    for msg in track:
        tick += msg.time
        out.append((tick, msg))
    return out


def read_song(path: str | Path, max_seconds: float = MAX_SECONDS, min_drum_notes: int = MIN_DRUM_NOTES,
              default_meter: bool = False) -> SongMidi:
    """Parse ``path``; raises :class:`SkipSong` with the reason it cannot be used.

    A file whose first time signature is not at tick 0 is skipped, unless ``default_meter``: then 4/4 holds until
    its first time signature (the MIDI default), and ``SongMidi.meter_stated`` is False."""
    import mido

    try:
        midi = mido.MidiFile(str(path), clip=True)
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError... on corrupt files
        raise SkipSong("unreadable MIDI", f"{type(exc).__name__}: {str(exc)[:120]}") from None
    if midi.type == 2:
        raise SkipSong("MIDI type 2", "independent sequences have no common timeline")
    if midi.ticks_per_beat < 0:
        # The header's negative division is SMPTE timing (frames per second): it has no beats, so no bars.
        raise SkipSong("SMPTE time division", "timing in frames per second instead of ticks per beat")
    if not midi.tracks or midi.ticks_per_beat == 0:
        raise SkipSong("unreadable MIDI", "no tracks" if not midi.tracks else "a time division of 0 ticks per beat")
    tempo_changes: list[tuple[int, int]] = []
    sigs: list[tuple[int, int, int]] = []
    drums: list[DrumEvent] = []
    last_tick = 0
    events: list[tuple[int, int, int, Any]] = []  # (tick, track, order, msg)
    for ti, track in enumerate(midi.tracks):
        for order, (tick, msg) in enumerate(_absolute(track)):
            events.append((tick, ti, order, msg))
            last_tick = max(last_tick, tick)
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    cc7 = [100] * 16
    for tick, _, _, msg in events:
        if msg.type == "set_tempo":
            if msg.tempo <= 0:  # 0 microseconds per beat: every beat at the same instant, no time to map to
                raise SkipSong("invalid tempo", f"a tempo of 0 microseconds per beat at tick {tick}")
            tempo_changes.append((tick, msg.tempo))
        elif msg.type == "time_signature":
            sigs.append((tick, msg.numerator, msg.denominator))
        elif msg.type == "control_change" and msg.control == 7:
            cc7[msg.channel] = msg.value
        elif msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL \
                and msg.note in RELEVANT_DRUMS:
            volume = (msg.velocity / 127 * 0.5 + 0.5) * cc7[DRUM_CHANNEL] / 127
            drums.append(DrumEvent(tick, msg.note, volume))
    if not any(m.type in ("note_on", "note_off") for _, _, _, m in events):
        raise SkipSong("unreadable MIDI", "the file holds no notes")
    stated = bool(sigs) and sigs[0][0] == 0
    if not stated:
        if not default_meter:
            raise SkipSong("no time signature at tick 0")
        sigs.insert(0, (0, 4, 4))
    # Keep the last signature given at any one tick.
    by_tick: dict[int, tuple[int, int, int]] = {}
    for s in sigs:
        by_tick[s[0]] = s
    sigs = [by_tick[t] for t in sorted(by_tick)]
    for _, num, den in sigs:
        if num <= 0 or den not in (1, 2, 4, 8, 16, 32):
            raise SkipSong("invalid meter", f"{num}/{den}")
    if len(drums) < min_drum_notes:
        raise SkipSong("too few drum notes", f"{len(drums)} < {min_drum_notes}")
    tempo_map = TempoMap.build(midi.ticks_per_beat, tempo_changes)
    seconds = tempo_map.to_seconds(last_tick)
    if seconds > max_seconds:
        raise SkipSong("too long", f"{seconds:.0f} s > {max_seconds:.0f} s")
    return SongMidi(midi, tempo_map, sigs, drums, last_tick, stated)


def jitter_drums(song: SongMidi, max_seconds: float, rng: Any) -> None:
    """Move every relevant drum note-on (and its note-off) by up to ``max_seconds`` real seconds, in place.

    Offsets are drawn in seconds and mapped through the tempo map, so the jitter is the same at any tempo
    (the original assumed 120 BPM). ``song.drums`` is updated to the moved times.
    """
    if max_seconds <= 0:
        return
    import mido

    tm = song.tempo_map
    moved: list[DrumEvent] = []
    for ti, track in enumerate(song.midi.tracks):
        events = _absolute(track)
        pending: dict[int, list[int]] = {}  # note -> deltas of sounding notes, for their note-offs
        out: list[tuple[int, int, Any]] = []
        for order, (tick, msg) in enumerate(events):
            if msg.type in ("note_on", "note_off") and msg.channel == DRUM_CHANNEL and msg.note in RELEVANT_DRUMS:
                if msg.type == "note_on" and msg.velocity > 0:
                    t = tm.to_seconds(tick) + rng.uniform(-max_seconds, max_seconds)
                    new_tick = max(0, int(round(tm.to_ticks(max(0.0, t)))))
                    pending.setdefault(msg.note, []).append(new_tick - tick)
                    tick = new_tick
                elif pending.get(msg.note):
                    tick = max(0, tick + pending[msg.note].pop(0))
            out.append((tick, order, msg))
        out.sort(key=lambda e: (e[0], e[1]))
        track_new = mido.MidiTrack()
        prev = 0
        for tick, _, msg in out:
            track_new.append(msg.copy(time=tick - prev))
            prev = tick
        song.midi.tracks[ti] = track_new
    cc7 = 100
    all_events = sorted(((tick, ti, i, m) for ti, tr in enumerate(song.midi.tracks)
                         for i, (tick, m) in enumerate(_absolute(tr))), key=lambda e: (e[0], e[1], e[2]))
    for tick, _, _, msg in all_events:
        if msg.type == "control_change" and msg.control == 7 and msg.channel == DRUM_CHANNEL:
            cc7 = msg.value
        elif msg.type == "note_on" and msg.velocity > 0 and msg.channel == DRUM_CHANNEL \
                and msg.note in RELEVANT_DRUMS:
            moved.append(DrumEvent(tick, msg.note, (msg.velocity / 127 * 0.5 + 0.5) * cc7 / 127))
    song.drums = moved
    song.last_tick = max(song.last_tick, max((e.tick for e in moved), default=0))
