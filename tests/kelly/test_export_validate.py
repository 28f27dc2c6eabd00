"""RTNeural JSON export (format, Keras layout, LSTM gates), ONNX export, and `mlrun kelly validate` on good and
broken files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from mlrun_music.api import load_model
from mlrun_music_kelly.models.specs import MODELS


def test_training_exported_every_model_and_validate_passes(fx, trained_run):
    files = sorted((trained_run / "models").glob("*.json"))
    assert [f.name for f in files] == sorted(f"{m.file_stem}.json" for m in MODELS)
    code, text = fx.run_cli("kelly", "validate", *files, "--check-specs", "--verbose")
    assert code == 0, text
    assert "5 of 5 file(s) valid" in text
    assert "OK   " in text and "EmotionRecognizer, 403,264 parameters, max abs difference" in text
    assert "layer 2: lstm   256 ->  128" in text  # --verbose lists layers


def test_rtneural_format_keras_layout_and_lstm_gates(fx, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "emotionrecognizer_best.pt"
    code, text = fx.run_cli("export", "kelly", ckpt, "--format", "rtneural")
    assert code == 0, text
    path = trained_run / "exports" / "emotionrecognizer.json"
    assert f"exported {path}" in text
    doc = json.loads(path.read_text())
    model = load_model("kelly", ckpt).model
    assert (path.parent / doc["metadata"]["source_checkpoint"]).resolve() == ckpt.resolve()
    assert doc["in_shape"] == [None, None, 128]
    assert [(l["type"], l["activation"], l["shape"]) for l in doc["layers"]] == [
        ("dense", "tanh", [None, None, 512]), ("dense", "tanh", [None, None, 256]), ("lstm", "", [None, None, 128]),
        ("dense", "tanh", [None, None, 64])]
    kernel, bias = (np.array(w, dtype=np.float32) for w in doc["layers"][0]["weights"])
    assert kernel.shape == (128, 512)
    assert np.array_equal(kernel, model.layers[0].weight.detach().numpy().T)  # [in][out], exact float32
    assert np.array_equal(bias, model.layers[0].bias.detach().numpy())
    w, u, b = (np.array(x, dtype=np.float32) for x in doc["layers"][2]["weights"])
    lstm = model.layers[2]
    assert w.shape == (256, 512) and u.shape == (128, 512) and b.shape == (512,)
    assert np.array_equal(w, lstm.weight_ih_l0.detach().numpy().T)
    assert np.array_equal(u, lstm.weight_hh_l0.detach().numpy().T)
    assert np.allclose(b, (lstm.bias_ih_l0 + lstm.bias_hh_l0).detach().numpy(), atol=0)
    # Gate order i, f, c, o: the forget gate's input weights are columns 128..255 (PyTorch's rows 128..255).
    assert np.array_equal(w[:, 128:256], lstm.weight_ih_l0.detach().numpy()[128:256].T)
    meta = doc["metadata"]
    assert meta["model_name"] == "EmotionRecognizer" and meta["framework"] == "PyTorch"
    assert (meta["export_version"], meta["parameter_count"], meta["memory_bytes"], meta["input_size"],
            meta["output_size"]) == ("2.0", 403264, 4 * 403264, 128, 64)
    code, text = fx.run_cli("kelly", "validate", path, "--check-specs")
    assert code == 0, text  # finds the checkpoint by the weights' fingerprint


def test_onnx_export_verified_with_onnxruntime(fx, trained_run, tmp_path):
    out = tmp_path / "melody.onnx"
    code, text = fx.run_cli("export", "kelly", trained_run / "checkpoints" / "melodytransformer_best.pt",
                            "--format", "onnx", "--output", out)
    assert code == 0, text
    assert "onnxruntime vs PyTorch max abs difference" in text
    import onnxruntime as ort

    x = np.random.default_rng(0).uniform(-1, 1, size=(2, 64)).astype(np.float32)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    model = load_model("kelly", trained_run / "checkpoints" / "melodytransformer_best.pt").model
    with torch.no_grad():
        assert np.max(np.abs(got - model(torch.from_numpy(x)).numpy())) < 1e-5


def _broken(trained_run, tmp_path, stem, edit):
    folder = tmp_path / "models"
    folder.mkdir(exist_ok=True)
    doc = json.loads((trained_run / "models" / f"{stem}.json").read_text())
    edit(doc)
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(doc))
    # Keep the run's layout so the validator finds the checkpoint (../checkpoints).
    if not (tmp_path / "checkpoints").exists():
        shutil.copytree(trained_run / "checkpoints", tmp_path / "checkpoints")
    return path


def _set_nan(doc):
    doc["layers"][1]["weights"][0][3][5] = float("nan")


def _wrong_shape(doc):
    doc["layers"][0]["weights"][0] = [row[:-1] for row in doc["layers"][0]["weights"][0]]


def _perturb(doc):
    doc["layers"][0]["weights"][1][0] += 0.01


@pytest.mark.parametrize("stem,edit,expected", [
    ("groovepredictor", lambda d: d["layers"].pop(1), "layer 1 (dense) kernel: shape [64, 32], expected [128, 32] (input size of this layer)"),
    ("dynamicsengine", _set_nan, "layer 1 (dense) kernel: holds NaN or infinite values"),
    ("harmonypredictor", lambda d: d["layers"][2].update(activation="swish"),
     "layer 2 (dense): unknown activation 'swish'"),
    ("melodytransformer", _wrong_shape, "layer 0 (dense) kernel: shape [64, 255], expected [64, 256]"),
    ("dynamicsengine", _perturb, "numbers differ from PyTorch"),
    ("groovepredictor", lambda d: d["layers"][2].update(activation="sigmoid"),
     "layer 2: dense -> 32 activation 'sigmoid', spec says dense -> 32 activation 'tanh'"),
])
def test_validate_reports_the_file_and_layer_of_each_problem(fx, trained_run, tmp_path, stem, edit, expected):
    path = _broken(trained_run, tmp_path, stem, edit)
    good = trained_run / "models" / "emotionrecognizer.json"
    code, text = fx.run_cli("kelly", "validate", good, path, "--check-specs")
    assert code == 1, text
    assert f"FAIL {path}: " in text and expected in text
    assert f"OK   {good}" in text and "1 of 2 file(s) valid" in text


def test_validate_missing_layer_and_counts_against_spec(fx, trained_run, tmp_path):
    def drop_last(doc):
        doc["layers"].pop()
        doc["metadata"]["parameter_count"] -= 64 * 32 + 32
        doc["metadata"]["memory_bytes"] = 4 * doc["metadata"]["parameter_count"]

    path = _broken(trained_run, tmp_path, "groovepredictor", drop_last)
    code, text = fx.run_cli("kelly", "validate", path, "--check-specs", "--no-numeric")
    assert code == 1
    assert "2 layers, GroovePredictor has 3" in text and "16,576 parameters, GroovePredictor has exactly 18,656" in text


def test_validate_rejects_a_checkpoint_of_another_model(fx, trained_run):
    code, text = fx.run_cli("kelly", "validate", trained_run / "models" / "harmonypredictor.json", "--checkpoint",
                            trained_run / "checkpoints" / "groovepredictor_best.pt")
    assert code == 1
    assert "groovepredictor_best.pt holds GroovePredictor, not HarmonyPredictor" in text


def test_validate_not_json_and_missing_file(fx, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    code, text = fx.run_cli("kelly", "validate", bad, tmp_path / "missing.json")
    assert code == 1 and f"FAIL {bad}: not valid JSON" in text and "missing.json: no such file" in text
    assert "Traceback" not in text


def test_a_batch_with_bad_files_reports_and_counts_each_and_validates_the_rest(fx, trained_run, tmp_path):
    import os

    good = [trained_run / "models" / f"{stem}.json" for stem in ("groovepredictor", "dynamicsengine")]
    text = good[0].read_text()
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    deep_weights = tmp_path / "deep_weights.json"  # parses, but a kernel nests 600 levels deep
    doc = json.loads(text)
    doc["layers"][0]["weights"][0] = "KERNEL"
    deep_weights.write_text(json.dumps(doc).replace('"KERNEL"', "[" * 600 + "1" + "]" * 600))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    odd_name = tmp_path / os.fsdecode(b"odd-\xff-name.json")
    odd_name.write_text('{"layers": []}')
    folder = tmp_path / "folder.json"
    folder.mkdir()
    bad = [deep, deep_weights, truncated, odd_name, folder]
    code, out = fx.run_cli("kelly", "validate", good[0], *bad, good[1])
    assert code == 1, out
    assert "Traceback" not in out
    lines = out.strip().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["OK", *["FAIL"] * 5, "OK", "2", "error:"]
    reasons = {path: line.split(": ", 1)[1] for path, line in zip(bad, lines[1:6])}
    assert reasons[deep] == "not an RTNeural model (the JSON nests too deeply)"
    assert reasons[deep_weights] == "layer 0 (dense) kernel: not a rectangular 2-D array of numbers"
    assert reasons[truncated].startswith("not valid JSON (") and reasons[truncated].endswith("; truncated?)")
    assert reasons[odd_name] == "'in_shape' must be a list ending in the input size, e.g. [null, null, 128]"
    assert reasons[folder] == "a folder, not a JSON file"
    assert lines[-2:] == ["2 of 7 file(s) valid", "error: 5 of 7 file(s) failed validation"]


def test_numpy_runner_keeps_lstm_state_like_pytorch_sequences(trained_run):
    from mlrun_music_kelly.rtneural.runner import JsonModel

    runner = JsonModel.load(trained_run / "models" / "melodytransformer.json")
    model = load_model("kelly", trained_run / "checkpoints" / "melodytransformer_best.pt").model
    seq = np.random.default_rng(1).uniform(-1, 1, size=(1, 5, 64)).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(seq)).numpy()[0]
    got = runner.run_sequence(seq[0])
    assert np.max(np.abs(got - expected)) < 1e-5
    runner.reset()
    assert np.max(np.abs(runner.forward(seq[0, 3]) - expected[3])) > 1e-4  # without the earlier frames it differs
