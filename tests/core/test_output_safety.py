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


# ---------------------------------------------------------------------------------------------------------------
# Run names: --tag, --run-layout, --checkpoint-dir keep the run inside --output-dir


BIG = "x" * (40 * 1024 * 1024)

BAD_NAMES = [
    ("--tag", "", "'--tag' must not be empty, got ''"),
    ("--tag", ".", "'--tag' must not be '.' or '..', got '.'"),
    ("--tag", "..", "'--tag' must not be '.' or '..', got '..'"),
    ("--tag", "../../escape", "'--tag' must be one folder name (no '/', '\\' or NUL), got '../../escape'"),
    ("--tag", "a/b", "'--tag' must be one folder name (no '/', '\\' or NUL), got 'a/b'"),
    ("--tag", "a\\b", "'--tag' must be one folder name (no '/', '\\' or NUL), got 'a\\\\b'"),
    ("--tag", "a\0b", "'--tag' must be one folder name (no '/', '\\' or NUL), got 'a\\x00b'"),
    ("--tag", "t" * 101, "'--tag' must be at most 100 characters, got '" + "t" * 60 + "'... (101 characters)"),
    ("--run-layout", "@/{tag}", "'--run-layout' must be a relative path, got '@/{tag}'"),
    ("--run-layout", "{task}/../../{tag}", "'--run-layout' must not contain '..', got '{task}/../../{tag}'"),
    ("--run-layout", "..\\{tag}", "'--run-layout' must not contain '..', got '..\\\\{tag}'"),
    ("--run-layout", "{tag.__class__}",
     "'--run-layout' may use only {task} and {tag}, not '{tag.__class__}', got '{tag.__class__}'"),
    ("--run-layout", "{0}", "'--run-layout' may use only {task} and {tag}, not '{0}', got '{0}'"),
    ("--run-layout", "{tag!r}", "'--run-layout' may use only {task} and {tag}, not '{tag!r}', got '{tag!r}'"),
    ("--run-layout", "{tag:>9}", "'--run-layout' may use only {task} and {tag}, not '{tag:>9}', got '{tag:>9}'"),
    ("--run-layout", "{tag", "'--run-layout' is not a valid template (expected '}' before end of string), "
                             "got '{tag'"),
    ("--checkpoint-dir", "@/ck", "'--checkpoint-dir' must be a relative path, got '@/ck'"),
    ("--checkpoint-dir", "../ck", "'--checkpoint-dir' must not contain '..', got '../ck'"),
    ("--checkpoint-dir", "a/../../ck", "'--checkpoint-dir' must not contain '..', got 'a/../../ck'"),
]


def _only_runs_folder_untouched(tmp_path: Path) -> None:
    assert not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["run.toml"])


def _absolute(value: str, message: str, tmp_path: Path) -> tuple[str, str]:
    """``@`` stands for an absolute folder inside the test's folder (quoted as shorten() quotes it)."""
    if not value.startswith("@"):
        return value, message
    from mlrun_music.config import shorten

    real = str(tmp_path / "abs") + value[1:]
    return real, message.replace(repr(value), shorten(real))


@pytest.mark.parametrize("flag, value, message", BAD_NAMES, ids=[f"{f}={v[:20]!r}" for f, v, _ in BAD_NAMES])
def test_bad_run_names_on_the_command_line_are_refused(mlrun, tmp_path, flag, value, message):
    value, message = _absolute(value, message, tmp_path)
    r = mlrun("train", "toy", "--epochs", "1", flag, value)
    assert r.code == 2
    assert r.err == f"error: {message}\n" and r.out == ""
    _only_runs_folder_untouched(tmp_path)


@pytest.mark.parametrize("flag, value, message", BAD_NAMES, ids=[f"{f}={v[:20]!r}" for f, v, _ in BAD_NAMES])
def test_bad_run_names_in_a_config_file_are_refused(mlrun, tmp_path, flag, value, message):
    value, message = _absolute(value, message, tmp_path)
    key = flag[2:].replace("-", "_")
    (tmp_path / "run.toml").write_text(f"epochs = 1\n{key} = {json.dumps(value)}\n")
    r = mlrun("train", "toy", "--config", "run.toml")
    assert r.code == 2
    assert r.err == f"error: run.toml: {message.replace(repr(flag), repr(key), 1)}\n"
    _only_runs_folder_untouched(tmp_path)


def test_a_40_mb_tag_gives_a_short_error_line(mlrun, tmp_path):
    r = mlrun("train", "toy", "--tag", BIG)
    assert r.code == 2
    assert r.err == ("error: '--tag' must be at most 100 characters, got '" + "x" * 60 + "'... "
                     f"({len(BIG)} characters)\n")
    _only_runs_folder_untouched(tmp_path)


def test_the_python_api_refuses_bad_run_names_too(tmp_path):
    from mlrun_music import api

    with pytest.raises(UserError, match=r"^'tag' must be one folder name"):
        api.make_config("toy", output_dir=str(tmp_path), tag="../x")
    from mlrun_music.config import TrainConfig
    from mlrun_music.training.run import run_dir_of

    with pytest.raises(UserError, match=r"^'--run-layout' must not contain '\.\.'"):
        run_dir_of(TrainConfig(output_dir=str(tmp_path), run_layout="../{tag}"), "toy")


def test_a_layout_that_leaves_the_output_folder_through_a_symlink_is_refused(mlrun, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "toy").symlink_to(tmp_path / "elsewhere")
    r = mlrun("train", "toy", "--epochs", "1")
    assert r.code == 2
    assert r.err == (f"error: --run-layout '{{task}}/{{tag}}' puts the run folder "
                     f"{tmp_path / 'elsewhere' / 'default'} outside --output-dir {tmp_path / 'runs'}\n")
    assert not any((tmp_path / "elsewhere").iterdir())


def test_a_layout_that_is_the_output_folder_itself_is_refused(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "1", "--run-layout", ".")
    assert r.code == 2
    assert r.err == "error: --run-layout '.' makes --output-dir itself the run folder; name a folder under it\n"
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_ordinary_names_still_train(mlrun, tmp_path):
    r = mlrun("train", "toy", "--epochs", "1", "--max-steps", "1", "--tag", "lr-0.01_b.2 (try 3)",
              "--run-layout", "{task}-runs/{{x}}/{tag}", "--checkpoint-dir", "ck/./a")
    assert r.code == 0, r.text
    run = tmp_path / "runs" / "toy-runs" / "{x}" / "lr-0.01_b.2 (try 3)"
    assert (run / "ck" / "a" / "final.pt").is_file()
    assert json.loads((run / "config.json").read_text())["config"]["tag"] == "lr-0.01_b.2 (try 3)"
    (tmp_path / "run.toml").write_text(f'epochs = 1\nmax_steps = 1\ntag = "{"t" * 100}"\n')
    r = mlrun("train", "toy", "--config", "run.toml")
    assert r.code == 0, r.text
    assert (tmp_path / "runs" / "toy" / ("t" * 100) / "checkpoints" / "final.pt").is_file()


def test_a_config_stored_in_a_checkpoint_can_skip_the_run_folder_checks():
    from mlrun_music.config import TrainConfig, build_config

    with pytest.raises(UserError, match=r"^ck\.pt: 'tag' must be one folder name"):
        build_config(TrainConfig, {"tag": "sweep/lr1"}, where="ck.pt: ")
    assert build_config(TrainConfig, {"tag": "sweep/lr1"}, check_run_folder=False).tag == "sweep/lr1"
