"""`mlrun emopia generate`: valid MIDI of the requested length, seeds, cache vs recomputation, bad requests."""

from __future__ import annotations

import json

import mido

from .conftest import TINY, make_tree


def test_generate_writes_midi_of_the_requested_duration(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    out = tmp_path / "gen"
    r = mlrun("emopia", "generate", ckpt, "--emotion", "happy", "--duration", "12", "--num-samples", "3",
              "--seed", "1", "--temperature", "0.9", "--top-k", "10", "--out", out)
    assert r.code == 0, r.err
    files = sorted(out.glob("*.mid"))
    assert [f.name for f in files] == [f"happy_Q1_seed1_{i:02d}.mid" for i in range(3)]
    for f in files:
        midi = mido.MidiFile(f)
        assert abs(midi.length - 12) <= 1.2, (f.name, midi.length)
        notes = [m for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0]
        assert len(notes) >= 5
    manifest = json.loads((out / "happy_Q1_seed1.json").read_text())
    assert manifest["quadrant"] == 1 and manifest["kv_cache"] is True and len(manifest["samples"]) == 3
    assert all(abs(s["seconds"] - 12) <= 1.2 for s in manifest["samples"])

    # The same seed gives the same music; the naive decoder (no cache) computes the same tokens.
    again, naive = tmp_path / "again", tmp_path / "naive"
    assert mlrun("emopia", "generate", ckpt, "--emotion", "Q1", "--duration", "12", "--num-samples", "3",
                 "--seed", "1", "--temperature", "0.9", "--top-k", "10", "--out", again).code == 0
    assert mlrun("emopia", "generate", ckpt, "--emotion", "joy", "--duration", "12", "--num-samples", "3",
                 "--seed", "1", "--temperature", "0.9", "--top-k", "10", "--out", naive, "--no-cache").code == 0
    for f in files:
        assert (again / f.name).read_bytes() == f.read_bytes()
        assert (naive / f.name).read_bytes() == f.read_bytes()


def test_long_pieces_continue_past_the_model_window(mlrun, trained, tmp_path):
    # max_seq_len is 64 tokens in the tiny model: 40 s of music needs several windows of context.
    r = mlrun("emopia", "generate", trained / "checkpoints" / "final.pt", "--emotion", "sad", "--duration", "40",
              "--out", tmp_path / "long")
    assert r.code == 0, r.err
    manifest = json.loads(next((tmp_path / "long").glob("*.json")).read_text())
    assert manifest["samples"][0]["tokens"] > 64
    assert abs(mido.MidiFile(next((tmp_path / "long").glob("*.mid"))).length - 40) <= 4


def test_bad_generation_requests(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    cases = [
        (["--emotion", "happy", "--duration", "0"], "--duration must be between 2 and 600 seconds, got 0"),
        (["--emotion", "happy", "--duration", "36000"], "--duration must be between 2 and 600 seconds"),
        (["--emotion", "bored"], "unknown emotion 'bored'; trained emotions: Q1 (happy"),
        (["--emotion", "fear"], "'fear' has no training data"),
        (["--emotion", "surprise"], "'surprise' has no training data"),
        (["--emotion", "sad", "--temperature", "0"], "--temperature must be > 0"),
    ]
    for args, message in cases:
        r = mlrun("emopia", "generate", ckpt, *args, "--out", tmp_path / "x")
        assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1, (args, r.err)
    assert not (tmp_path / "x").exists()
    r = mlrun("emopia", "generate", tmp_path / "missing.pt", "--emotion", "sad")
    assert r.code == 2 and "does not exist" in r.err


def test_an_emotion_missing_from_the_training_data_is_refused(mlrun, tmp_path):
    base = make_tree(tmp_path / "data", songs=8, bad_files=False)
    for f in base.joinpath("midis").glob("*.mid"):
        if f.name.startswith(("Q2_", "Q4_")):
            f.unlink()
    lines = [ln for ln in (base / "label.csv").read_text().splitlines() if not ln.startswith(("Q2_", "Q4_"))]
    (base / "label.csv").write_text("\n".join(lines) + "\n")
    assert mlrun("train", "emopia", *TINY, "--data-dir", base, "--tag", "two", "--max-steps", "1").code == 0
    ckpt = tmp_path / "runs" / "emopia" / "two" / "checkpoints" / "final.pt"
    r = mlrun("emopia", "generate", ckpt, "--emotion", "calm", "--duration", "5", "--out", tmp_path / "g")
    assert r.code == 2
    assert "'calm' (Q4 (calm)) was not in this model's training data; trained emotions: Q1 (happy, joy, excited); " \
           "Q3 (sad, sadness)" in r.err
    assert mlrun("emopia", "generate", ckpt, "--emotion", "sadness", "--duration", "5",
                 "--out", tmp_path / "g").code == 0


def test_render_writes_audible_audio_beside_each_piece(mlrun, trained, tmp_path):
    import numpy as np
    import soundfile as sf

    out = tmp_path / "heard"
    r = mlrun("emopia", "generate", trained / "checkpoints" / "final.pt", "--emotion", "calm", "--duration", "6",
              "--num-samples", "2", "--out", out, "--render")
    assert r.code == 0, r.err
    for midi in sorted(out.glob("*.mid")):
        audio, rate = sf.read(midi.with_suffix(".wav"))
        assert abs(len(audio) / rate - mido.MidiFile(midi).length) < 1.0
        assert np.sqrt(np.mean(audio ** 2)) > 0.001
        assert f"rendered {midi.with_suffix('.wav')}" in r.out


def test_without_a_checkpoint_the_shipped_model_is_used_or_its_absence_said(mlrun):
    from mlrun_music import api

    r = mlrun("emopia", "generate", "--emotion", "happy", "--duration", "4")
    if api.task("emopia").pretrained:
        assert r.code == 0 and "using the shipped model" in r.err
    else:
        assert r.code != 0 and r.err.strip() == ("error: task 'emopia' ships no model; name a checkpoint (train one "
                                                 "with `mlrun train emopia`)")
