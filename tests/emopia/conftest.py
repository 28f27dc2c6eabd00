"""Fixtures for the emopia tests: EMOPIA-layout trees built on the fly and one tiny trained checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# A tiny model and corpus: the real sizes are the defaults for users; tests only need the machinery.
TINY = ["--d-model", "32", "--n-layers", "1", "--n-heads", "2", "--d-ff", "64", "--max-seq-len", "64",
        "--emotion-dim", "8", "--duration-dim", "4", "--epochs", "1", "--batch-size", "16",
        "--learning-rate", "3e-3", "--no-plots", "--num-threads", "1"]


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """--num-threads changes torch's global thread count; give other tests in the session theirs back."""
    import torch

    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)


def write_midi(path: Path, notes: list[tuple[float, float, int, int]], tempo: float = 120.0,
               drums: list[tuple[float, float, int, int]] | None = None) -> None:
    """A MIDI file with a piano track (and optionally a drum track); times in beats."""
    import symusic

    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(time=0, qpm=tempo))
    for is_drum, group in ((False, notes), (True, drums or [])):
        if not group and is_drum:
            continue
        track = symusic.Track(program=0, is_drum=is_drum)
        for s, d, p, v in group:
            track.notes.append(symusic.Note(time=int(s * 480), duration=int(d * 480), pitch=p, velocity=v))
        score.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(path))


def make_tree(root: Path, songs: int = 12, seed: int = 3, bad_files: bool = True) -> Path:
    """An EMOPIA_1.0 tree from the synthetic generator, plus one file of each bad kind when ``bad_files``."""
    from mlrun_music_emopia.data.synthetic import generate_corpus

    base = root / "EMOPIA_1.0"
    generate_corpus(base, songs=songs, seed=seed)
    if bad_files:
        midis = base / "midis"
        (midis / "Q1_corruptAAAA_0.mid").write_bytes(b"this is not a MIDI file")
        (midis / "Q2_emptyfileAA_0.mid").write_bytes(b"")
        write_midi(midis / "Q3_nonotesAAAA_0.mid", [])
        write_midi(midis / "Q4_drumsonlyAA_0.mid", [], drums=[(i / 2, 0.25, 36, 100) for i in range(16)])
        write_midi(midis / "my_favourite_song.mid", [(0, 1, 60, 80)])
        write_midi(midis / "Q1_unknownquad_0.mid", [(0, 1, 60, 80)])
        with open(base / "label.csv", "a") as fh:
            fh.write("Q1_unknownquad_0,7,X\n")
    return base


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> Path:
    """One tiny model trained through the CLI on the embedded synthetic corpus; returns its run folder."""
    from mlrun_music import cli

    work = tmp_path_factory.mktemp("emopia_trained")
    old = os.getcwd()
    os.chdir(work)
    import torch

    threads = torch.get_num_threads()
    try:
        code = cli.main(["train", "emopia", *TINY, "--synthetic-songs", "16", "--epochs", "3", "--tag", "tiny"])
    finally:
        os.chdir(old)
        torch.set_num_threads(threads)
    assert code == 0
    return work / "runs" / "emopia" / "tiny"
