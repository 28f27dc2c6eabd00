"""Exact resume after a real SIGKILL, and DDP with two gloo processes, through the real `mlrun` command."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch

from tests.conftest import run_mlrun_subprocess

COMMON = ["train", "toy", "--epochs", "4", "--samples", "320", "--batch-size", "16", "--augment", "0.05",
          "--learning-rate", "0.01"]


def final_weights(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(run / "checkpoints" / "final.pt", weights_only=True)["model"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """One run left alone: every interrupted variant below must end bit-identical to it."""
    out = tmp_path_factory.mktemp("whole")
    r = run_mlrun_subprocess(*COMMON, "--output-dir", out, "--tag", "whole")
    assert r.code == 0, r.text
    return out / "toy" / "whole"


@pytest.mark.parametrize("workers,every_steps,kill_at", [
    ("0", "0", "37"),   # killed mid-epoch 3, resumed from the end of epoch 2
    ("2", "0", "37"),   # the same with two data-loader worker processes
    ("0", "5", "37"),   # mid-epoch checkpoints: resumed from step 35
    ("2", "5", "23"),   # mid-epoch with workers
])
def test_resume_after_sigkill_is_bit_identical(tmp_path, uninterrupted, workers, every_steps, kill_at):
    args = COMMON + ["--num-workers", workers, "--checkpoint-every-steps", every_steps, "--output-dir", tmp_path]
    killed = run_mlrun_subprocess(*args, "--tag", "killed", "--kill-at-step", kill_at)
    assert killed.code == -signal.SIGKILL, killed.text
    run = tmp_path / "toy" / "killed"
    assert not (run / "checkpoints" / "final.pt").exists()
    state = torch.load(run / "checkpoints" / "latest.pt", weights_only=True)  # the kill left it loadable
    resumed = run_mlrun_subprocess(*args, "--tag", "killed")
    assert resumed.code == 0, resumed.text
    assert "resuming from" in resumed.err
    if every_steps != "0":
        assert state["trainer"]["step_in_epoch"] > 0
        assert f"step {state['trainer']['step_in_epoch']}" in resumed.err

    a, b = final_weights(uninterrupted), final_weights(run)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    ha = json.loads((uninterrupted / "history.json").read_text())
    hb = json.loads((run / "history.json").read_text())
    assert [h["val_loss"] for h in ha] == [h["val_loss"] for h in hb]


def test_continue_from_and_restart(tmp_path):
    args = COMMON + ["--output-dir", tmp_path, "--checkpoint-every", "1", "--augment", "0"]
    assert run_mlrun_subprocess(*args).code == 0
    run = tmp_path / "toy" / "default"
    r = run_mlrun_subprocess(*args, "--continue-from", "2")
    assert r.code == 0 and "resuming from" in r.err and "epoch_2.pt at epoch 3" in r.err
    assert len(json.loads((run / "history.json").read_text())) == 4
    r = run_mlrun_subprocess(*args, "--restart")
    assert r.code == 0 and "resuming" not in r.err
    r = run_mlrun_subprocess(*args, "--continue-from", "9")
    assert r.code != 0 and "--continue-from 9: no checkpoint" in r.err


def test_ddp_two_gloo_processes_match_single_process(tmp_path):
    # 320 samples: 256 train (16 full global batches of 16), 64 validation (even over 2 ranks).
    common = ["train", "toy", "--epochs", "2", "--samples", "320", "--learning-rate", "0.01",
              "--output-dir", tmp_path, "--device", "cpu"]
    single = run_mlrun_subprocess(*common, "--batch-size", "16", "--tag", "single")
    assert single.code == 0, single.text
    ddp = run_mlrun_subprocess(*common, "--batch-size", "8", "--tag", "ddp", "--nproc-per-node", "2")
    assert ddp.code == 0, ddp.text
    history = json.loads((tmp_path / "toy" / "ddp" / "history.json").read_text())
    assert history[-1]["ddp_max_weight_diff"] == 0.0  # both ranks hold identical weights
    config = json.loads((tmp_path / "toy" / "ddp" / "config.json").read_text())
    assert config["world_size"] == 2
    a, b = final_weights(tmp_path / "toy" / "single"), final_weights(tmp_path / "toy" / "ddp")
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)
    hs = json.loads((tmp_path / "toy" / "single" / "history.json").read_text())
    assert history[-1]["val_loss"] == pytest.approx(hs[-1]["val_loss"], rel=1e-4)
