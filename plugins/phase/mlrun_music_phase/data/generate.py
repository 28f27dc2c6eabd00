"""Synthetic multi-track MIDI songs with known bars: the embedded default data of the phase task.

Each song has drums plus bass, chords and a melody on randomly chosen GM instruments, one of several meters
(2/4 3/4 4/4 5/4 6/8 7/8 12/8), tempo changes, an optional pickup bar, an optional drumless intro, fills at phrase
ends and occasionally a meter change. Written as ``<out>/<artist>/<song>.mid`` (the Lakh layout render reads).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json

from ..config import MAX_SONGS, SONG_SECONDS

TPB = 480
#: meter -> (numerator, denominator, grouping of the bar in denominator units)
METERS: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "2/4": (2, 4, (1, 1)),
    "3/4": (3, 4, (1, 1, 1)),
    "4/4": (4, 4, (1, 1, 1, 1)),
    "5/4": (5, 4, (3, 2)),
    "6/8": (6, 8, (3, 3)),
    "7/8": (7, 8, (2, 2, 3)),
    "12/8": (12, 8, (3, 3, 3, 3)),
}
KICK, SNARE, RIM, CLOSED_HH, PEDAL_HH, OPEN_HH, CRASH, RIDE = 36, 38, 37, 42, 44, 46, 49, 51
TOMS = (50, 48, 47, 45, 43, 41)
BASS_PROGRAMS = tuple(range(32, 40))
CHORD_PROGRAMS = (0, 1, 2, 4, 5, 16, 17, 19, 24, 25, 26, 27, 48, 49, 50, 52, 88, 89, 90, 91)
MELODY_PROGRAMS = (0, 8, 11, 12, 13, 22, 40, 56, 57, 60, 64, 65, 66, 68, 71, 73, 74, 80, 81, 82)
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)


def _unit_ticks(den: int) -> int:
    return TPB * 4 // den


class _Song:
    """Collects absolute-tick events per track and writes a type-1 MIDI file."""

    def __init__(self) -> None:
        self.tracks: dict[str, list[tuple[int, int, Any]]] = {}
        self.order = 0

    def add(self, track: str, tick: int, msg: Any) -> None:
        self.order += 1
        self.tracks.setdefault(track, []).append((int(tick), self.order, msg))

    def note(self, track: str, channel: int, tick: int, length: int, pitch: int, velocity: int) -> None:
        import mido

        velocity = int(np.clip(velocity, 1, 127))
        self.add(track, tick, mido.Message("note_on", channel=channel, note=int(pitch), velocity=velocity))
        self.add(track, tick + max(1, int(length)), mido.Message("note_off", channel=channel, note=int(pitch),
                                                                 velocity=0))

    def to_midi(self) -> Any:
        import mido

        mid = mido.MidiFile(type=1, ticks_per_beat=TPB)
        for name in ["conductor", *sorted(k for k in self.tracks if k != "conductor")]:
            events = sorted(self.tracks.get(name, []), key=lambda e: (e[0], 0 if e[2].type == "note_off" else 1,
                                                                       e[1]))
            track = mido.MidiTrack()
            track.append(mido.MetaMessage("track_name", name=name, time=0))
            prev = 0
            for tick, _, msg in events:
                track.append(msg.copy(time=tick - prev))
                prev = tick
            mid.tracks.append(track)
        return mid


def _bar_plan(rng: np.random.Generator, meter: str, seconds: float, meter_choices: list[str]) -> dict[str, Any]:
    """Meters and tempi per bar, so that the song lasts about ``seconds``."""
    num, den, _ = METERS[meter]
    # Tempo in quarter notes per minute; compound meters get a dotted-quarter pulse of 45-100.
    qpm = float(rng.uniform(80, 170) * 1.5 if den == 8 and num % 3 == 0 else rng.uniform(72, 168))
    if den == 8 and num % 3 != 0:
        qpm = float(rng.uniform(90, 180))
    bars: list[tuple[str, float]] = []
    total = 0.0
    second_meter = None
    if rng.random() < 0.15:
        second_meter = str(rng.choice([m for m in meter_choices if m != meter] or [meter]))
    change_at = int(rng.integers(6, 14))
    tempo = qpm
    ramp = 0
    while total < seconds:
        i = len(bars)
        m = meter if second_meter is None or i < change_at or i >= change_at + 4 else second_meter
        if i > 0 and i % 8 == 0 and rng.random() < 0.35:
            tempo = float(np.clip(tempo * rng.uniform(0.85, 1.18), 50, 240))  # a step change at a phrase
        if ramp == 0 and rng.random() < 0.04:
            ramp = int(rng.integers(2, 6)) * (1 if rng.random() < 0.5 else -1)  # accelerando/ritardando
        if ramp:
            tempo = float(np.clip(tempo * (1.03 if ramp > 0 else 0.97), 50, 240))
            ramp += -1 if ramp > 0 else 1
        bars.append((m, tempo))
        n, d, _ = METERS[m]
        total += (4 * n / d) * 60.0 / tempo
    return {"bars": bars}


def generate_song(seed: int, meter: str, seconds: float, meter_choices: list[str] | None = None) -> tuple[Any, dict]:
    """One synthetic song: a ``mido.MidiFile`` and a description (meter, tempi, instruments, bar count)."""
    import mido

    rng = np.random.default_rng(seed)
    meter_choices = meter_choices or [meter]
    plan = _bar_plan(rng, meter, seconds, meter_choices)
    song = _Song()
    programs = {"bass": int(rng.choice(BASS_PROGRAMS)), "chords": int(rng.choice(CHORD_PROGRAMS)),
                "melody": int(rng.choice(MELODY_PROGRAMS))}
    channels = {"bass": 0, "chords": 1, "melody": 2}
    for part, ch in channels.items():
        song.add(part, 0, mido.Message("program_change", channel=ch, program=programs[part]))
        song.add(part, 0, mido.Message("control_change", channel=ch, control=7, value=int(rng.integers(70, 110))))
    song.add("drums", 0, mido.Message("control_change", channel=9, control=7, value=int(rng.integers(85, 120))))
    key = int(rng.integers(0, 12))
    scale = MAJOR if rng.random() < 0.6 else MINOR
    degrees = [0, 3, 4, 5, 1, 0, 4, 3, 5, 2, 4, 0]
    progression = [int(rng.choice(degrees)) for _ in range(4)]
    progression[0] = 0
    pickup = rng.random() < 0.4
    intro_bars = int(rng.integers(1, 3)) if rng.random() < 0.3 else 0
    phrase = int(rng.choice([4, 8]))
    hat_style = int(rng.integers(0, 3))  # closed 8ths, ride, or busier 16ths-ish
    density = float(rng.uniform(0.3, 0.8))
    swing = float(rng.uniform(0.0, 0.08))
    prev_meter, prev_tempo = None, None
    tick = 0
    for i, (m, tempo) in enumerate(plan["bars"]):
        num, den, groups = METERS[m]
        unit = _unit_ticks(den)
        bar_len = unit * num
        if m != prev_meter:
            song.add("conductor", tick, mido.MetaMessage("time_signature", numerator=num, denominator=den,
                                                          clocks_per_click=24, notated_32nd_notes_per_beat=8))
            prev_meter = m
        if tempo != prev_tempo:
            song.add("conductor", tick, mido.MetaMessage("set_tempo", tempo=int(round(60e6 / tempo))))
            prev_tempo = tempo
        starts = np.cumsum((0,) + groups[:-1]) * unit  # group starts within the bar, in ticks
        first_played = len(groups) - 1 if (pickup and i == 0) else 0  # a pickup bar plays only its end
        is_fill = (i + 1) % phrase == 0 and i > intro_bars
        drums_on = i >= intro_bars
        # Harmony: one chord per bar (root, third, fifth), the bass on the group starts.
        degree = progression[(i - intro_bars) % 4] if i >= intro_bars else 0
        root = 48 + key + scale[degree % 7]
        chord = [root + scale[(degree + k) % 7] - scale[degree % 7] + (12 if (degree + k) >= 7 else 0)
                 for k in (0, 2, 4)]
        for g, s in enumerate(starts):
            if g < first_played:
                continue
            glen = groups[g] * unit
            vel = 96 if g == 0 else 78
            song.note("bass", 0, tick + s, glen * 0.9, root - 12 + (7 if g % 2 and rng.random() < 0.3 else 0),
                      vel + rng.integers(-8, 8))
            if g == 0 or rng.random() < 0.3:
                length = bar_len - s if g == 0 else glen
                for p in chord:
                    song.note("chords", 1, tick + s, length * 0.95, p + 12, 60 + (14 if g == 0 else 0)
                              + rng.integers(-6, 6))
        # Melody: random scale notes on subdivisions, with rests.
        sub = unit // 2 if den == 4 else unit
        for pos in range(first_played and int(starts[first_played]), bar_len, sub):
            if rng.random() < density * (0.6 if pos else 1.0):
                pitch = 72 + key + scale[int(rng.integers(0, 7))] - (12 if rng.random() < 0.3 else 0)
                song.note("melody", 2, tick + pos, sub * rng.integers(1, 3), pitch, 70 + rng.integers(-10, 15))
        if drums_on:
            _drum_bar(song, rng, tick, unit, groups, starts, first_played, is_fill,
                      crash=(i == intro_bars or (i - intro_bars) % phrase == 0) and not (pickup and i == 0),
                      hat_style=hat_style, swing=swing)
        tick += bar_len
    mid = song.to_midi()
    desc = {"seed": seed, "meter": meter, "meters": sorted({m for m, _ in plan["bars"]}), "bars": len(plan["bars"]),
            "tempo_min": round(min(t for _, t in plan["bars"]), 2),
            "tempo_max": round(max(t for _, t in plan["bars"]), 2),
            "pickup": pickup, "intro_bars": intro_bars, "programs": programs, "seconds": round(mid.length, 2)}
    return mid, desc


def _drum_bar(song: _Song, rng: np.random.Generator, tick: int, unit: int, groups: tuple[int, ...],
              starts: np.ndarray, first_played: int, is_fill: bool, crash: bool, hat_style: int,
              swing: float) -> None:
    """Kick on the downbeat (and sometimes other groups), snare on later groups, hats on every unit, fills."""
    bar_len = unit * sum(groups)
    fill_from = int(starts[-1]) if is_fill else bar_len
    for g, s in enumerate(starts):
        if g < first_played:
            continue
        s = int(s)
        if s >= fill_from:
            break
        if g == 0:
            song.note("drums", 9, tick + s, unit // 2, KICK, 112 + rng.integers(-6, 8))
            if crash:
                song.note("drums", 9, tick + s, unit, CRASH, 100 + rng.integers(-8, 8))
        elif len(groups) >= 3 and g % 2 == 0 and rng.random() < 0.6:
            song.note("drums", 9, tick + s, unit // 2, KICK, 90 + rng.integers(-8, 8))
        if g % 2 == 1 or (g > 0 and len(groups) % 2 == 1 and g == len(groups) - 1):
            song.note("drums", 9, tick + s, unit // 2, SNARE if rng.random() < 0.9 else RIM, 100 + rng.integers(-8, 8))
        if groups[g] >= 2 and rng.random() < 0.25:  # a syncopated kick inside a long group
            song.note("drums", 9, tick + s + unit * (groups[g] - 1), unit // 2, KICK, 80 + rng.integers(-8, 8))
    # Time keeping.
    step = unit // 2 if hat_style == 2 else unit
    for pos in range(int(starts[first_played]) if first_played else 0, fill_from, step):
        late = int(swing * unit) if (pos // step) % 2 == 1 else 0
        note = RIDE if hat_style == 1 else (OPEN_HH if rng.random() < 0.05 else CLOSED_HH)
        accent = 10 if pos in starts else 0
        song.note("drums", 9, tick + pos + late, step // 2, note, 62 + accent + rng.integers(-8, 8))
    # Fill: toms and snare in 16ths (or triplet 8ths in compound meters) over the last group.
    if is_fill:
        div = 3 if groups[-1] == 3 else 4
        n_hits = groups[-1] * div if groups[-1] != 3 else 6
        hit = (bar_len - fill_from) // n_hits
        toms = list(TOMS)
        for k in range(n_hits):
            note = SNARE if rng.random() < 0.4 else toms[min(k * len(toms) // n_hits, len(toms) - 1)]
            song.note("drums", 9, tick + fill_from + k * hit, hit, note, 85 + 3 * k // 2 + rng.integers(-6, 6))


def generate_corpus(out_path: str | Path, count: int, seed: int = 0, meters: list[str] | None = None,
                    seconds: float = 80.0, artist_prefix: str = "synth") -> dict[str, Any]:
    """Write ``count`` songs as ``<out>/<artist>/<song>.mid`` cycling over ``meters``; returns a manifest."""
    meters = meters or list(METERS)
    unknown = [m for m in meters if m not in METERS]
    if unknown:
        raise UserError(f"--meters: unknown meter(s) {', '.join(unknown)}; known: {', '.join(METERS)}")
    if not 1 <= count <= MAX_SONGS:
        raise UserError(f"--count must be in [1, {MAX_SONGS}], got {count}")
    if not SONG_SECONDS[0] <= seconds <= SONG_SECONDS[1]:
        raise UserError(f"--song-seconds must be in [{SONG_SECONDS[0]:g}, {SONG_SECONDS[1]:g}], got {seconds:g}")
    out = Path(out_path)
    songs = []
    for i in range(count):
        meter = meters[i % len(meters)]
        song_seed = int(np.random.SeedSequence([seed, i, 0x50A6]).generate_state(1)[0])
        mid, desc = generate_song(song_seed, meter, seconds, meters)
        artist = f"{artist_prefix}_{i % 10:02d}"
        rel = f"{artist}/song_{i:05d}.mid"
        with atomic_path(out / rel, suffix=".mid") as tmp:
            mid.save(str(tmp))
        songs.append({"file": rel, **desc})
    manifest = {"count": count, "seed": seed, "meters": meters, "seconds": seconds, "songs": songs}
    write_json(out / "generate_manifest.json", manifest)
    return manifest


def read_manifest(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))
