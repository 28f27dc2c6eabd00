"""The music21 corpus dataset: proxies, splits, variants, samples, selection, and a small prepared corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlrun_music_kelly.data import corpus
from mlrun_music_kelly.data.chords import INDEX


def test_proxy_valence_follows_the_mode_and_arousal_tempo_and_density():
    assert corpus.proxy_valence("major", 0.9) == pytest.approx(0.9)
    assert corpus.proxy_valence("minor", 0.9) == pytest.approx(-0.9)
    assert corpus.proxy_valence("major", -0.2) == pytest.approx(0.1)  # clipped to [0.1, 1]
    slow, fast = corpus.proxy_arousal(56, 1.2), corpus.proxy_arousal(160, 4.0)
    assert -1 <= slow < 0 < fast <= 1
    assert corpus.proxy_arousal(100, 1.0) < corpus.proxy_arousal(100, 3.0)


def test_pieces_never_change_split_and_the_split_is_roughly_70_10_20():
    names = [f"bwv{i}.{j}" for i in range(1, 200) for j in range(1, 3)]
    splits = [corpus.split_of(n) for n in names]
    assert splits == [corpus.split_of(n) for n in names]
    share = {s: splits.count(s) / len(splits) for s in ("train", "val", "test")}
    assert 0.6 < share["train"] < 0.8 and 0.05 < share["val"] < 0.16 and 0.14 < share["test"] < 0.27


def test_each_piece_gets_a_slow_a_moderate_and_a_fast_variant_in_two_textures_each_at_another_render_rate():
    plan = corpus._variant_plan("bwv1.6")
    assert plan == corpus._variant_plan("bwv1.6") and len(plan) == 6
    full, sparse = plan[:3], plan[3:]
    for (bpm, shift, rate, texture), (lo, hi) in zip(full, corpus.TEMPO_BANDS):
        assert lo <= bpm <= hi and shift in corpus.TRANSPOSE and texture == "full"
    assert [(bpm, shift) for bpm, shift, _, _ in sparse] == [(bpm, shift) for bpm, shift, _, _ in full]
    assert {texture for *_, texture in sparse} == {corpus.sparse_texture("bwv1.6")}
    for half in (full, sparse):
        assert sorted(rate for _, _, rate, _ in half) == sorted(corpus.RENDER_RATES)
    assert all(f[2] != s[2] for f, s in zip(full, sparse))  # a tempo's two textures at two rates
    # Over the pieces every tempo band is heard at every rate, about as often: the rate says nothing of the tempo;
    # and each sparse texture is heard on about half the pieces.
    names = [f"bwv{i}.{j}" for i in range(1, 100) for j in range(1, 4)]
    plans = [corpus._variant_plan(name) for name in names]
    for band in range(2 * len(corpus.TEMPO_BANDS)):
        counts = [sum(p[band][2] == rate for p in plans) for rate in corpus.RENDER_RATES]
        assert min(counts) > 0.2 * len(plans), counts
    textures = [corpus.sparse_texture(name) for name in names]
    assert 0.35 < textures.count("outer") / len(names) < 0.65 and set(textures) == {"outer", "arpeggio"}


def test_a_variant_changes_tempo_and_pitch_and_stops_at_the_clip(tmp_path):
    import mido

    from mlrun_music_kelly.data.midi import read_song

    source = tmp_path / "s.mid"
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120), time=0))
    for k in range(40):  # 40 quarter notes
        track.append(mido.Message("note_on", note=60 + k % 12, velocity=80, time=0))
        track.append(mido.Message("note_off", note=60 + k % 12, velocity=0, time=480))
    mid.save(str(source))
    target = tmp_path / "v.mid"
    corpus._write_variant(source, target, bpm=60.0, shift=-3, quarters=10.0)
    song = read_song(target)
    assert len(song.notes) == 10
    assert song.notes[0].pitch == 57 and song.notes[1].onset == pytest.approx(1.0)


def _record(piece: str, split: str, mode: str, bpm: float, chords: list[str], texture: str = "full",
            tonic: int = 0) -> dict:
    rng = np.random.default_rng(int(bpm))
    return {"piece": piece, "variant": 0, "bpm": bpm, "transpose": 0, "split": split, "mode": mode,
            "texture": texture, "tonic_pitch_class": tonic,
            "valence": 0.8 if mode == "major" else -0.8, "arousal": corpus.proxy_arousal(bpm, bpm / 40),
            "chords": chords, "soprano": [60, 62, 64, 67], "soprano_seconds": [0.0, 1.0, 17.0, 18.0],
            "seconds": 30.0, "features": list(rng.normal(size=128) - 6)}


def test_samples_per_model():
    records = [_record("a", "train", "major", 160, ["C", "F", "G", "C", "?"]),
               _record("b", "train", "minor", 60, ["Am", "E7", "Am"], tonic=2),
               _record("b", "train", "minor", 60, ["Am", "E7", "Am"], texture="outer")]
    x, y, _ = corpus.samples("EmotionRecognizer", records)
    assert x.shape == (3, 128) and y.shape == (3, 64)
    assert y[0, :32].mean() > 0 > y[1, :32].mean() and y[0, 32:].mean() > y[1, 32:].mean()
    x, y, _ = corpus.samples("MelodyTransformer", records)
    assert x.shape == (4, 64) and y.shape == (4, 128)  # two 16 s windows per full-texture record
    assert y[0, 60] == y[0, 62] == 1.0 and y[1, 64] == y[1, 67] == 1.0 and y.max() == 1.0
    # Key-relative: the second piece's tonic is D (pitch class 2), so its soprano is moved down two semitones.
    assert y[2, 58] == y[2, 60] == 1.0 and y[3, 62] == y[3, 65] == 1.0 and y[2:, 62].sum() == 1.0
    x, y, notes = corpus.samples("HarmonyPredictor", records)
    assert x.shape == (3, 128) and np.allclose(y.sum(axis=1), 1)
    assert y[0, INDEX["C"]] == pytest.approx(0.5) and notes["unnamed_chords"] == 1
    assert np.allclose(x[0, 64:], records[0]["features"][:64])


def test_a_prepared_corpus_is_used_when_the_real_dataset_is_absent(fx, tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    pieces = [p.stem for p in corpus.chorale_paths()[:10]]
    with open(folder / "records.jsonl", "w", encoding="utf-8") as fh:
        for i, piece in enumerate(pieces):
            for bpm in (56, 100, 160):
                fh.write(json.dumps(_record(piece, corpus.split_of(piece), "major" if i % 2 else "minor", bpm,
                                            ["C", "G"])) + "\n")
    (folder / "prepared.json").write_text(json.dumps({"max_pieces": 10}))
    out = tmp_path / "out"
    code, text = fx.run_cli("train", "kelly", "--model", "EmotionRecognizer", "--corpus-dir", folder,
                            "--corpus-pieces", "10", "--output", out, "--epochs", "1", "--no-onnx", "--no-plots",
                            "--no-rtneural")
    assert code == 0, text
    assert "EmotionRecognizer: no --datasets-dir given; using the music21 corpus dataset (proxy labels)" in text
    report = json.loads((out / "kelly" / "default" / "data" / "emotionrecognizer_report.json").read_text())
    assert report["source"] == "corpus" and report["train_samples"] + report["val_samples"] + \
        report["test_samples"] == 30
    from mlrun_music.training.checkpoint import load_checkpoint

    assert load_checkpoint(out / "kelly" / "default" / "checkpoints" / "emotionrecognizer_final.pt")["kelly_folded"]


def test_corpus_textures_full_trains_and_scores_on_the_four_part_variants_alone(fx, tmp_path):
    """Ten pieces, each with three four-part and three sparse variants: ``--corpus-textures full`` leaves the sparse
    ones out of training and of the held-out figures, ``all`` (the default) keeps them."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    pieces = [p.stem for p in corpus.chorale_paths()[:10]]
    with open(folder / "records.jsonl", "w", encoding="utf-8") as fh:
        for i, piece in enumerate(pieces):
            for texture in ("full", "outer"):
                for bpm in (56, 100, 160):
                    fh.write(json.dumps(_record(piece, corpus.split_of(piece), "major" if i % 2 else "minor", bpm,
                                                ["C", "G"], texture=texture)) + "\n")
    (folder / "prepared.json").write_text(json.dumps({"max_pieces": 10}))
    counts = {}
    for textures in ("full", "all"):
        out = tmp_path / textures
        code, text = fx.run_cli("train", "kelly", "--model", "EmotionRecognizer", "--corpus-dir", folder,
                                "--corpus-pieces", "10", "--corpus-textures", textures, "--output", out, "--epochs",
                                "1", "--no-onnx", "--no-plots", "--no-rtneural")
        assert code == 0, text
        report = json.loads((out / "kelly" / "default" / "data" / "emotionrecognizer_report.json").read_text())
        counts[textures] = report["train_samples"] + report["val_samples"] + report["test_samples"]
        checkpoint = out / "kelly" / "default" / "checkpoints" / "emotionrecognizer_final.pt"
        code, text = fx.run_cli("evaluate", "kelly", checkpoint, "--output", tmp_path / f"ev-{textures}")
        assert code == 0, text
        metrics = json.loads((tmp_path / f"ev-{textures}" / "metrics.json").read_text())["metrics"]
        test_pieces = sum(corpus.split_of(p) == "test" for p in pieces)
        assert test_pieces >= 1  # the evaluation's tempo pairs: 3 per test piece and texture
        assert metrics["tempo_pairs"] == 3 * test_pieces * (1 if textures == "full" else 2), metrics
    assert counts == {"full": 30, "all": 60}
    code, text = fx.run_cli("train", "kelly", "--model", "EmotionRecognizer", "--corpus-dir", folder,
                            "--corpus-textures", "sparse", "--output", tmp_path / "bad", "--epochs", "1")
    assert code != 0 and "--corpus-textures" in text and "Traceback" not in text


def test_without_a_prepared_corpus_the_fallback_is_synthetic_and_names_the_command(fx, tmp_path):
    code, text = fx.run_cli("train", "kelly", "--model", "HarmonyPredictor", "--corpus-dir", tmp_path / "none",
                            "--output", tmp_path / "out", "--epochs", "1", "--synthetic-samples", "32",
                            "--no-onnx", "--no-plots", "--no-rtneural")
    assert code == 0, text
    assert "falling back to synthetic data (`mlrun kelly prepare-corpus` prepares real data for it)" in text


@pytest.mark.skipif(not Path(corpus.SOUNDFONT).is_file() or shutil.which("timidity") is None,
                    reason="needs timidity and the TimGM6mb SoundFont")
def test_prepare_corpus_renders_the_variants_at_the_rates_user_audio_comes_at(fx, tmp_path):
    """Ten chorales through ``mlrun kelly prepare-corpus``: about a third of the variants at each render rate, and
    the stored features of a 44.1 kHz variant are those the pipeline's reader makes of a 44.1 kHz file of it."""
    import soundfile as sf

    from mlrun_music.audio.render import render_midi
    from mlrun_music_kelly.data.features import FeatureExtractor

    folder = tmp_path / "corpus"
    code, text = fx.run_cli("kelly", "prepare-corpus", "--pieces", "10", "--corpus-dir", folder)
    assert code == 0, text
    records = corpus.read_records(folder)
    assert len(records) == 60 and json.loads((folder / "prepared.json").read_text())["render_rates"] == [
        22050, 44100, 48000]
    rates = [r["render_rate"] for r in records]
    assert all(rates.count(rate) >= 10 for rate in corpus.RENDER_RATES), rates
    # The sparse textures: soprano and bass never play more onsets than the four parts, an arpeggio of the chords
    # more; the arousal label follows the onsets of what was rendered, and the melody target is the full variant's.
    by_key = {(r["piece"], r["variant"]): r for r in records}
    textures = set()
    for r in records:
        if r["texture"] == "full":
            continue
        textures.add(r["texture"])
        full = by_key[(r["piece"], r["variant"] - 3)]
        assert (r["bpm"], r["transpose"], r["mode"]) == (full["bpm"], full["transpose"], full["mode"])
        onsets = corpus.midi_onsets(folder / "midi" / f"{r['piece']}_v{r['variant']}.mid")
        full_onsets = corpus.midi_onsets(folder / "midi" / f"{full['piece']}_v{full['variant']}.mid")
        if r["texture"] == "outer":
            assert set(onsets) <= set(full_onsets) and r["arousal"] <= full["arousal"] + 0.02
        else:
            assert r["onsets_per_second"] > 1.5 * full["onsets_per_second"] and r["arousal"] > full["arousal"]
        assert r["onsets_per_second"] == pytest.approx(
            sum(o < corpus.CLIP_SECONDS * r["bpm"] / 60 for o in onsets) / r["seconds"], abs=1e-3)
    assert textures == {"outer", "arpeggio"}
    record = next(r for r in records if r["render_rate"] == 44100)
    audio = render_midi(folder / "midi" / f"{record['piece']}_v{record['variant']}.mid", corpus.SOUNDFONT,
                        sample_rate=44100)
    wav = tmp_path / "variant.wav"
    sf.write(str(wav), audio, 44100, subtype="FLOAT")
    assert np.abs(FeatureExtractor().from_file(wav) - np.asarray(record["features"])).max() < 1e-3
