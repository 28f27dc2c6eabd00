"""Shared fixtures for the kelly tests: one tiny trained run of all five models, reused by many tests."""

from __future__ import annotations

import io
import contextlib
from pathlib import Path

import pytest


def run_cli(*args: str) -> tuple[int, str]:
    """``mlrun ARGS`` in this process, returning (exit code, stdout + stderr)."""
    from mlrun_music import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """All five models trained for one epoch on small synthetic sets (no ONNX, no plots): the run folder."""
    out = tmp_path_factory.mktemp("kelly_run")
    code, text = run_cli("train", "kelly", "--output", out, "--tag", "t", "--epochs", "1", "--use-synthetic",
                         "--synthetic-samples", "64", "--no-onnx", "--no-plots")
    assert code == 0, text
    return out / "kelly" / "t"
