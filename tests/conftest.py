"""Shared test helpers: run the ``mlrun`` CLI in-process or as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

REPO = Path(__file__).resolve().parents[1]


@attrs.frozen
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def mlrun(capsys, monkeypatch, tmp_path):
    """Call ``mlrun ARGS...`` in this process (fast: torch is imported once); returns CliResult.

    Runs with the test's tmp_path as the working directory, so default output folders land there.
    """
    from mlrun_music import cli

    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = cli.main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def run_mlrun_subprocess(*args: str, cwd: Path | None = None, env: dict | None = None,
                         timeout: float = 600) -> CliResult:
    """Run the real ``mlrun`` console script in a fresh interpreter."""
    exe = Path(sys.executable).with_name("mlrun")
    proc = subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def mlrun_subprocess():
    return run_mlrun_subprocess
