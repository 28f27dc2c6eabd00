"""Bounded input: ABC files and tunes over the documented limits (note length, bars, notes, file size, parse time)
and unreadable files are skipped and counted with their reason, in training on a folder and in
`generate --seed-from`; nothing spins on them."""

from __future__ import annotations

import json
import os
import random
import time

import pytest
from tests.chromasonic.conftest import ABC, random_tune, write_abc_tree

from mlrun_music_chromasonic.data import abc
from mlrun_music_chromasonic.data.abc import MAX_FILE_BYTES, MAX_NOTE_QUARTERS, MAX_TUNE_BARS, parse_abc_file, tune_over_limits

HUGE_NOTE = "X:1\nT:One long note\nM:4/4\nL:1/8\nK:C\nC999999|\n"
ENDLESS = "X:2\nT:Endless\nM:4/4\nL:1/4\nK:C\n" + " ".join("CDEF|" for _ in range(20000)) + "]\n"


def good_tunes(n: int, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [random_tune(i + 1, f"Good {i}", 30, rng) for i in range(n)]


def train_on(mlrun, folder, tmp_path, *extra):
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--data-dir", folder, "--model", "markov",
              "--output-dir", tmp_path / "runs", *ABC, *extra)
    report = tmp_path / "runs/chromasonic/default/data_report.json"
    return r, (json.loads(report.read_text())["parse"] if report.exists() else None)


def test_limits_read_from_the_text():
    assert tune_over_limits(HUGE_NOTE) == "note too long: 500000 quarter lengths, the limit is 64"
    assert tune_over_limits(ENDLESS) == f"tune too long: 20,000 bars, the limit is {MAX_TUNE_BARS:,}"
    notes = "X:3\nT:Dense\nL:1/16\nK:C\n" + "CDEFGABc" * 600 + "|\n"
    assert tune_over_limits(notes) == "tune too long: 4,800 notes, the limit is 4,000"
    # chord symbols, decorations and the L: unit are read as ABC means them
    assert tune_over_limits('X:4\nT:Fine\nL:1/4\nK:C\n"G7" !trill!C64 [CEG]16 z8|\n') is None
    assert tune_over_limits("X:5\nT:Over\nL:1/4\nK:C\n[CEG]65|\n").startswith("note too long: 65 ")
    assert MAX_NOTE_QUARTERS == 64.0


def test_a_tie_past_the_longest_note_is_refused_after_parsing(tmp_path):
    tied = "X:1\nT:Tied\nM:4/4\nL:1/4\nK:C\n" + "-".join(["C48"] * 2) + "|\n"
    assert tune_over_limits(tied) is None  # each written note is within the limit
    path = write_abc_tree(tmp_path, {"tied.abc": [tied]}) / "tied.abc"
    res = parse_abc_file(str(path), "tied.abc")
    assert res["skipped"][0]["reason"] == "note too long: 96 quarter lengths, the limit is 64"


def test_tunes_over_the_limits_are_skipped_and_counted_in_training(mlrun, tmp_path):
    folder = write_abc_tree(tmp_path / "abc", {"good.abc": good_tunes(6), "long_note.abc": [HUGE_NOTE],
                                               "endless.abc": [ENDLESS]})
    (folder / "huge.abc").write_text(("X:9\nT:Filler\nK:C\n" + "CDEF|" * 200 + "\n") * (MAX_FILE_BYTES // 1000))
    start = time.perf_counter()
    r, parse = train_on(mlrun, folder, tmp_path)
    assert r.code == 0, r.text
    assert time.perf_counter() - start < 120  # music21 never sees the endless tune
    assert parse["tunes_parsed"] == 6
    assert parse["skip_reasons"] == {"note too long": 1, "tune too long": 1, "file too large": 1}
    reasons = {s["file"].rsplit("/", 1)[-1]: s["reason"] for s in parse["skipped_tunes"]}
    assert reasons["endless.abc"] == "tune too long: 20,000 bars, the limit is 1,000"
    assert reasons["huge.abc"].startswith("file too large: ") and "the limit is 2,000,000" in reasons["huge.abc"]
    assert "skipped 3 (file too large: 1, note too long: 1, tune too long: 1)" in r.err


def test_unreadable_files_in_a_batch_are_skipped_and_counted(mlrun, tmp_path):
    folder = write_abc_tree(tmp_path / "abc", {"good.abc": good_tunes(6)})
    (folder / "binary.abc").write_bytes(bytes(range(1, 256)) * 40)  # no NUL byte: binary by its control characters
    (folder / "utf16_no_bom.abc").write_bytes(good_tunes(1, seed=9)[0].encode("utf-16-le"))
    (folder / "utf16.abc").write_bytes(good_tunes(2, seed=8)[1].encode("utf-16"))  # with a BOM: readable
    (folder / "broken_link.abc").symlink_to(tmp_path / "nowhere.abc")
    os.mkfifo(folder / "pipe.abc")  # reading it would block
    expected = {"binary file (not ABC text)": 2, "unreadable": 1, "not a regular file": 1}
    try:
        with open(os.fsencode(folder) + b"/name_\xff.abc", "wb") as fh:
            fh.write(good_tunes(1, seed=7)[0].encode())
        expected["file name not UTF-8 (rename the file)"] = 1
    except OSError:  # a file system that refuses names that are not UTF-8
        pass
    r, parse = train_on(mlrun, folder, tmp_path)
    assert r.code == 0, r.text
    assert parse["skip_reasons"] == expected
    assert parse["tunes_parsed"] == 7 and parse["files"] == 2 + sum(expected.values())  # good.abc, utf16.abc
    assert "Traceback" not in r.text


def test_a_file_over_its_parse_time_is_skipped_and_counted(mlrun, tmp_path, monkeypatch):
    folder = write_abc_tree(tmp_path / "abc", {"many.abc": good_tunes(20)})
    monkeypatch.setattr(abc, "MAX_FILE_SECONDS", 0.05)  # 20 tunes take about a second
    res = parse_abc_file(str(folder / "many.abc"), "many.abc")
    assert res["melodies"] == [] and res["file_error"].startswith("over the parse time budget: more than 0.05 s")
    r, _ = train_on(mlrun, folder, tmp_path)
    assert r.code == 2 and "Traceback" not in r.text
    assert r.err.strip().splitlines()[-1].endswith("could be parsed ({'over the parse time budget': 1})")
    # The miss is not cached (the budget is wall time): with time enough the next run parses the file.
    monkeypatch.setattr(abc, "MAX_FILE_SECONDS", 120.0)
    r, parse = train_on(mlrun, folder, tmp_path)
    assert r.code == 0, r.text
    assert parse["cache_hits"] == 0 and parse["files_parsed"] == 1 and parse["tunes_parsed"] == 20


@pytest.mark.parametrize("tune,why", [(HUGE_NOTE, "note too long: 500000 quarter lengths, the limit is 64"),
                                      (ENDLESS, "tune too long: 20,000 bars, the limit is 1,000")],
                         ids=["huge-note", "20000-bars"])
def test_generate_seed_from_refuses_a_tune_over_the_limits(mlrun, tmp_path, tune, why):
    path = write_abc_tree(tmp_path, {"seed.abc": [tune]}) / "seed.abc"
    start = time.perf_counter()
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", path, "--out", tmp_path / "o.mid")
    assert time.perf_counter() - start < 60
    assert r.code == 2 and r.err.strip().splitlines()[-1] == f"error: --seed-from: no usable tune in {path} ({why})"
    assert not (tmp_path / "o.mid").exists()


def test_generate_seed_from_parses_the_first_usable_tune_only(tmp_path):
    path = write_abc_tree(tmp_path, {"many.abc": good_tunes(12)}) / "many.abc"
    res = parse_abc_file(str(path), "many.abc", max_melodies=1)
    assert len(res["melodies"]) == 1 and res["melodies"][0]["title"] == "Good 0"


def test_seed_events_outside_the_vocabulary_are_said_and_not_counted(mlrun, tmp_path):
    # an 8-quarter note (C_8) is not among the shipped Markov model's events; E4 eighths are
    path = write_abc_tree(tmp_path, {"seed.abc": ["X:1\nT:Held\nM:4/4\nL:1/8\nK:C\nC16 EEEE|\n"]}) / "seed.abc"
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", path, "--seed-length", "5",
              "--length", "8", "--out", tmp_path / "o.mid")
    assert r.code == 0, r.text
    assert "12 notes (4 opening + 8 generated)" in r.out
    assert "note: 1 opening events are outside the model's vocabulary" in r.err
