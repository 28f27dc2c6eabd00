"""Shared tiny data for the phase tests: songs generated, rendered and chopped once per test run via the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest
import torch

# Tiny models gain nothing from a second thread, and on a busy shared CPU two threads run many times slower.
torch.set_num_threads(1)

SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: Tiny model and data settings so the whole folder stays well under its time budget.
TINY = ["--channels", "8", "--blocks", "3", "--n-mels", "16", "--warmup-seconds", "1", "--batch-size", "2",
        "--device-type", "cpu"]


def run_cli(*args) -> int:
    from mlrun_music import cli

    return cli.main([str(a) for a in args])


@attrs.frozen
class Corpus:
    root: Path
    midi: Path
    rendered: Path
    chunks: Path
    checkpoint: Path


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("phase_corpus")
    midi, rendered, chunks = root / "midi", root / "rendered", root / "chunks"
    assert run_cli("phase", "generate", "--out-path", midi, "--count", "4", "--meters", "4/4,3/4,6/8,7/8",
                   "--song-seconds", "22", "--seed", "5") == 0
    assert run_cli("phase", "render", "--midi-path", midi, "--single-soundfont", SF2, "--out-path", rendered,
                   "--midi-jitter-max-seconds", "0.01", "--max-processes", "2") == 0
    assert run_cli("phase", "chop", "--in-path", rendered, "--out-path", chunks, "--chunk-seconds", "6",
                   "--max-processes", "2", "--seed", "1") == 0
    assert run_cli("train", "phase", "--chunks-path", chunks, "--checkpoints-path", root / "ck", "--tag", "tiny",
                   "--num-epochs", "1", *TINY) == 0
    ckpt = root / "ck" / "phase" / "tiny" / "checkpoints" / "final.pt"  # the core's run layout
    assert ckpt.is_file()
    return Corpus(root, midi, rendered, chunks, ckpt)


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
