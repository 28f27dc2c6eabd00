"""The generic trainer through the CLI, on the toy task: outputs, checkpoints, early stopping, bad input."""

from __future__ import annotations

import csv
import json
import math
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch


def run_dir(tmp_path: Path, tag: str = "default") -> Path:
    return tmp_path / "runs" / "toy" / tag


def test_train_writes_a_complete_run_folder(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "3", "--keep-best", "2", "--checkpoint-every", "2")
    assert r.code == 0, r.text
    d = run_dir(tmp_path)
    history = json.loads((d / "history.json").read_text())
    assert [row["epoch"] for row in history] == [1, 2, 3]
    for row in history:
        for key in ("train_loss", "val_loss", "train_mae", "val_mae", "lr", "time_s"):
            assert isinstance(row[key], float), key
    assert history[-1]["train_loss"] < history[0]["train_loss"]  # it learns
    rows = list(csv.DictReader((d / "history.csv").open()))
    assert [float(r["val_loss"]) for r in rows] == pytest.approx([h["val_loss"] for h in history])
    assert (d / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    config = json.loads((d / "config.json").read_text())
    assert config["config"]["epochs"] == 3 and "torch" in config["versions"]
    assert "epoch 3/3" in (d / "train.log").read_text()
    ckpts = sorted(p.name for p in (d / "checkpoints").iterdir())
    assert ckpts == ["best.pt", "epoch_2.pt", "final.pt", "latest.pt"]
    state = torch.load(d / "checkpoints" / "latest.pt", weights_only=True)
    for key in ("model", "optimizer", "scheduler", "scaler", "trainer", "early_stopping", "rng", "config",
                "task", "plugin", "plugin_version", "model_name"):
        assert key in state, key
    assert state["task"] == "toy" and state["plugin"] == "mlrun-music-toy"
    assert set(state["rng"]) >= {"python", "numpy", "torch"}


def test_best_k_templates_and_pruning(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "6", "--keep-best", "3", "--learning-rate", "0.01",
              "--best-name", "best_epoch_{epoch}_loss_{metric:.4f}.pt")
    assert r.code == 0, r.text
    d = run_dir(tmp_path)
    best = sorted((d / "checkpoints").glob("best_epoch_*"))
    assert len(best) == 3
    history = json.loads((d / "history.json").read_text())
    top3 = sorted(history, key=lambda h: h["val_loss"])[:3]
    expected = {f"best_epoch_{h['epoch']}_loss_{h['val_loss']:.4f}.pt" for h in top3}
    assert {p.name for p in best} == expected


def test_early_stopping_stops_and_records_it(mlrun, tmp_path):
    # A learning rate of 0 never improves: patience 2 stops after epoch 3.
    r = mlrun("train", "toy", "--epochs", "20", "--learning-rate", "0", "--early-stopping-patience", "2")
    assert r.code == 0, r.text
    history = json.loads((run_dir(tmp_path) / "history.json").read_text())
    assert len(history) == 3
    assert "early stopping" in r.err
    summary = json.loads((run_dir(tmp_path) / "summary.json").read_text())
    assert summary["stopped_early"] is True


@pytest.mark.parametrize("schedule,expected", [
    ("exponential", [1e-2, 5e-3, 2.5e-3]),
    ("step", [1e-2, 1e-2, 5e-3]),
])
def test_lr_schedules(mlrun, tmp_path, schedule, expected):
    r = mlrun("train", "toy", "--epochs", "3", "--learning-rate", "0.01", "--lr-scheduler", schedule,
              "--lr-decay", "0.5", "--lr-step-size", "2")
    assert r.code == 0, r.text
    history = json.loads((run_dir(tmp_path) / "history.json").read_text())
    assert [h["lr"] for h in history] == pytest.approx(expected)


def test_cosine_and_plateau_and_adamw_accumulation_clipping(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "3", "--lr-scheduler", "cosine", "--optimizer", "adamw",
              "--weight-decay", "0.01", "--grad-accum-steps", "2", "--grad-clip", "0.5", "--tag", "a")
    assert r.code == 0, r.text
    lrs = [h["lr"] for h in json.loads((run_dir(tmp_path, "a") / "history.json").read_text())]
    assert lrs[0] > lrs[1] > lrs[2] > 0
    r = mlrun("train", "toy", "--epochs", "3", "--lr-scheduler", "reduce_on_plateau", "--learning-rate", "0",
              "--lr-plateau-patience", "0", "--tag", "b")
    assert r.code == 0, r.text


def test_nan_loss_stops_with_one_line_and_keeps_last_good_checkpoint(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "5", "--nan-at-step", "40", "--samples", "256", "--batch-size", "16")
    assert r.code == 3
    lines = r.err.strip().splitlines()
    assert lines[-1].startswith("error: non-finite loss (nan) at epoch 4, step 2")  # 13 steps per epoch
    latest = run_dir(tmp_path) / "checkpoints" / "latest.pt"
    state = torch.load(latest, weights_only=True)
    assert state["trainer"]["epoch"] == 3  # the end of the last good epoch
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_unwritable_output_folder(mlrun, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = mlrun("train", "toy", "--output-dir", str(blocker))
    assert r.code != 0
    assert r.err.strip().startswith("error: cannot write to output folder")
    assert "Traceback" not in r.err


def test_malicious_pickle_is_refused_and_does_not_run(mlrun, tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as fh:
        pickle.dump({"format": "mlrun-music-checkpoint/1", "model": Evil()}, fh)
    for args in (("evaluate", "toy", evil), ("export", "toy", evil), ("train", "toy", "--resume", evil)):
        r = mlrun(*args)
        assert r.code != 0
        assert "refusing to load" in r.err and str(evil) in r.err
        assert len(r.err.strip().splitlines()) == 1
    assert not marker.exists()


def test_truncated_wrong_task_and_mismatched_checkpoints(mlrun, tmp_path):
    assert mlrun("train", "toy", "--epochs", "1").code == 0
    good = run_dir(tmp_path) / "checkpoints" / "final.pt"
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:500])
    r = mlrun("evaluate", "toy", truncated)
    assert r.code != 0 and "corrupt or truncated" in r.err and str(truncated) in r.err
    audio = tmp_path / "song.wav"  # not a checkpoint at all: the unpickler fails on its own terms
    sf.write(str(audio), np.zeros(4410, np.float32), 44100)
    r = mlrun("evaluate", "toy", audio)
    assert r.code != 0 and "song.wav is not a checkpoint (neither a torch zip archive nor a pickle)" in r.err
    assert len(r.err.strip().splitlines()) == 1

    state = torch.load(good, weights_only=True)
    state["task"] = "phase"
    other = tmp_path / "other.pt"
    torch.save(state, other)
    r = mlrun("evaluate", "toy", other)
    assert r.code != 0 and "belongs to task 'phase', not 'toy'" in r.err

    state["task"] = "toy"
    state["config"]["hidden"] = 32  # the weights are for 16 hidden units
    mismatched = tmp_path / "mismatched.pt"
    torch.save(state, mismatched)
    r = mlrun("evaluate", "toy", mismatched)
    assert r.code != 0 and "does not match the model" in r.err and "size mismatch" in r.err

    r = mlrun("train", "toy", "--epochs", "2", "--hidden", "8")  # resuming with another config
    assert r.code != 0 and "the config differs (hidden: 16 -> 8)" in r.err


def test_evaluate_and_export_onnx(mlrun, tmp_path):
    assert mlrun("train", "toy", "--epochs", "4", "--learning-rate", "0.01").code == 0
    best = run_dir(tmp_path) / "checkpoints" / "best.pt"
    r = mlrun("evaluate", "toy", best)
    assert r.code == 0, r.text
    metrics = json.loads((run_dir(tmp_path) / "evaluation" / "metrics.json").read_text())
    assert metrics["metrics"]["mse"] < metrics["metrics"]["baseline_zero_mse"]
    r = mlrun("export", "toy", best, "--format", "onnx", "--output", tmp_path / "toy.onnx")
    assert r.code == 0, r.text
    assert "max abs difference" in r.out
    check = json.loads((tmp_path / "toy.onnx.check.json").read_text())
    assert check["max_abs_diff"] < 1e-5 and check["opset"] == 17
    assert check["inputs"]["x"][0] == "batch"  # dynamic batch axis
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "toy.onnx"))
    x = np.random.default_rng(0).normal(size=(7, 8)).astype(np.float32)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    model.load_state_dict(torch.load(best, weights_only=True)["model"])
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], model(torch.tensor(x)).detach().numpy(), atol=1e-5)
    r = mlrun("export", "toy", best, "--format", "tflite")
    assert r.code != 0 and "cannot export 'tflite'; formats: checkpoint, onnx" in r.err
    # A model-only checkpoint: the same weights and config, no optimizer or RNG state, and it evaluates alike.
    r = mlrun("export", "toy", best, "--format", "checkpoint", "--output", tmp_path / "slim.pt")
    assert r.code == 0 and f"exported {tmp_path / 'slim.pt'}" in r.out, r.text
    full, slim = torch.load(best, weights_only=True), torch.load(tmp_path / "slim.pt", weights_only=True)
    assert "optimizer" in full and not {"optimizer", "scheduler", "rng", "trainer", "run_dir"} & set(slim)
    assert slim["config"] == full["config"]
    assert all(torch.equal(full["model"][k], slim["model"][k]) for k in full["model"])
    assert (tmp_path / "slim.pt").stat().st_size < best.stat().st_size
    r = mlrun("evaluate", "toy", tmp_path / "slim.pt", "--output", tmp_path / "slim_eval")
    assert r.code == 0, r.text
    assert json.loads((tmp_path / "slim_eval" / "metrics.json").read_text())["metrics"] == metrics["metrics"]
    r = mlrun("export", "toy", tmp_path / "slim.pt", "--format", "checkpoint", "--output", tmp_path / "slim.pt")
    assert r.code != 0 and f"--output {tmp_path / 'slim.pt'} is the input" in r.err


def test_train_onnx_flag_exports_at_the_end(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "1", "--onnx")
    assert r.code == 0, r.text
    assert (run_dir(tmp_path) / "exports" / "mlp.onnx").is_file()
    assert json.loads((run_dir(tmp_path) / "exports" / "mlp.onnx.check.json").read_text())["max_abs_diff"] < 1e-4


def test_tensorboard_events(mlrun, tmp_path):
    pytest.importorskip("tensorboard")
    assert mlrun("train", "toy", "--epochs", "2", "--tensorboard").code == 0
    assert list((run_dir(tmp_path) / "tensorboard").rglob("events.out.tfevents.*"))


def test_seeded_runs_are_deterministic(mlrun, tmp_path):
    for tag in ("a", "b"):
        assert mlrun("train", "toy", "--epochs", "2", "--tag", tag, "--augment", "0.1").code == 0
    a = torch.load(run_dir(tmp_path, "a") / "checkpoints" / "final.pt", weights_only=True)["model"]
    b = torch.load(run_dir(tmp_path, "b") / "checkpoints" / "final.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert mlrun("train", "toy", "--epochs", "2", "--tag", "c", "--augment", "0.1", "--seed", "1").code == 0
    c = torch.load(run_dir(tmp_path, "c") / "checkpoints" / "final.pt", weights_only=True)["model"]
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_plain_progress_lines_when_not_a_terminal(mlrun, tmp_path, monkeypatch):
    import importlib

    fit_module = importlib.import_module("mlrun_music.training.fit")  # the module, not the re-exported function

    monkeypatch.setattr(fit_module, "PLAIN_PROGRESS_SECONDS", 0.0)
    r = mlrun("train", "toy", "--epochs", "1", "--samples", "80", "--batch-size", "16", "--val-fraction", "0.2")
    assert r.code == 0, r.text
    assert "epoch 1/1  step 4/4  loss" in r.err and "steps/s" in r.err
    log = (run_dir(tmp_path) / "train.log").read_text()
    assert "step 1/4" in log
    r = mlrun("evaluate", "toy", run_dir(tmp_path) / "checkpoints" / "final.pt", "--output", tmp_path / "ev")
    assert f"metrics written to {tmp_path / 'ev' / 'metrics.json'}" in r.out


def test_cosine_schedule_stretches_when_resumed_with_more_epochs(mlrun, tmp_path):
    args = ("train", "toy", "--lr-scheduler", "cosine", "--learning-rate", "0.01")
    assert mlrun(*args, "--epochs", "2").code == 0
    r = mlrun(*args, "--epochs", "4")
    assert r.code == 0 and "resuming from" in r.err
    lrs = [h["lr"] for h in json.loads((run_dir(tmp_path) / "history.json").read_text())]
    # epochs 3 and 4 follow the cosine that ends at epoch 4 (instead of sitting at the old end's 0)
    assert lrs == pytest.approx([0.01, 0.005, 0.005, 0.01 * (1 + math.cos(3 * math.pi / 4)) / 2])


def test_positional_model_threads_and_evaluate_context(mlrun, tmp_path):
    r = mlrun("train", "toy", "linear", "--epochs", "1", "--num-threads", "1")
    assert r.code == 0, r.text
    state = torch.load(run_dir(tmp_path) / "checkpoints" / "final.pt", weights_only=True)
    assert state["model_name"] == "linear" and state["config"]["num_threads"] == 1
    assert state["run_dir"] == str(run_dir(tmp_path).resolve())
    r = mlrun("train", "toy", "linear", "--model", "mlp", "--tag", "x")
    assert r.code == 2 and "model given twice: 'linear' and --model 'mlp'" in r.err
    r = mlrun("evaluate", "toy", run_dir(tmp_path) / "checkpoints" / "final.pt")
    assert r.code == 0 and "  mse: " in r.out


def test_init_from_starts_a_fresh_run_from_weights(mlrun, tmp_path):
    assert mlrun("train", "toy", "--epochs", "2", "--tag", "a").code == 0
    source = run_dir(tmp_path, "a") / "checkpoints" / "final.pt"
    r = mlrun("train", "toy", "--epochs", "1", "--tag", "b", "--init-from", source, "--learning-rate", "0")
    assert r.code == 0 and f"model weights from {source}" in r.err
    a = torch.load(source, weights_only=True)["model"]
    b = torch.load(run_dir(tmp_path, "b") / "checkpoints" / "final.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)  # learning rate 0: the weights are exactly the source's
    r = mlrun("train", "toy", "--tag", "c", "--init-from", source, "--hidden", "4")
    assert r.code == 2 and r.err.startswith(f"error: --init-from {source}: its weights do not fit this model")


def test_resume_a_checkpoint_that_predates_a_config_field(mlrun, tmp_path):
    assert mlrun("train", "toy", "--epochs", "1").code == 0
    latest = run_dir(tmp_path) / "checkpoints" / "latest.pt"
    state = torch.load(latest, weights_only=True)
    del state["config"]["init_from"]  # as written before the field existed
    torch.save(state, latest)
    r = mlrun("train", "toy", "--epochs", "2")
    assert r.code == 0 and "resuming from" in r.err, r.text


def test_max_minutes_stops_at_an_epoch_end_and_counts_resumed_epochs(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "6", "--max-minutes", "0.000001", "--no-plots")
    assert r.code == 0, r.text
    history = json.loads((tmp_path / "runs" / "toy" / "default" / "history.json").read_text())
    rows = history["epochs"] if isinstance(history, dict) else history
    assert len(rows) == 1 and "reached --max-minutes" in r.text
    # Resuming with a larger budget goes on from there; the first epoch's time counts toward it.
    r = mlrun("train", "toy", "--epochs", "6", "--max-minutes", "1000", "--no-plots")
    assert r.code == 0, r.text
    history = json.loads((tmp_path / "runs" / "toy" / "default" / "history.json").read_text())
    assert len(history["epochs"] if isinstance(history, dict) else history) == 6
