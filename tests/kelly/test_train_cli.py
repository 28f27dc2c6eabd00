"""Training through the CLI: the options and aliases of train.py of the original project, its config.json shape,
its output tree, the core's runs folder, and the options a run does not use."""

from __future__ import annotations

import json

import pytest

from mlrun_music.training.checkpoint import load_checkpoint


def test_output_tree_and_option_aliases_of_the_original(fx, tmp_path):
    code, text = fx.run_cli("train", "kelly", "-o", tmp_path / "models", "--model", "groovepredictor",
                            "-e", "2", "-b", "16", "-d", "cpu", "-lr", "0.002", "--validation-split", "0.25",
                            "--early-stopping-patience", "3", "--use-synthetic", "--synthetic-samples", "64",
                            "--no-onnx")
    assert code == 0, text
    run = tmp_path / "models" / "kelly" / "default"
    for rel in ("models/groovepredictor.json", "checkpoints/groovepredictor_best.pt",
                "checkpoints/groovepredictor_latest.pt", "history/groovepredictor_history.json",
                "plots/groovepredictor_loss.png", "data/groovepredictor_report.json"):
        assert (run / rel).is_file(), rel
    assert not (run / "checkpoints" / "emotionrecognizer_best.pt").exists()  # --model trains only that one
    config = load_checkpoint(run / "checkpoints" / "groovepredictor_latest.pt")["config"]
    assert (config["epochs"], config["batch_size"], config["learning_rate"], config["val_fraction"],
            config["early_stopping_patience"], config["device"]) == (2, 16, 0.002, 0.25, 3, "cpu")
    history = json.loads((run / "history" / "groovepredictor_history.json").read_text())
    assert len(history) == 2 and history[-1]["val_loss"] < history[0]["train_loss"]
    assert "GroovePredictor: training on synthetic data (requested)" in text


def test_defaults_follow_the_reference():
    from mlrun_music_kelly.config import KellyConfig

    c = KellyConfig()
    assert (c.optimizer, c.learning_rate, c.epochs, c.batch_size, c.val_fraction, c.seed,
            c.early_stopping_patience, c.min_delta) == ("adam", 1e-3, 50, 64, 0.2, 42, 10, 0.001)


def test_no_history_and_unknown_model(fx, tmp_path):
    code, text = fx.run_cli("train", "kelly", "--output", tmp_path, "--model", "DynamicsEngine", "--epochs", "1",
                            "--use-synthetic", "--synthetic-samples", "32", "--no-history", "--no-plots",
                            "--no-onnx")
    assert code == 0, text
    run = tmp_path / "kelly" / "default"
    assert not (run / "history").exists() and not (run / "plots").exists()
    code, text = fx.run_cli("train", "kelly", "--output", tmp_path, "--model", "Bassline")
    assert code == 2 and "--model: unknown model 'Bassline'" in text


def test_original_json_config_with_per_model_settings_and_flag_precedence(fx, tmp_path):
    cfg = {
        "training": {"default_epochs": 2, "default_batch_size": 16, "default_learning_rate": 0.001,
                     "default_validation_split": 0.25,
                     "early_stopping": {"patience": 4, "min_delta": 0.002, "mode": "min"},
                     "checkpointing": {"save_best": True, "save_latest": True, "save_interval": 1}},
        "models": {
            "DynamicsEngine": {"input_size": 32, "output_size": 16, "estimated_params": 13520, "loss": "mse",
                               "learning_rate": 0.005, "epochs": 3, "dataset": "synthetic"},
            "GroovePredictor": {"input_size": 64, "output_size": 32, "estimated_params": 18656, "loss": "mse",
                                "learning_rate": 0.004, "dataset": "groove"},
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    # The file's dataset tables become options, checked like flags: a DEAM folder is unused by GroovePredictor.
    deam = tmp_path / "deam.json"
    deam.write_text(json.dumps({**cfg, "datasets": {"deam": {"path": str(tmp_path / "nowhere" / "deam"),
                                                             "annotations_file": "labels.csv"}}}))
    code, text = fx.run_cli("train", "kelly", "--config", deam, "--model", "GroovePredictor", "--output",
                            tmp_path / "o")
    assert code == 2 and "--deam-annotations-file is used only by the model EmotionRecognizer; this run trains " \
        "GroovePredictor" in text
    assert not (tmp_path / "o").exists()
    common = ("--output", tmp_path / "o", "--synthetic-samples", "48", "--no-onnx", "--no-plots")
    code, text = fx.run_cli("train", "kelly", "--config", path, "--model", "DynamicsEngine", *common)
    assert code == 0, text
    ck = tmp_path / "o" / "kelly" / "default" / "checkpoints"
    c = load_checkpoint(ck / "dynamicsengine_latest.pt")["config"]
    assert (c["epochs"], c["learning_rate"], c["batch_size"], c["val_fraction"], c["early_stopping_patience"],
            c["min_delta"], c["checkpoint_every"]) == (3, 0.005, 16, 0.25, 4, 0.002, 1)
    assert (ck / "dynamicsengine_epoch_1.pt").is_file()
    # A flag wins over both the file's default and the per-model setting.
    code, text = fx.run_cli("train", "kelly", "--config", path, "--model", "GroovePredictor", "--learning-rate",
                            "0.0007", "--epochs", "1", "--tag", "flags", *common)
    assert code == 0, text
    c = load_checkpoint(tmp_path / "o" / "kelly" / "flags" / "checkpoints" / "groovepredictor_latest.pt")["config"]
    assert (c["learning_rate"], c["epochs"]) == (0.0007, 1)
    assert "GroovePredictor: no --datasets-dir given; falling back to synthetic data" in text
    # A flag equal to the file's default still wins over the per-model setting (the core records given flags).
    code, text = fx.run_cli("train", "kelly", "--config", path, "--model", "GroovePredictor", "--learning-rate",
                            "0.001", "--epochs", "1", "--tag", "same", *common)
    assert code == 0, text
    c = load_checkpoint(tmp_path / "o" / "kelly" / "same" / "checkpoints" / "groovepredictor_latest.pt")["config"]
    assert c["learning_rate"] == 0.001


def test_config_file_that_contradicts_the_spec_names_the_key(fx, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"models": {"MelodyTransformer": {"input_size": 64, "estimated_params": 600000}}}))
    code, text = fx.run_cli("train", "kelly", "--config", path, "--output", tmp_path)
    assert code == 2
    assert "models.MelodyTransformer.estimated_params is 600000 but MelodyTransformer has 641664" in text


def test_options_of_one_model_on_the_command_line(fx, tmp_path):
    common = ("--output", tmp_path, "--use-synthetic", "--synthetic-samples", "48", "--no-onnx", "--no-rtneural",
              "--no-plots", "--epochs", "1")
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--model.GroovePredictor.epochs", "2",
                            "--model.GroovePredictor.learning-rate", "0.003", *common)
    assert code == 0, text
    c = load_checkpoint(tmp_path / "kelly" / "default" / "checkpoints" / "groovepredictor_latest.pt")["config"]
    assert (c["epochs"], c["learning_rate"], c["per_model"]) == (2, 0.003, {})
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--model.DynamicsEngine.epochs", "2",
                            "--tag", "other", *common)
    assert code == 2 and "--model.DynamicsEngine.epochs is unused: this run trains GroovePredictor" in text
    # The deprecated JSON form still works, with a warning.
    code, text = fx.run_cli("train", "kelly", "--model", "GroovePredictor", "--model-settings",
                            '{"groovepredictor": {"epochs": 2}}', "--tag", "json", *common)
    assert code == 0 and "--model-settings is deprecated" in text, text
    c = load_checkpoint(tmp_path / "kelly" / "json" / "checkpoints" / "groovepredictor_latest.pt")["config"]
    assert c["epochs"] == 2


def test_runs_land_in_the_core_runs_folder_by_default(fx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, text = fx.run_cli("train", "kelly", "--model", "DynamicsEngine", "--epochs", "1", "--use-synthetic",
                            "--synthetic-samples", "32", "--no-onnx", "--no-plots", "--tag", "here")
    assert code == 0, text
    assert (tmp_path / "runs" / "kelly" / "here" / "checkpoints" / "dynamicsengine_best.pt").is_file()
    assert (tmp_path / "runs" / "kelly" / "here" / "models" / "dynamicsengine.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


@pytest.mark.parametrize("args, message", [
    (["--model", "GroovePredictor", "--deam-path", "X"],
     "--deam-path is used only by the model EmotionRecognizer; this run trains GroovePredictor"),
    (["--model", "DynamicsEngine", "--corpus-pieces", "20"],
     "--corpus-pieces is used only by the model EmotionRecognizer or MelodyTransformer or HarmonyPredictor; "
     "this run trains DynamicsEngine"),
    (["--model", "HarmonyPredictor", "--audio-seconds", "10"],
     "--audio-seconds is used only by the model EmotionRecognizer; this run trains HarmonyPredictor"),
    (["--model", "HarmonyPredictor", "--max-files", "3"],
     "--max-files is used only by the model EmotionRecognizer or MelodyTransformer or DynamicsEngine or "
     "GroovePredictor; this run trains HarmonyPredictor"),
    (["--lakh-path", "X", "--use-synthetic"], "--lakh-path is unused when --use-synthetic is given"),
    (["--model", "MelodyTransformer", "--lakh-path", "X", "--dataset", "corpus"],
     "--lakh-path is unused when --dataset is given"),
    (["--model", "GroovePredictor", "--model.GroovePredictor.chords-path", "X"],
     "--model.GroovePredictor.chords-path is unused: --chords-path is an option of HarmonyPredictor only"),
])
def test_an_option_the_run_does_not_use_is_refused(fx, tmp_path, args, message):
    out = tmp_path / "out"
    code, text = fx.run_cli("train", "kelly", "--output", out, "--epochs", "1", "--synthetic-samples", "32", *args)
    assert code == 2
    assert text.strip() == f"error: {message}", text
    assert not out.exists()


def test_an_option_of_the_model_trained_is_used(fx, tmp_path, monkeypatch):
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(tmp_path / "cache"))  # no prepared corpus: synthetic fallback
    code, text = fx.run_cli("train", "kelly", "--output", tmp_path / "out", "--model", "GroovePredictor",
                            "--groove-path", tmp_path / "nowhere", "--epochs", "1", "--synthetic-samples", "32",
                            "--no-onnx", "--no-plots", "--no-rtneural")
    assert code == 0, text
    assert f"GroovePredictor: no groove dataset at {tmp_path / 'nowhere'}; falling back to synthetic data" in text
