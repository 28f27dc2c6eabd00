"""Errors that say what is wrong and what to do: did-you-mean, what a file is, long values cut, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import mido

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
