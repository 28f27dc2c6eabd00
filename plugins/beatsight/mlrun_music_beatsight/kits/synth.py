"""Rendering General MIDI drums: one-shots of every class, grooves with ground-truth onsets, and non-drum
accompaniment (for mixing augmentation and for transcription tests). Uses mlrun_music.audio.render.render_midi."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Sequence

import attrs
import numpy as np

from mlrun_music.fileio import atomic_path

from .classes import COMPONENTS, GM_NOTES, NOTE_TO_COMPONENT
from .soundfonts import GENERAL_MIDI_KIT, DrumKit, drum_kit, is_hydrogen_kit

SAMPLE_RATE = 44100
TICKS = 480
TRAIN_SOUNDFONT = "/usr/share/sounds/sf2/TimGM6mb.sf2"
TEST_SOUNDFONT = "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3"


@attrs.frozen
class Hit:
    """A drum hit: onset in seconds, GM note, MIDI velocity and its component."""

    time: float
    note: int
    velocity: int

    @property
    def component(self) -> str:
        return NOTE_TO_COMPONENT[self.note]


def write_midi(path: str | Path, hits: Sequence[Hit], tempo_bpm: float = 120.0,
               notes: Sequence[tuple[float, float, int, int, int, int]] = (), tail: float = 1.5,
               kit: DrumKit = GENERAL_MIDI_KIT) -> Path:
    """A type-1 MIDI file: ``hits`` on the kit's channel (General MIDI: channel 10, index 9), pitched ``notes`` as
    ``(start, end, pitch, velocity, channel, program)``; ``tail`` seconds of silence after the last event."""
    import mido

    sec_per_tick = 60.0 / tempo_bpm / TICKS
    mid = mido.MidiFile(ticks_per_beat=TICKS, type=1)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=int(round(60e6 / tempo_bpm)), time=0))
    mid.tracks.append(meta)
    events: list[tuple[int, int, Any]] = []  # (tick, order, message)
    for h in hits:
        on = int(round(h.time / sec_per_tick))
        events.append((on, 1, mido.Message("note_on", channel=kit.channel, note=h.note, velocity=int(h.velocity))))
        events.append((on + TICKS // 8, 0, mido.Message("note_off", channel=kit.channel, note=h.note, velocity=0)))
    programs = {} if kit.program is None else {kit.channel: kit.program}
    for start, end, pitch, vel, ch, prog in notes:
        programs.setdefault(ch, prog)
        events.append((int(round(start / sec_per_tick)), 1,
                       mido.Message("note_on", channel=ch, note=pitch, velocity=vel)))
        events.append((int(round(end / sec_per_tick)), 0, mido.Message("note_off", channel=ch, note=pitch, velocity=0)))
    last = max((e[0] for e in events), default=0)
    track = mido.MidiTrack()
    for ch, prog in sorted(programs.items()):
        track.append(mido.Message("program_change", channel=ch, program=prog, time=0))
    tick = 0
    for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=t - tick))
        tick = t
    end_tick = last + int(round(tail / sec_per_tick))
    track.append(mido.MetaMessage("end_of_track", time=end_tick - tick))
    mid.tracks.append(track)
    with atomic_path(path, suffix=".mid") as tmp:
        mid.save(str(tmp))
    return Path(path)


def render(hits: Sequence[Hit], soundfont: str | Path, renderer: str, tempo_bpm: float = 120.0,
           notes: Sequence[tuple] = (), sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Render hits (and pitched notes) to mono float32 audio at ``sample_rate``, on the soundfont's drum kit
    (:func:`for_kit` makes General MIDI hits playable on it first); a Hydrogen kit mixes its samples (drums only)."""
    from mlrun_music.audio.render import render_midi

    kit = drum_kit(str(soundfont))
    unplayable = sorted({h.note for h in hits if h.note not in NOTE_TO_COMPONENT
                         or h.note not in kit.notes[NOTE_TO_COMPONENT[h.note]]})
    if unplayable:
        raise ValueError(f"notes {unplayable} are not in the kit of {soundfont}; pass the hits through for_kit")
    if is_hydrogen_kit(str(soundfont)):
        if notes:
            raise ValueError(f"{soundfont} is a drum kit: it cannot play pitched notes")
        from .hydrogen import load

        return load(str(soundfont)).render(hits, sample_rate)
    with tempfile.TemporaryDirectory(prefix="beatsight-") as tmp:
        mid = write_midi(Path(tmp) / "hits.mid", hits, tempo_bpm, notes, kit=kit)
        return render_midi(mid, soundfont, sample_rate, renderer=renderer)


def for_kit(hits: Sequence[Hit], kit: DrumKit) -> list[Hit]:
    """General MIDI ``hits`` as the kit plays them (:meth:`DrumKit.remap`); hits it cannot play are left out."""
    out = []
    for h in hits:
        note = kit.remap(h.note)
        if note is not None:
            out.append(Hit(h.time, note, h.velocity))
    return out


def one_shots(velocity_levels: int, seed: int, spacing: float = 0.6, kit: DrumKit = GENERAL_MIDI_KIT) -> list[Hit]:
    """Every note of every component the kit has, at ``velocity_levels`` velocities (seeded jitter), ``spacing`` s
    apart, in a seeded order so no class always follows another."""
    rng = np.random.default_rng(seed)
    hits = []
    for comp in COMPONENTS:
        for note in kit.notes[comp]:
            base = np.linspace(35, 127, velocity_levels) if velocity_levels > 1 else np.array([100.0])
            for v in base:
                hits.append((note, int(np.clip(v + rng.integers(-6, 7), 1, 127))))
    order = rng.permutation(len(hits))
    return [Hit(0.5 + i * spacing, hits[j][0], hits[j][1]) for i, j in enumerate(order)]


def groove(rng: np.random.Generator, bars: int = 4) -> tuple[float, list[Hit]]:
    """A random drum groove on a sixteenth grid: (tempo, hits). Styles mix hi-hat/ride/bell time-keeping, kick and
    snare patterns, tom fills and crash/china/splash accents, so all 12 classes occur."""
    tempo = float(rng.uniform(80, 150))
    six = 60.0 / tempo / 4
    start = 0.5
    hits: list[Hit] = []

    def add(step: int, note: int, vel: float) -> None:
        jitter = rng.normal(0, 0.003)
        hits.append(Hit(max(0.0, start + step * six + jitter), note,
                        int(np.clip(vel + rng.normal(0, 8), 20, 127))))

    keeper = str(rng.choice(["hihat8", "hihat16", "ride", "bell", "openhat"]))
    patterns = [[0, 8], [0, 6, 8], [0, 10], [0, 3, 8, 11], [0, 8, 10]]
    kick_pattern = patterns[int(rng.integers(len(patterns)))]
    for bar in range(bars):
        base = bar * 16
        fill = bar == bars - 1 and rng.random() < 0.7
        for s in range(16):
            if fill and s >= 8:
                continue
            if keeper == "hihat8" and s % 2 == 0:
                add(base + s, 42 if rng.random() > 0.1 else 44, 80 if s % 4 == 0 else 60)
            elif keeper == "hihat16":
                add(base + s, 42, 85 if s % 4 == 0 else 55)
            elif keeper == "ride" and s % 2 == 0:
                add(base + s, 51, 80 if s % 4 == 0 else 65)
            elif keeper == "bell" and s % 4 == 0:
                add(base + s, 53, 90)
            elif keeper == "openhat" and s % 2 == 0:
                add(base + s, 46 if s % 4 == 2 else 42, 75)
        for s in kick_pattern:
            if not (fill and s >= 8):
                add(base + s, 36 if rng.random() > 0.3 else 35, 100)
        for s in (4, 12):
            if not (fill and s >= 8):
                add(base + s, 38 if rng.random() > 0.2 else 40, 105)
        if bar == 0 or rng.random() < 0.3:
            add(base, int(rng.choice([49, 57, 52])), 110)
        if rng.random() < 0.3:
            add(base + 14, 46, 80)
        if fill:
            toms = [50, 48, 47, 45, 43, 41]
            for k, s in enumerate(range(8, 16)):
                add(base + s, toms[min(len(toms) - 1, k * len(toms) // 8)], 95)
    # A closing accent on the next downbeat.
    add(bars * 16, int(rng.choice([49, 57, 52])), 115)
    add(bars * 16, 36, 110)
    hits.sort(key=lambda h: h.time)
    return tempo, hits


def free_hits(rng: np.random.Generator, seconds: float, spacing: float = 1.0) -> list[Hit]:
    """Hits with no groove: every class equally often at random times (gaps 50-700 ms, times ``spacing``), random
    velocities, 30 % of them with a second class at the same time. Songs of these teach a transcriber sounds rather
    than patterns; a wider ``spacing`` lets each hit ring out alone."""
    notes = [GM_NOTES[c] for c in COMPONENTS]
    hits: list[Hit] = []
    t = 0.5
    while t < seconds:
        classes = rng.choice(len(COMPONENTS), size=2 if rng.random() < 0.3 else 1, replace=False)
        for c in classes:
            hits.append(Hit(float(t), int(rng.choice(notes[int(c)])), int(rng.integers(30, 128))))
        t += float(rng.uniform(0.05, 0.7)) * spacing
    return hits


def accompaniment(rng: np.random.Generator, tempo: float, seconds: float, pulses: int = 4, pulse: float = 1.0
                  ) -> list[tuple]:
    """Non-drum parts for ``seconds``: a chord instrument (one chord a bar), a bass line (one note a pulse) and a
    melody (on half pulses), random GM programs. A bar is ``pulses`` pulses of ``pulse`` quarter notes at
    ``tempo`` quarter notes per minute (6/8: 2 pulses of 1.5)."""
    beat = 60.0 / tempo * pulse
    bar = pulses * beat
    chord_prog = int(rng.choice([0, 4, 16, 24, 48, 61]))
    bass_prog = int(rng.choice([32, 33, 34, 38]))
    lead_prog = int(rng.choice([56, 65, 73, 80, 11]))
    roots = rng.choice([48, 50, 53, 55, 57], size=max(1, int(seconds / bar) + 1))
    notes = []
    t, i = 0.5, 0
    while t < seconds:
        root = int(roots[i % len(roots)])
        third = 3 if rng.random() < 0.5 else 4
        for p in (root, root + third, root + 7):
            notes.append((t, t + bar * 0.95, p + 12, 60, 0, chord_prog))
        for b in range(pulses):
            notes.append((t + b * beat, t + (b + 0.9) * beat, root - 12 + (7 if b == 2 else 0), 80, 1, bass_prog))
        for b in range(2 * pulses):
            if rng.random() < 0.6:
                p = root + 24 + int(rng.choice([0, 2, 4, 5, 7, 9]))
                notes.append((t + b * beat / 2, t + (b + 0.9) * beat / 2, p, 70, 2, lead_prog))
        t += bar
        i += 1
    return notes


@attrs.frozen
class Metre:
    """A time signature as the drums play it, in sixteenth-note steps: bar length, where the kick and the snare
    fall, the finest step the time-keeping cymbal plays, and how the accompaniment pulses (``pulses`` pulses of
    ``pulse`` quarter notes a bar)."""

    name: str
    steps: int
    kicks: tuple[tuple[int, ...], ...]
    snares: tuple[int, ...]
    keeper_steps: tuple[int, ...]  # the time-keeper's step choices (4 quarters, 2 eighths, 1 sixteenths)
    pulses: int
    pulse: float


#: Metres of :func:`metre_groove`; the tempo is in quarter notes per minute, as in a MIDI file.
METRES: dict[str, Metre] = {m.name: m for m in (
    Metre("4/4", 16, ((0, 8), (0, 6, 8), (0, 10), (0, 3, 8, 11), (0, 8, 10)), (4, 12), (1, 2, 2, 4), 4, 1.0),
    Metre("3/4", 12, ((0,), (0, 6), (0, 10)), (4, 8), (1, 2, 2, 4), 3, 1.0),
    Metre("2/4", 8, ((0,), (0, 6), (0, 3)), (4,), (1, 2, 2), 2, 1.0),
    Metre("5/4", 20, ((0, 12), (0, 6, 12)), (8, 16), (1, 2, 2, 4), 5, 1.0),
    Metre("6/8", 12, ((0,), (0, 10), (0, 4)), (6,), (2, 2, 1), 2, 1.5),
    Metre("7/8", 14, ((0, 8), (0, 4, 8)), (4, 10), (2, 2, 1), 7, 0.5),
    Metre("12/8", 24, ((0, 12), (0, 10, 12), (0, 16)), (6, 18), (2, 2), 4, 1.5),
)}


def metre_groove(rng: np.random.Generator, metre: Metre, tempo: float, bars: int = 4) -> list[Hit]:
    """A random groove in ``metre`` at ``tempo`` quarter notes per minute: a time-keeping hi-hat or ride (sixteenths
    only below 120 BPM, quarters only above 140, as drummers play them), kick and snare patterns, a crash on the
    first downbeat and on some others, a tom fill in the second half of the last bar most of the time and a closing
    accent on the next downbeat. Hits on a sixteenth grid with 3 ms timing jitter."""
    six = 60.0 / tempo / 4
    start = 0.5
    hits: list[Hit] = []

    def add(step: int, note: int, vel: float) -> None:
        hits.append(Hit(max(0.0, start + step * six + rng.normal(0, 0.003)), note,
                        int(np.clip(vel + rng.normal(0, 8), 20, 127))))

    choices = [k for k in metre.keeper_steps if (k != 1 or tempo < 120) and (k != 4 or tempo > 140)] or [2]
    every = int(rng.choice(choices))
    cymbal = str(rng.choice(["hihat", "hihat", "ride", "openhat"]))
    kicks = metre.kicks[int(rng.integers(len(metre.kicks)))]
    beat_steps = int(round(metre.pulse * 4))
    half = metre.steps // 2
    for bar in range(bars):
        base = bar * metre.steps
        fill = bar == bars - 1 and rng.random() < 0.7
        for s in range(0, metre.steps, every):
            if fill and s >= half:
                continue
            accent = s % beat_steps == 0
            if cymbal == "hihat":
                add(base + s, 42 if rng.random() > 0.1 else 44, 85 if accent else 60)
            elif cymbal == "ride":
                add(base + s, 53 if accent and rng.random() < 0.2 else 51, 80 if accent else 65)
            else:
                add(base + s, 46 if not accent and every > 1 else 42, 75)
        for s in kicks:
            if not (fill and s >= half):
                add(base + s, 36 if rng.random() > 0.3 else 35, 100)
        for s in metre.snares:
            if not (fill and s >= half):
                add(base + s, 38 if rng.random() > 0.2 else 40, 105)
        if bar == 0 or rng.random() < 0.3:
            add(base, int(rng.choice([49, 57, 52])), 110)
        if fill:
            toms = [50, 48, 47, 45, 43, 41]
            fill_steps = list(range(half, metre.steps, 2 if tempo > 150 else 1))
            for k, s in enumerate(fill_steps):
                add(base + s, toms[min(len(toms) - 1, k * len(toms) // len(fill_steps))], 95)
    add(bars * metre.steps, int(rng.choice([49, 57, 52])), 115)
    add(bars * metre.steps, 36, 110)
    hits.sort(key=lambda h: h.time)
    return hits


def ground_truth_from_midi(path: str | Path) -> list[tuple[float, str]]:
    """(time in s, component) of every channel-10 note-on of a MIDI file whose note has a component.

    SMPTE timing (frames per second and ticks per frame) is read as such; what has no usable timeline (a type-2
    file, a zero division, tempo 0) is a one-line error naming the file (:func:`mlrun_music.midi.read_midi`)."""
    import mido

    from mlrun_music.errors import UserError
    from mlrun_music.midi import read_midi

    mid = read_midi(path, smpte=True)
    division = mid.ticks_per_beat - 0x10000 if mid.ticks_per_beat >= 0x8000 else mid.ticks_per_beat
    out = []
    if division < 0:  # SMPTE: the high byte is minus the frame rate, the low byte the ticks per frame
        fps_code, ticks_per_frame = -(division >> 8), division & 0xFF  # >> keeps the sign: the signed high byte
        fps = {24: 24.0, 25: 25.0, 29: 30000 / 1001, 30: 30.0}.get(fps_code)
        if fps is None or ticks_per_frame == 0:
            raise UserError(f"{path}: SMPTE division with {fps_code} frames per second and {ticks_per_frame} ticks "
                            "per frame is not valid (24, 25, 29 or 30 fps, at least 1 tick)")
        ticks = 0
        for msg in mido.merge_tracks(mid.tracks):  # SMPTE time ignores tempo: a tick is a fixed duration
            ticks += msg.time
            if msg.type == "note_on" and msg.velocity > 0 and msg.channel == 9 and msg.note in NOTE_TO_COMPONENT:
                out.append((ticks / (fps * ticks_per_frame), NOTE_TO_COMPONENT[msg.note]))
        return out
    t = 0.0
    for msg in mid:  # iterating a MidiFile yields messages with time in seconds
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel == 9 and msg.note in NOTE_TO_COMPONENT:
            out.append((t, NOTE_TO_COMPONENT[msg.note]))
    return out
