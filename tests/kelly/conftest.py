"""Shared fixtures for the kelly tests: one tiny trained run of all five models, reused by many tests."""

from __future__ import annotations

import io
import contextlib
from pathlib import Path

import pytest


def run_cli(*args: str) -> tuple[int, str]:
    """``mlrun ARGS`` in this process, returning (exit code, stdout + stderr)."""
    from mlrun_music import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(autouse=True)
def no_installed_drum_parts(monkeypatch):
    """GroovePredictor's default drum-part folders (the Debian packages' songs) hidden, so a test's data does not
    depend on what the machine has installed; tests of the drum-parts dataset name their folders or restore them."""
    from mlrun_music_kelly.data import drums

    monkeypatch.setattr(drums, "DEFAULT_FOLDERS", ())


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """All five models trained for one epoch on small synthetic sets (no ONNX, no plots): the run folder."""
    out = tmp_path_factory.mktemp("kelly_run")
    code, text = run_cli("train", "kelly", "--output", out, "--tag", "t", "--epochs", "1", "--use-synthetic",
                         "--synthetic-samples", "64", "--no-onnx", "--no-plots")
    assert code == 0, text
    return out / "kelly" / "t"


# --------------------------------------------------------------------------------------------------------------
# Fixture trees in the real layouts (audio synthesised with NumPy and written with soundfile, MIDI with mido)


def write_tone(path: Path, freq: float, seconds: float = 1.0, sr: int = 22050, noise: float = 0.0) -> Path:
    """A sine tone (plus optional noise) written as WAV/FLAC/OGG by soundfile, chosen by the suffix."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(int(freq))
    audio = 0.4 * np.sin(2 * np.pi * freq * t) + noise * rng.normal(size=t.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio.astype(np.float32), sr)
    return path


def write_midi(path: Path, notes: list[tuple[float, float, int, int]], tempo: int = 500000, channel: int = 0,
               ticks_per_beat: int = 480) -> Path:
    """A one-track MIDI file from (onset beats, duration beats, pitch, velocity) written with mido."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=ticks_per_beat)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=tempo, time=0))
    events = []
    for onset, dur, pitch, vel in notes:
        events.append((int(onset * ticks_per_beat), 1, pitch, vel))
        events.append((int((onset + dur) * ticks_per_beat), 0, pitch, 0))
    events.sort()
    now = 0
    for tick, kind, pitch, vel in events:
        msg = "note_on" if kind else "note_off"
        track.append(mido.Message(msg, note=pitch, velocity=vel, channel=channel, time=tick - now))
        now = tick
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))
    return path


def melody_notes(seed: int, count: int = 48, minor: bool = False) -> list[tuple[float, float, int, int]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    scale = [0, 2, 3, 5, 7, 8, 10] if minor else [0, 2, 4, 5, 7, 9, 11]
    notes = []
    for i in range(count):
        pitch = 60 + scale[int(rng.integers(0, 7))] + 12 * int(rng.integers(-1, 2))
        notes.append((i * 0.5, 0.45, pitch, int(rng.integers(40, 110))))
    return notes


def drum_notes(seed: int, bars: int = 4) -> list[tuple[float, float, int, int]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    notes = []
    for bar in range(bars):
        for six in range(16):
            if six % 2 == 0 or rng.random() < 0.3:
                jitter = rng.normal() * 0.03
                notes.append((max(0.0, bar * 4 + six / 4 + jitter), 0.1, 42 if six % 4 else 36,
                              int(rng.integers(50, 120))))
    return notes


@pytest.fixture
def fx():
    """The fixture-writing helpers."""
    import types

    return types.SimpleNamespace(write_tone=write_tone, write_midi=write_midi, melody_notes=melody_notes,
                                 drum_notes=drum_notes, run_cli=run_cli)
