"""An option the run does not use is an error naming the option and why, from flags, config files and the API."""

from __future__ import annotations

import pytest

from mlrun_music import api
from mlrun_music.errors import UserError


@pytest.mark.parametrize("args,message", [
    (["toy", "--model", "linear", "--hidden", "4"], "--hidden is used only by the model mlp; this run trains linear"),
    (["phase", "--chunks-path", ".", "--default-songs", "3"], "--default-songs is unused when --chunks-path is given"),
    (["beatsight", "--data-dir", ".", "--synthetic-kits", "2"],
     "--synthetic-kits is used only with --dataset default; this run trains on 'folder'"),
    (["beatsight", "--dataset", "default", "--data-dir", "."],
     "--data-dir is used only with --dataset folder; this run trains on 'default'"),
])
def test_unused_flags_are_errors(mlrun, tmp_path, args, message):
    r = mlrun("train", *args, "--epochs", "1")
    assert r.code == 2 and r.err.count("\n") == 1 and message in r.err, r.err
    assert not (tmp_path / "runs").exists()


def test_from_a_config_file_and_the_api(mlrun, tmp_path):
    (tmp_path / "run.toml").write_text('model = "linear"\nhidden = 8\n')
    r = mlrun("train", "toy", "--config", "run.toml", "--epochs", "1")
    assert r.code == 2 and "--hidden is used only by the model mlp; this run trains linear" in r.err
    with pytest.raises(UserError, match="--hidden is used only by the model mlp"):
        api.train("toy", {"model": "linear", "hidden": 8, "epochs": 1, "output_dir": str(tmp_path / "api")})
    # Used options pass: the same option with the model that uses it trains.
    assert mlrun("train", "toy", "--model", "mlp", "--hidden", "4", "--epochs", "1").code == 0


def test_an_option_unused_by_a_switch_names_the_switch_as_given():
    import attrs

    from mlrun_music.config import TrainConfig, option, unused_options

    @attrs.define(kw_only=True)
    class Config(TrainConfig):
        augment: bool = option(True, "Augment.")
        augment_gain: float = option(0.1, "Gain.", unless=("augment",))
        fixed: bool = option(False, "Fixed.")
        jitter: float = option(0.1, "Jitter.", unless=("fixed",))
        speed: float = option(0.0, "Speed.")
        gain: float = option(0.0, "Gain.", when=("speed",))
        width: int = option(8, "Width.", models_except=("counted",))

    assert unused_options(Config(augment=False, augment_gain=0.3), ["augment", "augment_gain"], "d", ["m"]) == \
        ["--augment-gain is unused when --no-augment is given"]
    assert unused_options(Config(fixed=True, jitter=0.3), ["fixed", "jitter"], "d", ["m"]) == \
        ["--jitter is unused when --fixed is given"]
    assert unused_options(Config(augment_gain=0.3), ["augment_gain"], "d", ["m"]) == []
    assert unused_options(Config(gain=3.0), ["gain"], "d", ["m"]) == \
        ["--gain is used only with --speed set (it is at its default)"]
    assert unused_options(Config(gain=3.0, speed=0.2), ["gain", "speed"], "d", ["m"]) == []
    assert unused_options(Config(width=4), ["width"], "d", ["counted"]) == \
        ["--width is unused by the model counted; this run trains no other"]
    assert unused_options(Config(width=4), ["width"], "d", ["counted", "m"]) == []
