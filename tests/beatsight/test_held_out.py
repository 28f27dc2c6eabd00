"""Human-written drum parts as transcription songs (:mod:`mlrun_music_beatsight.data.parts`), kit augmentation,
and the held-out table of `mlrun evaluate beatsight-transcriber --part-songs`, on a MIDI song and a Hydrogen kit
the tests write."""

from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest
from tests.beatsight.test_hydrogen import _noise, _tone, write_kit

from mlrun_music_beatsight.data import augment, parts
from mlrun_music_beatsight.evaluate.held_out import tempo_verdict
from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.soundfonts import drum_kit

BAND = "/usr/share/sounds/sf2/TimGM6mb.sf2"
LEVELS = ("drums_only", "accompaniment_-6dB", "accompaniment_0dB", "accompaniment_+6dB")


def name_in(split: str, stem: str) -> str:
    """A file name that :func:`parts.split_of` puts in ``split``."""
    return next(f"{stem}{i}.mid" for i in range(1000) if parts.split_of(f"{stem}{i}.mid") == split)


def write_song(path: Path, bpm: float = 100.0, bars: int = 6) -> Path:
    """A General MIDI song: kick, snare and closed hi-hat eighths on channel 10, an off-grid cowbell the 12 classes
    leave out, and a bass line on channel 1 (program 33)."""
    mid = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", channel=0, program=33, time=0))
    events = []
    for bar in range(bars):
        for eighth in range(8):
            t = (bar * 8 + eighth) * 48
            events.append((t, 9, 42, 70))
            if eighth in (0, 5):
                events.append((t, 9, 36, 110))
            if eighth in (2, 6):
                events.append((t, 9, 38, 100))
        events.append((bar * 384 + 7, 9, 56, 90))  # cowbell: not one of the 12 classes
        events.append((bar * 384, 0, 40, 90))
    messages = sorted([(t + 20, 0, ch, note, 0) for t, ch, note, _ in events]
                      + [(t, 1, ch, note, vel) for t, ch, note, vel in events])
    now = 0
    for t, on, ch, note, vel in messages:
        track.append(mido.Message("note_on" if on else "note_off", channel=ch, note=note, velocity=vel, time=t - now))
        now = t
    mid.save(str(path))
    return path


@pytest.fixture
def songs(tmp_path) -> Path:
    folder = tmp_path / "parts"
    folder.mkdir()
    write_song(folder / name_in("test", "held"))
    # Other lengths: a song whose hits repeat another's exactly is skipped as the same tune.
    write_song(folder / name_in("train", "train"), bpm=140.0, bars=7)
    write_song(folder / name_in("val", "val"), bpm=90.0, bars=8)
    return folder


@pytest.fixture
def kit(tmp_path) -> Path:
    return write_kit(tmp_path / "heldkit", [
        ("Kick", [("kick.wav", _tone(60, 0.9), 0, 1)]),
        ("Snare", [("snare.wav", _noise(0.3, 0.05, 300, 0.8, 1), 0, 1)]),
        ("Closed HH", [("hh.wav", _noise(0.1, 0.02, 7000, 0.5, 2), 0, 1)]),
    ])


def test_songs_are_split_by_name_timed_at_the_file_tempo_with_their_band(songs):
    found, skipped = parts.read_songs([songs])
    assert sorted(parts.split_of(s.name) for s in found) == ["test", "train", "val"] and not skipped
    test = next(s for s in found if parts.split_of(s.name) == "test")
    assert test.bpm == pytest.approx(100.0) and test.beats_per_bar == 4.0
    # 8 hi-hats, 2 kicks and 2 snares a bar; the cowbell is left out.
    assert len(test.hits) == 6 * 12 and {h.note for h in test.hits} == {36, 38, 42}
    assert test.hits[1].time == pytest.approx(0.0) and test.hits[2].time == pytest.approx(0.3)
    assert [n[2:] for n in test.band[:2]] == [(40, 90, 0, 33)] * 2 and test.band[1][0] == pytest.approx(2.4)
    assert test.tempo_known  # every hit but the cowbell on the sixteenth grid
    only_test, _ = parts.read_songs([songs], ("test",))
    assert [s.name for s in only_test] == [test.name]
    # Excerpts of 4.8 s (two bars at 100 BPM): times from the excerpt's start.
    pieces = parts.excerpts(test, 4.8)
    assert len(pieces) == 3 and all(len(p.hits) == 24 for p in pieces)
    assert pieces[1].start == pytest.approx(4.8) and min(h.time for h in pieces[1].hits) == pytest.approx(0.0)


def test_augmentation_keeps_hits_on_the_sound():
    hits = [synth.Hit(0.5, 36, 100), synth.Hit(1.0, 38, 100)]
    x = synth.render(hits, BAND, "fluidsynth", 120.0).astype(np.float64)
    shifted, scale = augment.pitch_shift(x, 2.0)
    assert scale == pytest.approx(2 ** (-2 / 12)) and len(shifted) == pytest.approx(len(x) * scale, abs=2)
    onset = np.argmax(np.abs(shifted) > 0.05 * np.abs(shifted).max()) / synth.SAMPLE_RATE
    assert onset == pytest.approx(0.5 * scale, abs=0.01)
    for seed in range(6):
        y, moved, applied = augment.augment(x, hits, np.random.default_rng(seed))
        assert np.isfinite(y).all() and len(moved) == 2
        assert moved[0].time == pytest.approx(0.5 * (scale_of(len(y), len(x)) if "pitch" in applied else 1), abs=1e-3)
    ir = augment.room_ir(np.random.default_rng(0), 0.5)
    assert len(ir) == synth.SAMPLE_RATE // 2 and np.sum(ir ** 2) == pytest.approx(1.0)
    assert np.abs(ir[-2000:]).max() < 0.01 * np.abs(ir).max()  # 60 dB down by the end


def scale_of(n_new: int, n_old: int) -> float:
    return n_new / n_old


def test_tempo_verdicts():
    assert tempo_verdict(103.0, 100.0) == "right"
    assert tempo_verdict(50.5, 100.0) == "fraction" and tempo_verdict(66.0, 100.0) == "fraction"
    assert tempo_verdict(150.0, 100.0) == "fraction" and tempo_verdict(110.0, 100.0) == "wrong"


def test_held_out_table_through_the_cli(mlrun, tmp_path, songs, kit):
    missing = tmp_path / "nokit.sf2"
    r = mlrun("evaluate", "beatsight-transcriber", "--no-generated", "--part-songs", "1",
              "--part-seconds", "4.8", "--part-dirs", songs, "--held-out-kits", f"{kit},{missing}",
              "--held-out-band", BAND, "--output", tmp_path / "ev")
    assert r.code == 0, r.text
    assert f"held-out kit {missing} is not installed" in r.err
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    table = metrics["per_class"]["held_out"]
    assert table["split"] == "test" and len(table["songs"]) == 1 and parts.split_of(table["songs"][0]) == "test"
    assert list(table["kits"]) == ["heldkit"]
    levels = table["kits"]["heldkit"]["levels"]
    assert list(levels) == list(LEVELS)
    (song,), _ = parts.read_songs([songs], ("test",))
    played = synth.for_kit(parts.excerpts(song, 4.8)[0].hits, drum_kit(str(kit)))
    for level in LEVELS:
        row = levels[level]
        assert sum(c["reference"] for c in row["per_class"].values()) == len(played) == 24
        assert row["per_class"]["kick"]["reference"] == 4 and row["per_class"]["hihat_closed"]["reference"] == 16
        for who in ("model", "heuristic"):
            assert set(row[who]) == {"class_aware", "family", "class_agnostic"}
            assert 0.0 <= row[who]["class_aware"] <= row[who]["class_agnostic"] <= 1.0
            assert metrics[f"held_out.heldkit.{level}.{who}.class_aware"] == row[who]["class_aware"]
        verdicts = row["tempo"]
        assert verdicts["songs"] == 1 and verdicts["right"] + verdicts["fraction"] + verdicts["wrong"] == 1
    assert metrics["held_out.lowest_kit.accompaniment_0dB.class_aware"] == levels["accompaniment_0dB"]["model"][
        "class_aware"]
    text = (tmp_path / "ev" / "transcription.md").read_text()
    aware = levels["accompaniment_+6dB"]["model"]["class_aware"]
    assert f"| heldkit | accompaniment +6dB | {aware:.3f} |" in text
    assert f"| kick | {levels['drums_only']['per_class']['kick']['f_measure']:.3f} (4) |" in text

    r = mlrun("evaluate", "beatsight-transcriber", "--no-generated", "--part-songs", "1", "--part-dirs",
              tmp_path / "empty", "--held-out-kits", kit, "--held-out-band", BAND, "--output", tmp_path / "ev2")
    assert r.code != 0 and "error: --part-songs: no usable test songs" in r.err, r.text
    r = mlrun("evaluate", "beatsight-transcriber", "--no-generated", "--output", tmp_path / "ev3")
    assert r.code != 0 and "error: --no-generated needs --part-songs" in r.err, r.text


def test_training_hears_human_written_excerpts_and_refuses_held_out_kits(mlrun, tmp_path, songs, cache):
    r = mlrun("train", "beatsight-transcriber", "--songs-per-kit", "1", "--synthetic-songs", "0",
              "--val-songs-per-kit", "1", "--val-synthetic-songs", "0", "--extra-soundfonts", "",
              "--part-windows", "2", "--part-seconds", "4.8", "--part-dirs", songs, "--kit-augmentation",
              "--chunk-seconds", "2", "--batch-size", "4", "--epochs", "1", "--max-steps", "1", "--no-plots",
              "--cache-dir", cache, "--output-dir", tmp_path / "runs")
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs" / "beatsight-transcriber" / "default" / "data_report.json").read_text())
    part_songs = {k: n for k, n in report["train"]["songs"].items() if k.startswith("parts:")}
    val_songs = {k: n for k, n in report["val"]["songs"].items() if k.startswith("parts:")}
    # Two excerpts of the one training song, two of the one validation song, every one augmented.
    assert sum(part_songs.values()) == 2 and sum(val_songs.values()) == 2
    assert all(k.endswith("+augmented") for k in list(part_songs) + list(val_songs))
    for held in ("/usr/share/hydrogen/data/drumkits/GMRockKit", "/usr/share/sounds/sf2/OPL-3_FM_128M.sf2"):
        r = mlrun("train", "beatsight-transcriber", "--extra-soundfonts", held, "--epochs", "1",
                  "--output-dir", tmp_path / "no")
        assert r.code != 0 and "held-out kit" in r.err and len(r.err.strip().splitlines()) == 1, r.text
