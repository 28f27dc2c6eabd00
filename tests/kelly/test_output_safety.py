"""Kelly outputs: `pipeline -o` never overwrites its inputs; an RTNeural export of non-finite weights writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from mlrun_music.config import to_dict
from mlrun_music.training.checkpoint import save_checkpoint
from mlrun_music_kelly.config import KellyConfig
from mlrun_music_kelly.rtneural.export import write_rtneural
from mlrun_music_kelly.models.networks import build
from mlrun_music_kelly.models.specs import MODELS

from .conftest import run_cli


def checkpoint_of(name: str, path: Path, nan: bool = False) -> Path:
    """An untrained kelly model saved as a checkpoint that `mlrun export kelly` loads; ``nan`` spoils one weight."""
    torch.manual_seed(0)
    model = build(name)
    state = model.state_dict()
    if nan:
        key = next(k for k in state if k.endswith("weight"))
        state[key].view(-1)[7] = float("nan")
    return save_checkpoint(path, {"task": "kelly", "plugin": "mlrun-music-kelly", "model_name": name,
                                  "model_info": {}, "config": to_dict(KellyConfig()), "model": state})


@pytest.fixture
def models_dir(tmp_path) -> Path:
    """The five untrained models as RTNeural JSON, as `mlrun kelly pipeline --models` reads them."""
    folder = tmp_path / "models"
    for spec in MODELS:
        torch.manual_seed(0)
        write_rtneural(build(spec.name), folder / f"{spec.file_stem}.json")
    return folder


def _error_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_pipeline_output_that_is_the_features_file_is_refused(models_dir, tmp_path):
    features = tmp_path / "F.json"
    features.write_text(json.dumps({"features": np.linspace(-1, 1, 128).tolist()}))
    before = features.read_bytes()
    for out in (features, tmp_path / "models" / ".." / "F.json"):
        code, text = run_cli("kelly", "pipeline", features, "--models", models_dir, "-o", out)
        assert code != 0
        assert _error_line(text) == f"error: --output {out} is the input {features}; name another file"
        assert features.read_bytes() == before


def test_pipeline_output_inside_the_models_folder_is_refused(models_dir, tmp_path):
    features = tmp_path / "F.npy"
    np.save(features, np.zeros(128, dtype=np.float32))
    models = {p: p.read_bytes() for p in models_dir.iterdir()}
    out = models_dir / "emotionrecognizer.json"
    assert out in models
    code, text = run_cli("kelly", "pipeline", features, "--models", models_dir, "-o", out)
    assert code != 0
    assert _error_line(text) == (f"error: --output {out} lies inside the input folder {models_dir}; "
                                 "name a file elsewhere")
    assert {p: p.read_bytes() for p in models_dir.iterdir()} == models


def test_pipeline_output_elsewhere_is_written(models_dir, tmp_path):
    features = tmp_path / "F.json"
    features.write_text(json.dumps(np.linspace(-1, 1, 128).tolist()))
    code, text = run_cli("kelly", "pipeline", features, "--models", models_dir, "-o", tmp_path / "out.json")
    assert code == 0, text
    assert json.loads((tmp_path / "out.json").read_text())["runner"] == "numpy"


@pytest.mark.parametrize("given_output", [True, False])
def test_rtneural_export_of_nan_weights_writes_nothing(tmp_path, given_output):
    ckpt = checkpoint_of("DynamicsEngine", tmp_path / "run" / "checkpoints" / "nan.pt", nan=True)
    out = tmp_path / "out" / "dyn.json"
    args = ["--output", out] if given_output else []
    code, text = run_cli("export", "kelly", ckpt, "--format", "rtneural", *args)
    assert code != 0
    line = _error_line(text)
    assert line.startswith(f"error: checkpoint {ckpt} has non-finite weights (NaN or infinity) in "), line
    assert "layers.0.weight" in line  # the core refuses the checkpoint when it loads, naming the tensor
    assert not out.exists()
    assert not (tmp_path / "run" / "exports").exists() or not any((tmp_path / "run" / "exports").iterdir())
    assert [p.name for p in (tmp_path / "run" / "checkpoints").iterdir()] == ["nan.pt"]


def test_rtneural_export_of_nan_weights_keeps_an_earlier_export(tmp_path):
    good = checkpoint_of("DynamicsEngine", tmp_path / "good.pt")
    bad = checkpoint_of("DynamicsEngine", tmp_path / "bad.pt", nan=True)
    out = tmp_path / "dyn.json"
    code, text = run_cli("export", "kelly", good, "--format", "rtneural", "--output", out)
    assert code == 0, text
    before = out.read_bytes()
    assert b"nan" not in before.lower()
    code, text = run_cli("export", "kelly", bad, "--format", "rtneural", "--output", out)
    assert code != 0 and "non-finite weights" in text
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.pt", "dyn.json", "good.pt"]


@pytest.mark.parametrize("flag, value", [("--tag", "../up"), ("--checkpoint-dir", "../../ck"),
                                         ("--run-layout", "{task}/{0}")])
def test_kelly_training_refuses_run_names_that_leave_the_output_folder(tmp_path, flag, value):
    code, text = run_cli("train", "kelly", "--output", tmp_path / "runs", "--epochs", "1", "--use-synthetic",
                         "--synthetic-samples", "16", "--no-onnx", "--no-plots", flag, value)
    assert code == 2
    assert _error_line(text).startswith(f"error: '{flag}' "), text
    assert not any(tmp_path.iterdir())


def test_rtneural_export_to_an_output_it_does_not_write_is_refused(tmp_path):
    ckpt = checkpoint_of("EmotionRecognizer", tmp_path / "run" / "checkpoints" / "er.pt")
    victim = tmp_path / "victim.txt"
    code, text = run_cli("export", "kelly", ckpt, "--format", "rtneural", "--output", victim)
    assert code != 0
    assert _error_line(text) == (f"error: --output {victim}: the rtneural format writes one JSON file; name a .json "
                                 f"file (e.g. {tmp_path / 'emotionrecognizer.json'}) or leave --output out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert not (tmp_path / "run" / "exports").exists()
    # Without --output the JSON gets the lower-case model name in the run's exports folder.
    code, text = run_cli("export", "kelly", ckpt, "--format", "rtneural")
    assert code == 0, text
    assert [p.name for p in (tmp_path / "run" / "exports").iterdir()] == ["emotionrecognizer.json"]
