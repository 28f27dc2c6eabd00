"""Options of one dataset are refused with another: one line naming the option and why, nothing written."""

from __future__ import annotations

import pytest

from .conftest import TINY


@pytest.mark.parametrize("args,message", [
    (["--data-dir", "data", "--synthetic-songs", "16"],
     "--synthetic-songs is used only with --dataset default; this run trains on 'emopia'"),
    (["--dataset", "scores", "--synthetic-songs", "16"],
     "--synthetic-songs is used only with --dataset default; this run trains on 'scores'"),
    (["--scores-chorales", "3"], "--scores-chorales is used only with --dataset scores; this run trains on 'default'"),
    (["--data-dir", "data", "--scores-timeout", "5"],
     "--scores-timeout is used only with --dataset scores; this run trains on 'emopia'"),
    (["--dataset", "scores", "--data-dir", "data"],
     "--data-dir is used only with --dataset emopia; this run trains on 'scores'"),
    (["--dataset", "default", "--data-dir", "data"],
     "--data-dir is used only with --dataset emopia; this run trains on 'default'"),
])
def test_an_option_of_another_dataset_is_refused(mlrun, tmp_path, args, message):
    (tmp_path / "data" / "midis").mkdir(parents=True)
    r = mlrun("train", "emopia", *TINY, *args)
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    assert not (tmp_path / "runs").exists()


def test_from_a_config_file_and_a_missing_data_dir(mlrun, tmp_path):
    (tmp_path / "data" / "midis").mkdir(parents=True)
    (tmp_path / "run.toml").write_text('data_dir = "data"\nsynthetic_songs = 16\n')
    r = mlrun("train", "emopia", "--config", "run.toml", *TINY)
    assert r.code == 2 and "--synthetic-songs is used only with --dataset default; this run trains on 'emopia'" \
        in r.err, r.err
    r = mlrun("train", "emopia", "--dataset", "emopia", *TINY)
    assert r.code == 2 and r.err.count("\n") == 1 and "--dataset emopia needs --data-dir DIR" in r.err, r.err
    assert not (tmp_path / "runs").exists()
