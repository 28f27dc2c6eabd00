"""Datasets through the CLI: each real layout from generated fixture trees, synthetic fallback, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mlrun_music_kelly.data import synthetic
from mlrun_music_kelly.data.chords import VOCAB, chord_index
from mlrun_music_kelly.models.specs import MODELS

FAST = ("--epochs", "1", "--no-onnx", "--no-plots", "--no-rtneural", "--batch-size", "8")


def train_one(fx, tmp_path: Path, model: str, datasets: Path, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    code, text = fx.run_cli("train", "kelly", "--model", model, "--datasets-dir", datasets, "--output", out,
                            *FAST, *extra)
    return code, text, out / "kelly" / "default"


def report(run: Path, stem: str) -> dict:
    return json.loads((run / "data" / f"{stem}_report.json").read_text())


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_synthetic_targets_are_a_fixed_function_plus_small_noise(spec):
    a, b = synthetic.make(spec.name, 256, seed=1), synthetic.make(spec.name, 256, seed=2)
    assert not np.allclose(a.x.numpy(), b.x.numpy())  # --seed changes the samples ...
    clean = synthetic.targets(spec, a.x.numpy().astype(np.float64), None)
    noise = np.abs(clean - a.y.numpy()).mean()
    spread = np.abs(clean - clean.mean(axis=0)).mean()
    assert noise < 0.5 * spread  # ... but targets follow the fixed teacher closely
    test = synthetic.held_out(spec.name)
    assert np.allclose(test.x.numpy(), synthetic.held_out(spec.name).x.numpy())


def test_fallback_to_synthetic_is_announced_per_model(fx, tmp_path):
    (tmp_path / "datasets" / "lakh_midi").mkdir(parents=True)  # only one dataset folder exists, and it is empty
    code, text, run = train_one(fx, tmp_path, "DynamicsEngine", tmp_path / "datasets", "--synthetic-samples", "32")
    assert code == 0, text
    assert "DynamicsEngine: no maestro dataset at" in text and "falling back to synthetic data" in text
    rep = report(run, "dynamicsengine")
    assert rep["source"] == "synthetic" and "no maestro dataset" in rep["reason"]


@pytest.mark.parametrize("make", ["missing", "empty", "unrelated"])
def test_a_datasets_dir_without_datasets_is_a_one_line_error(fx, tmp_path, make):
    datasets = tmp_path / "datasets"
    if make != "missing":
        datasets.mkdir()
    if make == "unrelated":
        (datasets / "notes.txt").write_text("no dataset here")
    code, text, _ = train_one(fx, tmp_path, "GroovePredictor", datasets, "--synthetic-samples", "32")
    assert code != 0
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    assert str(datasets) in errors[0]
    assert ("no such folder" if make == "missing" else "holds none of the datasets") in errors[0]
    for layout in ("deam/audio", "lakh_midi/", "chords/chord_progressions.json", "maestro/", "groove_midi/",
                   "--use-synthetic"):
        assert layout in errors[0]
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pt"))
    # --use-synthetic leaves --datasets-dir unused, which is refused; alone it trains.
    code, text, _ = train_one(fx, tmp_path, "GroovePredictor", datasets, "--synthetic-samples", "32",
                              "--use-synthetic")
    assert code == 2 and text.strip() == "error: --datasets-dir is unused when --use-synthetic is given", text
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.pt"))
    out = tmp_path / "out"
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--output", out, *FAST,
                            "--synthetic-samples", "32", "--use-synthetic")
    assert code == 0, text
    assert report(out / "kelly" / "default", "groovepredictor")["source"] == "synthetic"


@pytest.mark.parametrize("place,columns", [
    ("annotations/annotations.csv", ("filename", "valence", "arousal")),
    ("annotations.csv", ("song_id", " valence_mean", " arousal_mean")),
    ("DEAM_annotations/annotations.csv", ("Filename", "Valence", "Arousal")),
    ("labels.csv", ("song_id", "valence", "arousal")),
])
def test_deam_any_accepted_place_and_column_spelling(fx, tmp_path, place, columns):
    deam = tmp_path / "datasets" / "deam"
    for i, freq in enumerate((220.0, 440.0, 880.0, 330.0)):
        fx.write_tone(deam / "audio" / f"{i + 1}.{'wav' if i % 2 else 'flac'}", freq, seconds=1.0)
    with_ext = columns[0].lower() == "filename"
    rows = [f"{i + 1}{'.wav' if with_ext and i % 2 else '.flac' if with_ext else ''},{3 + i},{7 - i}"
            for i in range(4)]
    rows.append("99,5,5")  # names a clip that does not exist
    rows.append("2,high,5")  # non-numeric valence
    (deam / place).parent.mkdir(parents=True, exist_ok=True)
    (deam / place).write_text(",".join(columns) + "\n" + "\n".join(rows) + "\n")
    code, text, run = train_one(fx, tmp_path, "EmotionRecognizer", tmp_path / "datasets", "--val-fraction", "0.25")
    assert code == 0, text
    rep = report(run, "emotionrecognizer")
    assert rep["source"] == "deam" and rep["annotations"].endswith(place)
    assert rep["skipped"] == {"rows naming missing audio": 1, "rows with non-numeric valence/arousal": 1}
    assert rep["samples"] == 4 and rep["scale"].startswith("1..9")
    from mlrun_music.api import load_model

    info = load_model("kelly", run / "checkpoints" / "emotionrecognizer_best.pt").info
    assert info["source"] == "deam" and info["samples"] == 4


def test_deam_features_use_the_core_mel_front_end():
    from mlrun_music_kelly.data.features import FeatureExtractor

    t = np.arange(22050) / 22050
    low = FeatureExtractor().from_audio(0.5 * np.sin(2 * np.pi * 110 * t))
    high = FeatureExtractor().from_audio(0.5 * np.sin(2 * np.pi * 4000 * t))
    assert low.shape == (128,) and np.all(np.isfinite(low))
    assert np.argmax(low) < 20 < np.argmax(high)


def test_deam_csv_with_missing_columns_is_a_one_line_error(fx, tmp_path):
    deam = tmp_path / "datasets" / "deam"
    fx.write_tone(deam / "audio" / "1.wav", 440.0)
    (deam / "annotations.csv").write_text("song_id,valence\n1,5\n")
    code, text, run = train_one(fx, tmp_path, "EmotionRecognizer", tmp_path / "datasets")
    assert code != 0
    assert "annotations.csv: missing column(s) arousal" in text and "Traceback" not in text
    assert not (run / "checkpoints").exists() or not list((run / "checkpoints").iterdir())


def test_lakh_midi_with_labels_proxies_and_corrupt_files(fx, tmp_path):
    lakh = tmp_path / "datasets" / "lakh_midi"
    fx.write_midi(lakh / "a" / "major.mid", fx.melody_notes(1, 64))
    fx.write_midi(lakh / "b" / "minor.midi", fx.melody_notes(2, 64, minor=True))
    fx.write_midi(lakh / "labelled.mid", fx.melody_notes(3, 40))
    (lakh / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01garbage")
    (lakh / "emotion_labels.json").write_text(json.dumps({"labelled.mid": {"valence": 0.8, "arousal": -0.5}}))
    code, text, run = train_one(fx, tmp_path, "MelodyTransformer", tmp_path / "datasets")
    assert code == 0, text
    rep = report(run, "melodytransformer")
    assert rep["source"] == "lakh" and rep["files_used"] == 3
    assert rep["skipped"] == {"corrupt MIDI files": 1}
    assert rep["emotion_from_labels"] >= 1 and rep["emotion_from_proxy"] >= 2


def test_midi_loaders_compute_documented_targets(fx, tmp_path):
    from types import SimpleNamespace

    from mlrun_music_kelly.data import midi

    cfg = SimpleNamespace(max_files=0)
    lakh = tmp_path / "lakh"
    fx.write_midi(lakh / "x.mid", [(i * 0.5, 0.4, 60 + (i % 2) * 7, 90) for i in range(16)])
    data, _ = midi.load_lakh(lakh, cfg)
    hist = data.y[0].numpy()
    assert hist[60] == 1.0 and hist[67] == 1.0 and hist.sum() == 2.0
    groove = tmp_path / "groove"
    # Every hit exactly on 8th notes at 120 bpm, velocity 127: no timing deviation, loud on even slots.
    fx.write_midi(groove / "g.midi", [(k / 2, 0.1, 36, 127) for k in range(16)], channel=9)
    data, rep = midi.load_groove(groove, cfg)
    y = data.y[0].numpy()
    assert np.allclose(y[:16], 0, atol=0.02)
    assert np.allclose(y[16:][::2], 1.0) and np.allclose(y[16:][1::2], -1.0)
    assert np.allclose(data.x[0].numpy()[:32], 0.0)  # drums carry no mode: neutral valence proxy


def test_maestro_and_groove_through_the_cli(fx, tmp_path):
    maestro = tmp_path / "datasets" / "maestro"
    for i in range(2):
        fx.write_midi(maestro / "2018" / f"p{i}.midi", fx.melody_notes(10 + i, 160))
    (maestro / "2018" / "empty.midi").write_bytes(b"")
    groove = tmp_path / "datasets" / "groove_midi"
    for i in range(2):
        fx.write_midi(groove / "drummer1" / f"{i}_funk_100_beat_4-4.mid", fx.drum_notes(i, bars=6), tempo=600000,
                      channel=9)
    code, text, run = train_one(fx, tmp_path, "DynamicsEngine", tmp_path / "datasets")
    assert code == 0, text
    rep = report(run, "dynamicsengine")
    assert rep["source"] == "maestro" and rep["samples"] >= 4 and rep["skipped"] == {"corrupt MIDI files": 1}
    code, text, run = train_one(fx, tmp_path / "g", "GroovePredictor", tmp_path / "datasets")
    assert code == 0, text
    rep = report(run, "groovepredictor")
    assert rep["source"] == "groove" and rep["samples"] >= 4


@pytest.mark.parametrize("shape", ["list", "progressions", "chord_progressions"])
def test_chord_json_in_all_three_shapes_reports_unknown_chords(fx, tmp_path, shape):
    items = [{"chords": ["C", "Am", "F", "G"], "emotion": {"valence": 0.5, "arousal": 0.7}},
             {"chords": ["Dm7", "G7", "Cmaj7", "Xyz", "H"], "emotion": {"valence": -0.2, "arousal": 0.1}},
             ["Bbm", "Eb", "Ab", "Qq"]] * 4
    doc = items if shape == "list" else {shape: items}
    path = tmp_path / "datasets" / "chords" / "chord_progressions.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(doc))
    code, text, run = train_one(fx, tmp_path, "HarmonyPredictor", tmp_path / "datasets")
    assert code == 0, text
    rep = report(run, "harmonypredictor")
    assert rep["source"] == "chords" and rep["samples"] == 12
    assert rep["unknown_chords"] == {"H": 4, "Qq": 4, "Xyz": 4} and rep["unknown_chord_count"] == 12
    assert "unknown chord name(s) left out: H, Qq, Xyz" in text
    assert rep["outside_vocabulary"] == {"Dmin7": 4}  # parsed, but min7 lies beyond the first 64
    assert rep["bare_lists_neutral_emotion"] == 4


def test_chord_names_never_fall_back_to_index_zero():
    assert VOCAB[0] == "C" and chord_index("C") == 0
    assert chord_index("Am") == VOCAB.index("Am") != 0
    assert chord_index("Bbm7") == chord_index("A#min7") and chord_index("A#min7") is None  # beyond the first 64
    assert chord_index("Dbmaj7") == VOCAB.index("C#maj7")
    assert chord_index("AM") is None or VOCAB[chord_index("AM")] == "A"  # 'M' alone means major
    assert chord_index("am") is None and chord_index("") is None and chord_index("C13") is None


def test_chord_json_of_unknown_shape_is_a_one_line_error(fx, tmp_path):
    path = tmp_path / "datasets" / "chords" / "chord_progressions.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"songs": [["C", "G"]]}))
    code, text, _ = train_one(fx, tmp_path, "HarmonyPredictor", tmp_path / "datasets")
    assert code != 0 and "chord_progressions.json: unknown chord-progression shape" in text
    assert "got songs" in text and "Traceback" not in text
