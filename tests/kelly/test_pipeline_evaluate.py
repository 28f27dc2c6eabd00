"""`mlrun kelly pipeline` wires the five exported models as the plugin does; `mlrun evaluate kelly` shows learning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from mlrun_music.api import load_model


def _torch_pipeline(run, features):
    m = {n: load_model("kelly", run / "checkpoints" / f"{n.lower()}_best.pt").model
         for n in ("EmotionRecognizer", "MelodyTransformer", "HarmonyPredictor", "DynamicsEngine", "GroovePredictor")}
    with torch.no_grad():
        a = torch.from_numpy(features)[None]
        e = m["EmotionRecognizer"](a)
        return {"emotion_embedding": e[0], "melody_probabilities": m["MelodyTransformer"](e)[0],
                "harmony_probabilities": m["HarmonyPredictor"](torch.cat([e, a[:, :64]], dim=1))[0],
                "dynamics": m["DynamicsEngine"](e[:, :32])[0], "groove": m["GroovePredictor"](e)[0]}


def test_pipeline_on_a_features_file_matches_pytorch_wiring(fx, trained_run, tmp_path):
    features = np.random.default_rng(3).normal(size=128).astype(np.float32)
    (tmp_path / "f.json").write_text(json.dumps({"features": features.tolist()}))
    out = tmp_path / "result.json"
    code, text = fx.run_cli("kelly", "pipeline", tmp_path / "f.json", "--models", trained_run / "models",
                            "--output", out)
    assert code == 0, text
    result = json.loads(out.read_text())
    expected = _torch_pipeline(trained_run, features)
    for key, value in expected.items():
        assert len(result[key]) == value.numel()
        assert np.max(np.abs(np.array(result[key]) - value.numpy())) < 2e-6, key
    assert abs(result["valence"] - float(expected["emotion_embedding"][:32].mean())) < 1e-5
    assert abs(sum(result["harmony_probabilities"]) - 1) < 1e-4 and len(result["top_chords"]) == 3
    np.save(tmp_path / "f.npy", features)
    code, text = fx.run_cli("kelly", "pipeline", tmp_path / "f.npy", "--models", trained_run / "models")
    assert code == 0 and json.loads(text)["groove"] == result["groove"]


def test_pipeline_on_audio_and_with_onnx(fx, trained_run, tmp_path):
    wav = fx.write_tone(tmp_path / "clip.wav", 330.0, seconds=1.5)
    code, text = fx.run_cli("kelly", "pipeline", wav, "--models", trained_run / "models")
    assert code == 0, text
    numpy_result = json.loads(text)
    from mlrun_music_kelly.data.features import FeatureExtractor

    expected = _torch_pipeline(trained_run, FeatureExtractor().from_file(wav))
    assert np.max(np.abs(np.array(numpy_result["melody_probabilities"]) - expected["melody_probabilities"].numpy())) \
        < 2e-6
    for stem in ("emotionrecognizer", "melodytransformer", "harmonypredictor", "dynamicsengine", "groovepredictor"):
        code, text = fx.run_cli("export", "kelly", trained_run / "checkpoints" / f"{stem}_best.pt", "--format", "onnx",
                                "--output", tmp_path / "m" / f"{stem}.onnx")
        assert code == 0, text
    code, text = fx.run_cli("kelly", "pipeline", wav, "--models", tmp_path / "m", "--runner", "onnx")
    assert code == 0, text
    onnx_result = json.loads(text)
    assert np.max(np.abs(np.array(onnx_result["groove"]) - np.array(numpy_result["groove"]))) < 1e-5


def test_pipeline_bad_inputs(fx, trained_run, tmp_path):
    (tmp_path / "short.json").write_text("[1, 2, 3]")
    code, text = fx.run_cli("kelly", "pipeline", tmp_path / "short.json", "--models", trained_run / "models")
    assert code == 2 and "short.json: features must be 128 finite numbers, got 3" in text
    code, text = fx.run_cli("kelly", "pipeline", tmp_path / "short.json", "--models", tmp_path)
    assert code == 2 and "features must be" in text
    np.save(tmp_path / "ok.npy", np.zeros(128, np.float32))
    code, text = fx.run_cli("kelly", "pipeline", tmp_path / "ok.npy", "--models", tmp_path)
    assert code == 2 and "emotionrecognizer.json: missing (EmotionRecognizer)" in text


def _truncated_wav(path):
    """A one-second 16-bit tone whose file stops halfway through the samples its header declares."""
    sf.write(str(path), (0.3 * np.sin(np.arange(22050) / 8)).astype(np.float32), 22050)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("write, message", [
    (lambda p: sf.write(str(p), np.full(22050, 0.3, np.float32), 22050),
     "the audio is a constant level (DC offset only), no sound to analyse"),
    (lambda p: sf.write(str(p), np.full(16000, 0.5, np.float32), 16000, subtype="FLOAT"),
     "the audio is a constant level (DC offset only), no sound to analyse"),
    (lambda p: sf.write(str(p), np.array([0.5], np.float32), 22050),
     "0.00 s of audio is shorter than the 0.0928798 s needed"),
    (_truncated_wav, "the WAV file is truncated (its header declares 44100 bytes of samples, the file holds 22028); "
                     "re-export or copy it again"),
], ids=["dc-only", "dc-only-16k", "one-sample", "truncated"])
def test_pipeline_refuses_unusable_audio_in_one_line(fx, trained_run, tmp_path, write, message):
    wav = tmp_path / "clip.wav"
    write(wav)
    out = tmp_path / "result.json"
    code, text = fx.run_cli("kelly", "pipeline", wav, "--models", trained_run / "models", "--output", out)
    assert code == 2
    assert text.strip().splitlines() == [f"error: {wav}: {message}"]
    assert not out.exists()


def test_trained_models_beat_untrained_ones_on_held_out_data(fx, tmp_path):
    code, text = fx.run_cli("train", "kelly", "--output", tmp_path, "--model", "DynamicsEngine", "--epochs", "6",
                            "--batch-size", "32", "--use-synthetic", "--synthetic-samples", "512", "--no-onnx",
                            "--no-plots")
    assert code == 0, text
    ckpt = tmp_path / "kelly" / "default" / "checkpoints" / "dynamicsengine_best.pt"
    code, text = fx.run_cli("evaluate", "kelly", ckpt, "--output", tmp_path / "eval")
    assert code == 0, text
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())["metrics"]
    assert metrics["model"] == "DynamicsEngine" and metrics["samples"] == 512
    assert metrics["loss"] < 0.6 * metrics["untrained_loss"]
    assert metrics["loss"] < metrics["mean_baseline_loss"]
