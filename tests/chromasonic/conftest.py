"""Fixtures for chromasonic: a private melody cache, generated ABC files, one tiny trained run shared by tests."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

#: Tiny settings of every run, so each training takes seconds (the real sizes are the defaults for users).
RUN = ["--sequence-length", "16", "--batch-size", "16", "--num-threads", "1"]
#: Tiny network sizes: --embedding-size is the LSTM's only, --num-heads / --feedforward-size the Transformer's only
#: (giving them to a run without that model is an error), so these go with runs that train both.
TINY = [*RUN, "--hidden-size", "16", "--embedding-size", "8", "--num-layers", "1", "--num-heads", "2",
        "--feedforward-size", "32"]
#: One parse process for the ABC datasets (folk, nottingham); the synthetic dataset refuses it.
ABC = [*RUN, "--parse-workers", "1"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own melody cache (tests that check caching reuse it within the test)."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(cache))
    return cache


def random_tune(number: int, title: str, notes: int, rng: random.Random, meter: str = "6/8") -> str:
    """A real ABC tune: header, note letters with octave marks, accidentals, lengths, rests, ties, chords
    symbols, grace notes and bar lines."""
    letters = ["C", "D", "E", "F", "G", "A", "B", "c", "d", "e", "f", "g", "a", "b"]
    body, i = [], 3
    for k in range(notes):
        if k % 7 == 6:
            body.append("z")
        else:
            i = max(0, min(len(letters) - 1, i + rng.choice([-2, -1, -1, 0, 1, 1, 2])))
            body.append(rng.choice(["", "", "^", "="]) + letters[i] + rng.choice(["", "", "2", "/2"]))
        if k % 4 == 3:
            body.append("|")
    text = " ".join(body)
    text = '"Am" ' + text.replace("|", '| "D"', 1)  # accompaniment chord symbols are not melody
    text = "{g}" + text + " C2-C |]"  # a grace note and a tie
    return f"X:{number}\nT:{title}\nM:{meter}\nL:1/8\nK:G\n{text}\n"


def write_abc_tree(root: Path, files: dict[str, list[str]]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for name, tunes in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("% generated for tests\n\n" + "\n".join(tunes), encoding="utf-8")
    return root


MALFORMED = "X:99\nT:Broken tune\nM:4/4\nL:1/8\nK:C\nab(3c[[[d|\n"  # an unclosed chord: music21 refuses it
SHORT = "X:98\nT:Too short\nM:4/4\nL:1/8\nK:C\nCDE|\n"


def nottingham_tree(root: Path, tunes_per_file: int = 6, seed: int = 1) -> Path:
    """The NMD's layout: a folder of ABC files (jigs.abc, reelsa-c.abc, ...), each holding many tunes."""
    rng = random.Random(seed)
    files = {}
    for f, name in enumerate(["nottingham_database/jigs.abc", "nottingham_database/reelsa-c.abc"]):
        tunes = [random_tune(f * 100 + t + 1, f"Tune {f}-{t}", rng.randint(24, 40), rng) for t in range(tunes_per_file)]
        files[name] = tunes
    files["nottingham_database/jigs.abc"].append(MALFORMED)
    files["nottingham_database/reelsa-c.abc"].append(SHORT)
    return write_abc_tree(root, files)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """All three models trained briefly on synthetic data (shared: evaluate/compare/generate/export read it)."""
    import os

    from mlrun_music import cli

    base = tmp_path_factory.mktemp("run")
    old = os.environ.get("MLRUN_MUSIC_CACHE")
    os.environ["MLRUN_MUSIC_CACHE"] = str(base / "cache")
    try:
        code = cli.main(["train", "chromasonic", "--dataset", "synthetic", "--num-sequences", "60",
                         "--synthetic-length", "24", "--epochs", "2", "--checkpoint-every", "1", "--model", "all",
                         "--output-dir", str(base / "runs"), "--tag", "tiny", *TINY])
    finally:
        if old is None:
            os.environ.pop("MLRUN_MUSIC_CACHE", None)
        else:
            os.environ["MLRUN_MUSIC_CACHE"] = old
    assert code == 0
    run = base / "runs" / "chromasonic" / "tiny"
    assert json.loads((run / "summary.json").read_text())["models"]
    return run
