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


def _meta(path):
    midi = mido.MidiFile(path)
    metas = [m for t in midi.tracks for m in t if m.is_meta]
    notes = [m.note for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    return midi, metas, notes


def test_key_tempo_and_bars_come_out_in_the_midi(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    cases = [("Bb major", "Bb", {10, 0, 2, 3, 5, 7, 9}, "happy"), ("F#m", "F#m", {6, 8, 9, 11, 1, 2, 5}, "calm")]
    for key, signature, scale, emotion in cases:
        out = tmp_path / signature
        r = mlrun("emopia", "generate", ckpt, "--emotion", emotion, "--key", key, "--tempo", "90", "--bars", "8",
                  "--seed", "2", "--num-samples", "2", "--out", out)
        assert r.code == 0, r.err
        for f in sorted(out.glob("*.mid")):
            midi, metas, notes = _meta(f)
            assert [m.key for m in metas if m.type == "key_signature"] == [signature]
            assert [round(mido.tempo2bpm(m.tempo), 3) for m in metas if m.type == "set_tempo"] == [90.0]
            assert [(m.numerator, m.denominator) for m in metas if m.type == "time_signature"] == [(4, 4)]
            assert abs(midi.length - 8 * 4 * 60 / 90) <= 0.1 * 8 * 4 * 60 / 90, midi.length
            assert len(notes) >= 5
            assert sum(n % 12 in scale for n in notes) >= 0.9 * len(notes)
        manifest = json.loads(next(out.glob("*.json")).read_text())
        assert manifest["bars"] == 8 and manifest["tempo"] == 90.0 and manifest["duration"] is None


def test_a_seed_reproduces_the_file_byte_for_byte(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    args = ["--emotion", "tense", "--key", "C", "--tempo", "100", "--bars", "4"]
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        assert mlrun("emopia", "generate", ckpt, *args, "--seed", seed, "--out", tmp_path / name).code == 0
    a, b, c = ((tmp_path / n).glob("*.mid") for n in "abc")
    a, b, c = (next(x).read_bytes() for x in (a, b, c))
    assert a == b
    assert a != c


def test_steering_writes_the_prompted_mode_and_no_steer_samples_the_model(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    for emotion, minor in (("sad", True), ("happy", False)):
        out = tmp_path / emotion
        assert mlrun("emopia", "generate", ckpt, "--emotion", emotion, "--duration", "8", "--num-samples", "3",
                     "--seed", "4", "--steer", "--out", out).code == 0
        manifest = json.loads(next(out.glob("*.json")).read_text())
        assert manifest["steering"]["mode_and_density"] is True
        for s in manifest["samples"]:
            assert s["key"].endswith("minor" if minor else "major")
            _, metas, _ = _meta(out / s["file"])
            assert [m.key.endswith("m") for m in metas if m.type == "key_signature"] == [minor]
    raw = tmp_path / "raw"
    assert mlrun("emopia", "generate", ckpt, "--emotion", "sad", "--duration", "8", "--out",
                 raw).code == 0
    manifest = json.loads(next(raw.glob("*.json")).read_text())
    assert manifest["steering"]["mode_and_density"] is False and manifest["samples"][0]["key"] is None
    _, metas, _ = _meta(raw / manifest["samples"][0]["file"])
    assert not [m for m in metas if m.type == "key_signature"]


def test_bad_key_tempo_and_bars_are_one_line_errors(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    cases = [
        (["--key", "H"], "--key: unknown key 'H'; give a tonic A-G"),
        (["--key", "C dorian"], "--key: unknown key 'C dorian'"),
        (["--tempo", "0"], "--tempo must be between 30 and 300 bpm, got 0"),
        (["--tempo", "1000"], "--tempo must be between 30 and 300 bpm, got 1000"),
        (["--bars", "0"], "--bars must be between 1 and 256, got 0"),
        (["--bars", "10000"], "--bars must be between 1 and 256, got 10000"),
        (["--bars", "200", "--tempo", "40"], "--bars 200 at 40 bpm lasts 1200 s, over the 600 s limit"),
        (["--bars", "4", "--duration", "10"], "--bars and --duration both set the length: give one"),
    ]
    for args, message in cases:
        r = mlrun("emopia", "generate", ckpt, "--emotion", "happy", *args, "--out", tmp_path / "x")
        assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1, (args, r.err)
    assert not (tmp_path / "x").exists()


def test_the_rendered_audio_follows_the_tempo(mlrun, trained, tmp_path):
    import soundfile as sf

    out = tmp_path / "slow"
    r = mlrun("emopia", "generate", trained / "checkpoints" / "final.pt", "--emotion", "calm", "--tempo", "60",
              "--bars", "2", "--key", "G", "--out", out, "--render")
    assert r.code == 0, r.err
    midi = next(out.glob("*.mid"))
    assert abs(mido.MidiFile(midi).length - 8.0) <= 0.8
    audio, rate = sf.read(midi.with_suffix(".wav"))
    assert abs(len(audio) / rate - mido.MidiFile(midi).length) < 1.0
