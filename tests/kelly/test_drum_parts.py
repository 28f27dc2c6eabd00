"""GroovePredictor on the drum-parts dataset: drum parts the tests write (GM MIDI, Hydrogen), trained and evaluated
through the CLI; the shipped GroovePredictor and its card."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest

from mlrun_music_kelly.data import drums

FAST = ("--no-onnx", "--no-plots", "--no-rtneural", "--num-threads", "1")


def write_drums(path: Path, *, bpm: float, busy: bool, bars: int = 8, meter: tuple[int, int] = (4, 4),
                swing: float = 0.0) -> Path:
    """A GM file: a busy part (kick on beats, hi-hat on every 16th) or a sparse one (kick on 1 and 3), plus a
    piano line on channel 1."""
    per_beat = 480
    events = []  # (tick, note, velocity)
    for bar in range(bars):
        for six in range(16):
            start = (bar * 16 + six) * per_beat // 4
            late = int(swing * per_beat / 4) if six % 2 else 0
            if busy:
                events.append((start + late, 42, 70 + 40 * (six % 4 == 0)))
                if six % 4 == 0:
                    events.append((start, 36, 110))
            elif six % 8 == 0:
                events.append((start, 36, 100))
    mid = mido.MidiFile(ticks_per_beat=per_beat)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
                            mido.MetaMessage("time_signature", numerator=meter[0], denominator=meter[1], time=0),
                            mido.Message("note_on", channel=0, note=60, velocity=80, time=0)])
    now = 0
    for tick, note, vel in sorted(events):
        track.append(mido.Message("note_on", channel=9, note=note, velocity=vel, time=tick - now))
        track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=0))
        now = tick
    track.append(mido.Message("note_off", channel=0, note=60, velocity=0, time=per_beat))
    mid.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))
    return path


H2SONG = """<?xml version="1.0" encoding="UTF-8"?>
<song><bpm>150</bpm>
 <instrumentList>
  <instrument><id>0</id><name>Kick</name></instrument><instrument><id>1</id><name>Hat Closed</name></instrument>
 </instrumentList>
 <patternList><pattern><name>p</name><size>192</size><noteList>{notes}</noteList></pattern></patternList>
 <patternSequence>{groups}</patternSequence>
</song>
"""


def write_h2song(path: Path, bars: int = 8) -> Path:
    notes = "".join(f"<note><position>{t}</position><velocity>{0.9 if t % 48 == 0 else 0.6}</velocity>"
                    f"<instrument>{0 if t % 48 == 0 else 1}</instrument></note>" for t in range(0, 192, 12))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(H2SONG.format(notes=notes, groups="<group><patternID>p</patternID></group>" * bars),
                    encoding="utf-8")
    return path


def write_wad(path: Path, lumps: list[tuple[str, bytes]]) -> Path:
    """A PWAD: header, the lumps' bytes, then the directory (offset, size, 8-byte name)."""
    import struct

    body, entries, offset = b"", b"", 12
    for name, data in lumps:
        entries += struct.pack("<ii8s", offset, len(data), name.encode())
        body += data
        offset += len(data)
    path.write_bytes(b"PWAD" + struct.pack("<ii", len(lumps), offset) + body + entries)
    return path


@pytest.fixture
def drum_folder(tmp_path, monkeypatch) -> Path:
    """Nineteen 4/4 songs (busy and fast, sparse and slow, swung, two Hydrogen songs, a WAD's music lump) plus
    what is skipped: a song in 3/4, a corrupt MIDI file, a malformed Hydrogen song, a song without drums, a WAD
    lump that repeats a song, one that is not MIDI, and a song off its file's grid."""
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "parts"
    for i in range(16):
        busy = i % 2 == 0
        write_drums(folder / f"song{i:02d}.mid", bpm=(150 if busy else 60) + i, busy=busy,
                    swing=1 / 3 if i % 4 == 0 else 0)
    write_h2song(folder / "hydro" / "demo.h2song")
    write_h2song(folder / "hydro" / "demo2.h2song", bars=4)
    write_drums(folder / "waltz.mid", bpm=120, busy=True, meter=(3, 4))
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00")
    (folder / "hydro" / "bad.h2song").write_text("<song><bpm>1", encoding="utf-8")
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", channel=0, note=60, velocity=80, time=0)]))
    mid.save(str(folder / "piano.mid"))
    wad_song = write_drums(tmp_path / "lump.mid", bpm=130, busy=True).read_bytes()
    write_wad(folder / "game.wad", [("D_RUNNIN", wad_song), ("D_AGAIN", wad_song), ("D_MUS", b"MUS\x1a" + bytes(12)),
                                    ("MAP01", b"not music")])
    # Hits a third of a beat apart: at 89 ticks per beat the file's beat is not the music's.
    events = [mido.Message("note_on", channel=9, note=38, velocity=90, time=0 if k == 0 else 30) for k in range(64)]
    off = mido.MidiFile(ticks_per_beat=89)
    off.tracks.append(mido.MidiTrack(events))
    off.save(str(folder / "converted.mid"))
    return folder


def test_targets_are_slots_of_the_bar_and_busier_windows_read_as_more_excited(tmp_path):
    from mlrun_music.drum_parts import read_drum_part

    busy = read_drum_part(write_drums(tmp_path / "busy.mid", bpm=120, busy=True, bars=2, swing=1 / 3))
    x, y = drums.samples(busy)
    assert x.shape == (1, 64) and y.shape == (1, 32)
    # Hi-hat on every 16th, the odd ones a third of a 16th late: timing 2/3 (x2 scale) on odd slots, 0 on even.
    assert np.allclose(y[0, 1:16:2], 2 / 3, atol=0.01) and np.allclose(y[0, 0:16:2], 0.0)
    # Velocity: beats carry kick 110 and hat 110, other 16ths hat 70, mapped from 0-1 to -1..1.
    assert np.allclose(y[0, 16::4], 2 * (110 / 127) - 1, atol=1e-4)
    assert np.allclose(y[0, 17:32:2], 2 * (70 / 127) - 1, atol=1e-4)
    sparse = read_drum_part(write_drums(tmp_path / "sparse.mid", bpm=120, busy=False, bars=4))
    xs, ys = drums.samples(sparse)
    assert np.allclose(ys[:, 16:][:, [0, 8]], 2 * (100 / 127) - 1, atol=1e-4)
    assert np.allclose(np.delete(ys[:, 16:], [0, 8], axis=1), -1.0)  # silence elsewhere
    assert np.allclose(x[:, :32], 0) and np.allclose(xs[:, :32], 0)  # no valence from drums
    assert xs[0, 32] < x[0, 32]  # same tempo, fewer onsets: calmer


def test_training_on_drum_parts_through_the_cli_splits_by_song(fx, tmp_path, drum_folder):
    out = tmp_path / "out"
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--drum-parts-dirs", drum_folder,
                            "--output", out, "--epochs", "40", "--batch-size", "16", "--learning-rate", "0.005",
                            *FAST)
    assert code == 0, text
    assert "GroovePredictor: no --datasets-dir given; using the drum-parts dataset" in text
    run = out / "kelly" / "default"
    rep = json.loads((run / "data" / "groovepredictor_report.json").read_text())
    assert rep["source"] == "drum-parts" and rep["songs_used"] == 19
    assert rep["skipped"] == {"unreadable files or lumps": 3, "songs not in 4/4": 1, "songs without drum hits": 1,
                              "songs repeating an earlier song": 1, "songs off the file's 16th grid": 1}
    unreadable = rep["skip_examples"]["unreadable files or lumps"]
    for name in ("broken.mid", "bad.h2song", "game.wad:D_MUS: a MUS lump"):
        assert any(name in e for e in unreadable), unreadable
    assert rep["skip_examples"]["songs repeating an earlier song"] == ["game.wad:D_AGAIN"]
    assert rep["skip_examples"]["songs off the file's 16th grid"] == ["converted.mid (19% on it)"]
    names = {s: set(rep[f"{s}_song_names"]) for s in ("train", "val", "test")}
    assert "game.wad:D_RUNNIN" in set().union(*names.values())
    assert sum(map(len, names.values())) == 19 and all(names.values())
    for split, songs in names.items():
        assert all(drums.split_of(song) == split for song in songs)  # never one song in two splits
    assert rep["train_samples"] == 4 * len(names["train"]) - 2 * ("demo2.h2song" in names["train"])
    code, text = fx.run_cli("evaluate", "kelly", run / "checkpoints" / "groovepredictor_best.pt",
                            "--output", tmp_path / "eval")
    assert code == 0, text
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["metrics"]
    assert metrics["data"].startswith(f"drum-parts held-out songs ({len(names['test'])} songs")
    assert metrics["samples"] == rep["test_samples"]
    # Busy and sparse songs differ in arousal: the trained model tells them apart, the mean predictor cannot.
    assert metrics["loss"] < 0.5 * metrics["mean_baseline_loss"] and metrics["loss"] < metrics["untrained_loss"]
    assert metrics["velocity_mse"] < metrics["mean_velocity_mse"]
    # --data names a folder of real datasets: without Groove MIDI there, the drum parts are not used in its place.
    (tmp_path / "datasets" / "lakh_midi").mkdir(parents=True)
    code, text = fx.run_cli("evaluate", "kelly", run / "checkpoints" / "groovepredictor_best.pt",
                            "--data", tmp_path / "datasets", "--output", tmp_path / "eval2")
    assert code != 0 and f"--data {tmp_path / 'datasets'}: no groove dataset for GroovePredictor there" in text


def test_drum_parts_requested_without_songs_is_a_one_line_error(fx, tmp_path, monkeypatch):
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(tmp_path / "cache"))
    empty = tmp_path / "none"
    empty.mkdir()
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--dataset", "drum-parts",
                            "--drum-parts-dirs", empty, "--output", tmp_path / "out", "--epochs", "1", *FAST)
    assert code != 0
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"no usable drum parts in {empty}" in errors[0] and "--drum-parts-dirs" in errors[0]
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--dataset", "drum-parts",
                            "--groove-path", tmp_path, "--output", tmp_path / "out", *FAST)
    assert code == 2 and text.strip() == "error: --groove-path is unused when --dataset drum-parts is given"


def test_groove_midi_stays_the_first_choice(fx, tmp_path, drum_folder):
    groove = tmp_path / "datasets" / "groove_midi"
    for i in range(2):
        fx.write_midi(groove / f"{i}_funk_100_beat_4-4.mid", fx.drum_notes(i, bars=6), channel=9)
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--datasets-dir", tmp_path / "datasets",
                            "--drum-parts-dirs", drum_folder, "--output", tmp_path / "out", "--epochs", "1", *FAST)
    assert code == 0, text
    rep = json.loads((tmp_path / "out" / "kelly" / "default" / "data" / "groovepredictor_report.json").read_text())
    assert rep["source"] == "groove"


def test_shipped_groove_predictor_plays_busier_bars_for_an_excited_input():
    import torch

    from mlrun_music.api import load_model
    from mlrun_music_kelly.data.common import emotion_embedding

    loaded = load_model("kelly", shipped="groove-predictor", quiet=True)
    assert loaded.card["data"]["kind"] == "proxy-labelled"
    assert "drum-parts" in loaded.card["data"]["name"]
    with torch.no_grad():
        calm, excited = (loaded.model(torch.as_tensor(emotion_embedding(0.0, a))[None])[0].numpy()
                         for a in (-0.8, 0.8))
    # Velocity half: more slots with a hit (above silence's midpoint) and louder on average when excited.
    assert (excited[16:] > 0).sum() >= (calm[16:] > 0).sum() + 4
    assert excited[16:].mean() > calm[16:].mean() + 0.3
