"""Errors that say what is wrong and what to do: did-you-mean, what a file is, long values cut, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from tests.conftest import run_mlrun_subprocess


def test_typos_get_the_closest_name(mlrun):
    r = mlrun("train", "toi")
    assert r.code != 0 and r.err.startswith("error: unknown task 'toi' (did you mean 'toy'?); installed tasks:")
    r = mlrun("train", "toy", "--model", "mpl", "--epochs", "1")
    assert r.code != 0 and "unknown model 'mpl' for task 'toy' (did you mean 'mlp'?); available: mlp, linear" in r.err
    r = mlrun("train", "toy", "--dataset", "synthtic", "--epochs", "1")
    assert r.code != 0 and "unknown dataset 'synthtic' for task 'toy' (did you mean 'synthetic'?)" in r.err


def test_files_that_are_not_checkpoints_are_called_what_they_are(mlrun, tmp_path):
    (tmp_path / "folder").mkdir()
    r = mlrun("evaluate", "toy", "folder")
    assert r.code != 0 and r.err.strip() == "error: checkpoint folder is a folder, not a checkpoint file"
    mid = mido.MidiFile()
    mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=60, velocity=80)]))
    mid.save(str(tmp_path / "song.mid"))
    (tmp_path / "notes.txt").write_text("hello")
    for name in ("song.mid", "notes.txt"):
        r = mlrun("export", "toy", name, "--format", "onnx")
        assert r.code != 0
        assert r.err.strip() == f"error: {name} is not a checkpoint (neither a torch zip archive nor a pickle)"
        assert "malicious" not in r.err and "run code" not in r.err


def test_a_huge_value_gives_a_short_error_line(mlrun):
    r = mlrun("train", "toy", "--optimizer", "x" * 100_000)
    assert r.code != 0 and r.err.count("\n") == 1 and len(r.err) < 1100 and "characters ...]" in r.err


def test_sigterm_stops_training_with_143_and_the_resume_command(tmp_path):
    exe = Path(sys.executable).with_name("mlrun")
    args = ["train", "toy", "--epochs", "400", "--samples", "4000", "--tag", "t", "--output-dir", str(tmp_path)]
    proc = subprocess.Popen([str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen = []
    for line in proc.stdout:  # type: ignore[union-attr]
        seen.append(line)
        if line.startswith("epoch 2/"):
            break
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 143, "".join(seen[-3:]) + out[-500:]
    assert out.strip().splitlines()[-1] == ("error: interrupted; to resume, run the same command again: mlrun "
                                            + " ".join(args))
    again = run_mlrun_subprocess(*args[:2], "--epochs", "3", *args[4:])
    assert again.code == 0 and "resum" in again.text.lower()


def test_bad_checkpoints_and_names_are_called_what_they_are(mlrun, tmp_path):
    import torch

    assert mlrun("train", "toy", "--epochs", "1", "--tag", "t").code == 0
    good = tmp_path / "runs/toy/t/checkpoints/final.pt"
    state = torch.load(good, weights_only=True)
    state["model"] = {k: v * float("nan") for k, v in state["model"].items()}
    torch.save(state, tmp_path / "nan.pt")
    r = mlrun("evaluate", "toy", "nan.pt", "--output", "ev")
    assert r.code != 0 and "checkpoint nan.pt has non-finite weights (NaN or infinity) in 0.weight" in r.err
    assert not (tmp_path / "ev").exists()
    state.pop("model")
    torch.save(state, tmp_path / "empty.pt")
    r = mlrun("export", "toy", "empty.pt", "--format", "checkpoint", "--output", "x.pt")
    assert r.code != 0 and r.err.strip() == "error: checkpoint empty.pt holds no model weights"
    r = mlrun("evaluate", "toy", str(good), "--split", "bogus")
    assert r.code == 2 and "'bogus' is not one of 'train', 'val', 'test'" in r.err


@pytest.mark.parametrize("args,message", [
    (["--best-name", "../x.pt"], "'--best-name' must be one file name"),
    (["--final-name", "{epoch.__class__}.pt"], "'--final-name' may use only {epoch}, {metric} and {model}"),
    (["--periodic-name", "e{0}.pt"], "may use only {epoch}, {metric} and {model}, not '{0}'"),
    (["--latest-name", ""], "'--latest-name' must be a file name"),
    (["--best-name", "b{metric:q}.pt"], "'--best-name' is not a valid template"),
    (["--seed", "-5"], "'--seed' must be int in [0, 4294967295], got -5"),
])
def test_checkpoint_names_and_seed_are_checked(mlrun, tmp_path, args, message):
    r = mlrun("train", "toy", "--epochs", "1", *args)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    assert not (tmp_path / "runs").exists()


def test_a_config_nested_too_deeply_is_one_line(mlrun, tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    r = mlrun("train", "toy", "--config", "deep.json")
    assert r.code == 2 and r.err.count("\n") == 1 and ("nests too deeply" in r.err or "not valid JSON" in r.err)
