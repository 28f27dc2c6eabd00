"""Shared tiny data for the phase tests: songs generated, rendered and chopped once per test run via the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import attrs
import numpy as np
import pytest
import torch

# Tiny models gain nothing from a second thread, and on a busy shared CPU two threads run many times slower.
torch.set_num_threads(1)

SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
#: Tiny model and data settings so the whole folder stays well under its time budget.
TINY = ["--channels", "8", "--blocks", "3", "--n-mels", "16", "--warmup-seconds", "1", "--batch-size", "2",
        "--device-type", "cpu"]


#: Seconds at a song's start that no figure scores (a causal model has heard too little there).
WARMUP = 8.0


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


@pytest.fixture(scope="session")
def song(tmp_path_factory) -> Path:
    """A 40 s 3/4 + 4/4 song from a generator seed the training data never used, rendered with TimGM6mb, alone in
    its folder (``song.parent`` is a data folder of one song)."""
    root = tmp_path_factory.mktemp("unseen_song")
    assert run_cli("phase", "generate", "--out-path", root / "midi", "--count", "1", "--meters", "3/4,4/4",
                   "--song-seconds", "40", "--seed", "11") == 0
    midi = next((root / "midi").rglob("*.mid"))
    assert run_cli("phase", "render", "--single-file", midi, "--single-soundfont", SF2, "--out-path",
                   root / "rendered" / "song") == 0
    return root / "rendered" / "song"


def downbeat_f(reference: np.ndarray, estimated: np.ndarray) -> float:
    """mir_eval downbeat F (70 ms) of ``estimated`` against the reference bars after :data:`WARMUP`."""
    import mir_eval

    with warnings.catch_warnings():  # a network may predict no downbeat at all: F 0, not a warning
        warnings.simplefilter("ignore", UserWarning)
        return float(mir_eval.beat.f_measure(reference[reference >= WARMUP], estimated, f_measure_threshold=0.07))
