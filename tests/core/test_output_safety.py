"""Safe output: atomic writes keep the umask, never replace a folder, never overwrite an input; run names stay
inside the output folder."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from mlrun_music import fileio
from mlrun_music.errors import UserError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set a umask for the test and restore the old one afterwards."""
    old = os.umask(0o022)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_atomic_writes_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    target = tmp_path / "out.json"
    fileio.write_json(target, {"a": 1})
    assert _mode(target) == expected
    assert json.loads(target.read_text()) == {"a": 1}
    with fileio.atomic_path(tmp_path / "x.bin", suffix=".bin") as tmp:
        tmp.write_bytes(b"abc")
    assert _mode(tmp_path / "x.bin") == expected


def test_overwriting_a_0644_file_keeps_0644(tmp_path, umask):
    umask(0o022)
    target = tmp_path / "out.txt"
    target.write_text("old")
    os.chmod(target, 0o644)
    fileio.write_text(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temporary file left beside it


def test_a_writer_that_recreates_the_temporary_file_still_gets_the_umask_mode(tmp_path, umask):
    umask(0o027)
    target = tmp_path / "out.bin"
    with fileio.atomic_path(target) as tmp:
        tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"x")
        os.close(fd)
    assert _mode(target) == 0o640 and target.read_bytes() == b"x"


def test_the_containing_folder_is_fsynced_after_the_rename(tmp_path, monkeypatch):
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    fileio.write_text(tmp_path / "a.txt", "x")
    assert synced[-1] == str(tmp_path)


def test_a_folder_that_refuses_fsync_is_not_an_error(tmp_path, monkeypatch):
    real_fsync = os.fsync

    def refuse_folders(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(22, "Invalid argument")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", refuse_folders)
    fileio.write_text(tmp_path / "a.txt", "x")
    assert (tmp_path / "a.txt").read_text() == "x"


def test_a_folder_is_never_replaced_by_a_file(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep")
    with pytest.raises(UserError) as info:
        fileio.write_json(folder, {"a": 1})
    assert str(info.value) == f"{folder} is a folder; name a file"
    assert folder.is_dir() and (folder / "keep.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


# ---------------------------------------------------------------------------------------------------------------
# refuse_overwrite_of_inputs


def test_output_equal_to_an_input_is_refused(tmp_path):
    src = tmp_path / "in.json"
    src.write_text("{}")
    with pytest.raises(UserError) as info:
        fileio.refuse_overwrite_of_inputs(src, tmp_path / "other", src)
    assert str(info.value) == f"--output {src} is the input {src}; name another file"


def test_output_reaching_an_input_by_another_spelling_or_a_symlink_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in.json"
    src.write_text("{}")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.json").symlink_to(src)
    os.link(src, tmp_path / "hard.json")
    for out in ("sub/../in.json", "./in.json", "link.json", str(tmp_path / "link.json"), "hard.json"):
        with pytest.raises(UserError, match=r"^-o .* is the input in.json; name another file$"):
            fileio.refuse_overwrite_of_inputs(out, "in.json", option="-o")


def test_output_inside_an_input_folder_is_refused(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(UserError) as info:
        fileio.refuse_overwrite_of_inputs(folder / "deep" / "x.json", tmp_path / "f.json", folder, option="--out")
    assert str(info.value) == (f"--out {folder / 'deep' / 'x.json'} lies inside the input folder {folder}; "
                               "name a file elsewhere")


def test_unrelated_outputs_and_missing_values_pass(tmp_path):
    (tmp_path / "a").mkdir()
    fileio.refuse_overwrite_of_inputs(tmp_path / "ab.json", tmp_path / "a", tmp_path / "a.json", None)
    fileio.refuse_overwrite_of_inputs(None, tmp_path / "a")
