"""`--dataset folder`: your own tunes from a folder of ABC, MIDI and MusicXML files (any depth), what `--data-dir`
means without `--dataset`; skip reasons counted; one-line errors for a folder that gives no melody."""

from __future__ import annotations

import json
import random

import mido
import pytest
from music21 import chord, key, meter, note, stream

from mlrun_music_chromasonic.data.scores import highest_voice, parse_score_file


def a_score(seed: int, notes: int = 24) -> stream.Score:
    """A melody in G, 3/4 with a chord every fifth beat (its top note is the melody) and a bass part below."""
    rng = random.Random(seed)
    score, melody, bass = stream.Score(), stream.Part(), stream.Part()
    for part in (melody, bass):
        part.append(meter.TimeSignature("3/4"))
        part.append(key.KeySignature(1))
    for j in range(notes):
        top = 67 + rng.choice([-3, -1, 0, 2, 4, 5])
        ql = rng.choice([0.5, 1.0])
        melody.append(chord.Chord([top - 12, top], quarterLength=ql) if j % 5 == 4 else note.Note(top, quarterLength=ql))
    for _ in range(notes // 2):
        bass.append(note.Note(43, quarterLength=1.0))
    score.insert(0, melody)
    score.insert(0, bass)
    return score


def abc_tunes(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "\n".join(f"X:{i}\nT:abc {i}\nM:6/8\nL:1/8\nK:D\n" + " ".join(rng.choice("defgab") + rng.choice(["", "2"])
                                                                     for _ in range(30)) + "|]\n"
                     for i in range(1, n + 1))


@pytest.fixture()
def my_tunes(tmp_path):
    folder = tmp_path / "my_tunes"
    (folder / "midi").mkdir(parents=True)
    (folder / "scores" / "deeper").mkdir(parents=True)
    for i in range(4):
        a_score(i).write("midi", fp=folder / "midi" / f"tune{i}.mid")
        a_score(10 + i).write("musicxml", fp=folder / "scores" / "deeper" / f"tune{i}.musicxml")
    (folder / "reels.abc").write_text(abc_tunes(4, 1))
    drums = mido.MidiFile()
    track = mido.MidiTrack()
    drums.tracks.append(track)
    track += [mido.Message("note_on", note=36, channel=9, velocity=90), mido.Message("note_off", note=36, channel=9,
                                                                                     time=480)]
    drums.save(folder / "midi" / "drums.mid")
    (folder / "midi" / "broken.mid").write_bytes(b"MThd not really")
    (folder / "notes.txt").write_text("not music")
    return folder


def test_highest_voice_cuts_at_the_next_onset_and_fills_gaps():
    F = __import__("fractions").Fraction
    notes = [(F(0), F(2), 60), (F(0), F(1), 64), (F(1), F(1), 62), (F(3), F(1), 65)]
    assert highest_voice(notes) == [(64, 1.0), (62, 1.0), (None, 1.0), (65, 1.0)]


def test_a_midi_file_gives_the_highest_voice_of_its_busiest_track(my_tunes):
    res = parse_score_file(str(my_tunes / "midi" / "tune0.mid"), "tune0.mid")
    mel = res["melodies"][0]
    expected = [n.pitches[-1].midi if n.isChord else n.pitch.midi for n in a_score(0).parts[0].flatten().notes]
    assert [p for p, _ in mel["notes"]] == expected and mel["meter"] == "3/4" and mel["key_sharps"] == 1
    bass = parse_score_file(str(my_tunes / "midi" / "tune0.mid"), "tune0.mid", track=2)["melodies"][0]
    assert {p for p, _ in bass["notes"]} == {43}
    assert parse_score_file(str(my_tunes / "midi" / "tune0.mid"), "x", track=3)["file_error"].startswith("no track 3")
    xml = parse_score_file(str(my_tunes / "scores" / "deeper" / "tune0.musicxml"), "t.musicxml")["melodies"][0]
    assert [p for p, _ in xml["notes"]] == [n.pitches[-1].midi if n.isChord else n.pitch.midi
                                            for n in a_score(10).parts[0].flatten().notes]


def test_data_dir_alone_trains_on_the_folder(mlrun, my_tunes, tmp_path):
    r = mlrun("train", "chromasonic", "--data-dir", my_tunes, "--model", "lstm", "--epochs", "1", "--hidden-size",
              "16", "--embedding-size", "8", "--num-layers", "1", "--batch-size", "4", "--min-melody-length", "8",
              "--output-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache")
    assert r.code == 0, r.text
    run = tmp_path / "runs" / "chromasonic" / "default"
    report = json.loads((run / "data_report.json").read_text())
    parse = report["parse"]
    assert report["source"] == "folder" and parse["files"] == 11 and parse["tunes_parsed"] == 12
    assert parse["by_format"] == {"abc": 1, "midi": 6, "musicxml": 4}
    assert parse["skip_reasons"] == {"malformed MIDI": 1, "no melodic notes": 1}
    assert (run / "checkpoints" / "lstm_final.pt").is_file()
    r = mlrun("chromasonic", "generate", run / "checkpoints" / "lstm_final.pt", "--length", "8", "--out",
              tmp_path / "g.mid")
    assert r.code == 0, r.text


def test_bad_folders_are_one_line_errors(mlrun, my_tunes, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "drums").mkdir()
    (my_tunes / "midi" / "drums.mid").rename(tmp_path / "drums" / "drums.mid")
    cases = [(("--data-dir", tmp_path / "empty"), "--data-dir: no ABC, MIDI or MusicXML files"),
             (("--data-dir", tmp_path / "drums"), "(no melodic notes: 1)"),
             (("--data-dir", tmp_path / "nowhere"), "is not a folder"),
             (("--dataset", "synthetic", "--data-dir", my_tunes), "--data-dir is used only with --dataset folder or "
                                                                  "nottingham; this run trains on 'synthetic'"),
             (("--track", "2",), "--track is used only with --dataset folder")]
    for args, message in cases:
        cache = () if "synthetic" in args else ("--cache-dir", tmp_path / "cache")
        r = mlrun("train", "chromasonic", *args, "--model", "markov", "--output-dir", tmp_path / "runs", *cache)
        assert r.code != 0 and message in r.err, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1, r.err


def test_fine_tuning_on_a_folder_keeps_the_checkpoints_vocabulary(mlrun, my_tunes, trained_run, tmp_path):
    import torch

    init = trained_run / "checkpoints" / "lstm_best.pt"
    r = mlrun("train", "chromasonic", "--data-dir", my_tunes, "--model", "lstm", "--epochs", "1", "--init-from", init,
              "--sequence-length", "16", "--hidden-size", "16", "--embedding-size", "8", "--num-layers", "1",
              "--batch-size", "4", "--min-melody-length", "8", "--output-dir", tmp_path / "runs",
              "--cache-dir", tmp_path / "cache")
    assert r.code == 0, r.text
    tuned = torch.load(tmp_path / "runs/chromasonic/default/checkpoints/lstm_final.pt", weights_only=False)
    assert tuned["model_info"]["vocab"] == torch.load(init, weights_only=False)["model_info"]["vocab"]
    r = mlrun("train", "chromasonic", "--data-dir", my_tunes, "--model", "lstm", "--epochs", "1", "--init-from", init,
              "--max-duration", "4", "--output-dir", tmp_path / "runs2", "--cache-dir", tmp_path / "cache")
    assert r.code != 0 and "was trained with --max-duration 8.0, this run has 4.0" in r.err


def test_fine_tuning_from_a_shipped_model_by_name(mlrun, my_tunes, tmp_path):
    import torch

    from mlrun_music.pretrained import locate

    r = mlrun("train", "chromasonic", "--data-dir", my_tunes, "--model", "lstm", "--epochs", "1", "--init-from",
              "shipped:lstm", "--batch-size", "4", "--num-threads", "1", "--min-melody-length", "8",
              "--output-dir", tmp_path / "runs", "--cache-dir", tmp_path / "cache")
    assert r.code == 0, r.text
    shipped = locate("mlrun_music_chromasonic:pretrained/lstm.pt")
    assert f"model weights from {shipped}" in r.text
    tuned = torch.load(tmp_path / "runs/chromasonic/default/checkpoints/lstm_final.pt", weights_only=False)
    assert tuned["model_info"]["vocab"] == torch.load(shipped, weights_only=False)["model_info"]["vocab"]
    r = mlrun("train", "chromasonic", "--data-dir", my_tunes, "--model", "lstm", "--init-from", "shipped:nope",
              "--output-dir", tmp_path / "runs2", "--cache-dir", tmp_path / "cache")
    assert r.code != 0 and "--init-from shipped:nope: task 'chromasonic' ships no model 'nope'" in r.err
