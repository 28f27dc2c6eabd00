"""`mlrun beatsight score --output` never overwrites the beatmap or the reference it reads, nor a folder."""

from __future__ import annotations

import json

import pytest

from .test_bsm import MINIMAL as BEATMAP


@pytest.fixture
def maps(tmp_path):
    est, ref = tmp_path / "B.bsm", tmp_path / "REF.bsm"
    est.write_text(json.dumps(BEATMAP))
    ref.write_text(json.dumps(BEATMAP, indent=1))
    return est, ref


@pytest.mark.parametrize("which", ["beatmap", "reference", "symlink", "dotted"])
def test_score_output_that_is_an_input_is_refused_and_the_input_kept(mlrun, maps, tmp_path, which):
    est, ref = maps
    before = {p: p.read_bytes() for p in (est, ref)}
    target = {"beatmap": est, "reference": ref, "dotted": tmp_path / "sub" / ".." / "B.bsm"}.get(which)
    if which == "symlink":
        target = tmp_path / "scores.json"
        target.symlink_to(est)
    named = ref if which == "reference" else est
    r = mlrun("beatsight", "score", est, ref, "--output", target)
    assert r.code != 0
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --output ") and "Traceback" not in r.text
    assert lines[0].endswith(f"is the input {named}; name another file"), lines[0]
    assert {p: p.read_bytes() for p in (est, ref)} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "sub") == sorted(
        ["B.bsm", "REF.bsm"] + (["scores.json"] if which == "symlink" else []))


def test_score_output_that_is_a_folder_is_refused(mlrun, maps, tmp_path):
    est, ref = maps
    folder = tmp_path / "scores"
    folder.mkdir()
    r = mlrun("beatsight", "score", est, ref, "--output", folder)
    assert r.code != 0
    assert r.err.strip() == f"error: {folder} is a folder; name a file"
    assert folder.is_dir() and not any(folder.iterdir())


def test_score_output_elsewhere_is_written(mlrun, maps, tmp_path):
    est, ref = maps
    r = mlrun("beatsight", "score", est, ref, "--output", tmp_path / "scores.json")
    assert r.code == 0, r.text
    assert json.loads((tmp_path / "scores.json").read_text())["overall"]["f_measure"] == 1.0
