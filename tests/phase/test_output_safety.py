"""`mlrun phase apply --output` never overwrites the audio, the checkpoint or the ONNX model it reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mlrun_music.config import to_dict
from mlrun_music.training.checkpoint import save_checkpoint
from mlrun_music_phase.models.tcn import build
from mlrun_music_phase.config import PhaseConfig

from .conftest import run_cli


def tiny_checkpoint(path: Path) -> Path:
    """An untrained tiny phase model saved as a checkpoint that `mlrun phase apply` loads."""
    config = PhaseConfig(channels=8, blocks=3, n_mels=16, warmup_seconds=1.0)
    torch.manual_seed(0)
    model = build(config, {})
    return save_checkpoint(path, {"task": "phase", "plugin": "mlrun-music-phase", "model_name": "phase_tcn_mel",
                                  "model_info": {}, "config": to_dict(config), "model": model.state_dict()})


@pytest.fixture
def inputs(tmp_path):
    ck = tiny_checkpoint(tmp_path / "ck.pt")
    audio = tmp_path / "X.ogg"
    t = np.arange(3 * 16000) / 16000
    sf.write(str(audio), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return ck, audio


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("which", ["audio", "checkpoint", "audio-symlink"])
def test_apply_output_that_is_an_input_is_refused_and_the_input_kept(inputs, tmp_path, capsys, which):
    ck, audio = inputs
    before = {p: p.read_bytes() for p in (ck, audio)}
    out, named = {"audio": (audio, audio), "checkpoint": (ck, ck),
                  "audio-symlink": (tmp_path / "pred.txt", audio)}[which]
    if which == "audio-symlink":
        out.symlink_to(audio)
    capsys.readouterr()
    code = run_cli("phase", "apply", ck, audio, "--device-type", "cpu", "--output", out)
    assert code != 0
    line = _one_line_error(capsys)
    assert line == f"error: --output {out} is the input {named}; name another file"
    assert {p: p.read_bytes() for p in (ck, audio)} == before


def test_apply_output_that_is_the_onnx_model_is_refused(inputs, tmp_path, capsys):
    _, audio = inputs
    onnx = tmp_path / "m.onnx"
    onnx.write_bytes(b"not really onnx")
    capsys.readouterr()
    code = run_cli("phase", "apply", "--onnx-model", onnx, audio, "--output", onnx)
    assert code != 0
    assert _one_line_error(capsys) == f"error: --output {onnx} is the input {onnx}; name another file"
    assert onnx.read_bytes() == b"not really onnx"


def test_apply_output_elsewhere_is_written(inputs, tmp_path):
    ck, audio = inputs
    out = tmp_path / "X.phase"
    assert run_cli("phase", "apply", ck, audio, "--device-type", "cpu", "--output", out) == 0
    values = [float(v) for v in out.read_text().split()]
    assert len(values) == 3 * 50 and all(0.0 <= v < 1.0 for v in values)
