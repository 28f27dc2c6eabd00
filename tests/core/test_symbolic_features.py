"""mlrun_music.symbolic_features on MIDI files the tests write with known content."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mlrun_music.errors import UserError
from mlrun_music.symbolic_features import FEATURES, midi_features, overlap, overlap_table

TPQ = 480


def write(path: Path, notes: list[tuple[float, float, int]], bpm: float | None = 120.0, meter: tuple[int, int] | None =
          None, channel: int = 0) -> Path:
    """A one-track MIDI file; notes as (start, length, pitch) in quarter notes."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=TPQ)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    events = []
    if bpm is not None:
        events.append((0, 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0)))
    if meter is not None:
        events.append((0, 0, mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0)))
    for s, d, p in notes:
        events.append((int(s * TPQ), 2, mido.Message("note_on", note=p, velocity=80, channel=channel, time=0)))
        events.append((int((s + d) * TPQ), 1, mido.Message("note_on", note=p, velocity=0, channel=channel, time=0)))
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    mid.save(str(path))
    return path


C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72]


def test_c_major_scale_one_note_per_beat(tmp_path):
    f = midi_features(write(tmp_path / "scale.mid", [(i, 1, p) for i, p in enumerate(C_MAJOR)]))
    assert set(f) == set(FEATURES)
    assert f["scale_consistency"] == 1.0
    assert f["empty_beat_rate"] == 0.0
    assert f["polyphony"] == 1.0
    assert f["pitch_range"] == 12.0
    assert f["tempo"] == pytest.approx(120.0)
    assert f["note_density"] == pytest.approx(8 / 4.0)  # 8 quarters at 120 bpm last 4 s
    # 7 pitch classes, C twice: entropy of (2, 1, 1, 1, 1, 1, 1) / 8
    p = np.array([2, 1, 1, 1, 1, 1, 1]) / 8
    assert f["pitch_class_entropy"] == pytest.approx(float(-(p * np.log2(p)).sum()))
    assert f["groove_consistency"] == 1.0  # both bars: an onset on every beat


def test_chromatic_rests_chords_and_tempo(tmp_path):
    chromatic = midi_features(write(tmp_path / "chromatic.mid", [(i, 1, 60 + i) for i in range(12)], bpm=90))
    assert chromatic["pitch_class_entropy"] == pytest.approx(math.log2(12))
    assert chromatic["scale_consistency"] == pytest.approx(7 / 12)
    assert chromatic["tempo"] == pytest.approx(90.0)
    assert chromatic["note_density"] == pytest.approx(12 / (12 * 60 / 90))
    # A note on beats 0 and 3 of a 4-beat bar, each a beat long: beats 1 and 2 are empty.
    gaps = midi_features(write(tmp_path / "gaps.mid", [(0, 1, 60), (3, 1, 62)]))
    assert gaps["empty_beat_rate"] == pytest.approx(0.5)
    # Triads held for a whole beat: three notes sound at every step.
    triads = midi_features(write(tmp_path / "triads.mid", [(b, 1, p) for b in range(4) for p in (60, 64, 67)]))
    assert triads["polyphony"] == pytest.approx(3.0)
    # No tempo event: 120 bpm.
    assert midi_features(write(tmp_path / "notempo.mid", [(0, 1, 60), (1, 1, 61)], bpm=None))["tempo"] == 120.0


def test_groove_consistency_sees_changing_rhythm(tmp_path):
    steady = midi_features(write(tmp_path / "steady.mid", [(b, 0.5, 60) for b in range(16)]))
    # Bar 1: quarters; bar 2: eighths; bar 3: quarters; bar 4: eighths.
    notes = []
    for bar in range(4):
        step = 1.0 if bar % 2 == 0 else 0.5
        notes += [(bar * 4 + i * step, step, 60) for i in range(int(4 / step))]
    changing = midi_features(write(tmp_path / "changing.mid", notes))
    assert steady["groove_consistency"] == 1.0
    # Consecutive bars differ in the 4 off-beat eighths of 48 grid steps.
    assert changing["groove_consistency"] == pytest.approx(1 - 4 / 48)
    # In 3/4 the same quarters make bars of 36 steps, still identical.
    assert midi_features(write(tmp_path / "waltz.mid", [(b, 1, 60) for b in range(12)], meter=(3, 4)))[
        "groove_consistency"] == 1.0


def test_drums_only_and_bad_files(tmp_path):
    assert midi_features(write(tmp_path / "drums.mid", [(b, 1, 36) for b in range(4)], channel=9)) is None
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi")
    with pytest.raises(UserError, match="bad.mid"):
        midi_features(bad)


def test_overlap_of_samples():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 400), rng.normal(0, 1, 400)
    assert overlap(a, b) > 0.9
    assert overlap(a, a + 20) < 0.01
    half = overlap(a, a + 1.35)  # two unit normals 1.35 apart overlap by 2 * Phi(-0.675) = 0.50
    assert 0.42 < half < 0.58
    assert overlap([1.0, 1.0, 1.0], [1.0, 1.0]) == 1.0  # equal constants
    assert overlap([1.0, 1.0], [2.0, 2.0]) == 0.0
    # A constant sample at the other's centre takes its kernel width (0.3 here): N(0, 0.3) inside N(0, 1.05).
    assert 0.35 < overlap(np.zeros(50), a) < 0.6
    assert overlap(np.full(50, 30.0), a) < 0.01
    with pytest.raises(ValueError):
        overlap([1.0], [1.0, 2.0])


def test_overlap_table(tmp_path):
    real = [{"x": float(v), "y": 0.0 + v} for v in range(10)]
    gen = [{"x": float(v), "y": 100.0 + v} for v in range(10)]
    table = overlap_table(real, gen, names=("x", "y"))
    assert table["overlap"]["x"] > 0.95 and table["overlap"]["y"] < 0.01
    assert table["mean"] == pytest.approx((table["overlap"]["x"] + table["overlap"]["y"]) / 2)
    assert table["generated_mean"]["y"] == pytest.approx(104.5)
    with pytest.raises(UserError, match="at least 2"):
        overlap_table(real[:1], gen, names=("x",))
