"""The CLI surface: list, info, options from config classes, config files, validation, errors."""

from __future__ import annotations

import json

import attrs
import pytest

from mlrun_music import plugins
from mlrun_music.config import option
from mlrun_music.hookspecs import hookimpl

from tests.conftest import run_mlrun_subprocess


def test_list_and_info(mlrun):
    r = mlrun("list")
    assert r.code == 0
    assert "toy  (mlrun-music-toy 0.1.0)  Tiny regression task for trainer tests." in r.out
    assert "datasets: synthetic [default]" in r.out
    data = json.loads(mlrun("list", "--json").out)
    toy = next(t for t in data["tasks"] if t["name"] == "toy")
    assert [m["name"] for m in toy["models"]] == ["mlp", "linear"] and toy["exports"] == ["checkpoint", "onnx"]
    info = json.loads(mlrun("info", "toy", "--json").out)
    opts = {o["name"]: o for o in info["options"]}
    assert opts["learning_rate"] == {"name": "learning_rate", "option": "--learning-rate", "type": "float",
                                     "default": 0.001, "help": "Learning rate.", "allowed": "float in [0.0, 10.0]",
                                     "group": "trainer"}
    assert opts["epochs"]["default"] == 5  # the task's own default overrides the trainer's
    assert opts["optimizer"]["allowed"] == "one of adam, adamw, sgd"
    assert opts["epochs"]["group"] == "task" and opts["hidden"]["group"] == "task"  # the task sets these
    text = mlrun("info", "toy").out
    assert "  --samples, --hidden, --noise," in text  # names only; help and defaults with --all
    assert text.index("options of toy (help and defaults: mlrun info toy --all):") < text.index("--epochs")
    assert "--learning-rate" not in text and "trainer options: 45 more that every task has" in text
    full = mlrun("info", "toy", "--all").out
    assert "--hidden (int in [1, 4096], default 16): Hidden width of the MLP." in full
    assert full.index("options of toy:") < full.index("--epochs (int in [1, 100000], default 5)")
    assert "--learning-rate (float in [0.0, 10.0], default 0.001)" in full
    assert len(text.splitlines()) < 40


def test_train_help_lists_every_option(mlrun):
    r = mlrun("train", "toy", "--help")
    assert r.code == 0
    for flag in ("--learning-rate", "--hidden", "--config", "--early-stopping-patience", "--nproc-per-node",
                 "--history / --no-history"):
        assert flag in r.out
    assert "default: 16" in r.out


def test_config_file_and_flag_precedence(mlrun, tmp_path):
    (tmp_path / "run.toml").write_text('epochs = 2\nlearning_rate = 0.05\nhidden = 4\ntag = "fromfile"\n')
    r = mlrun("train", "toy", "--config", "run.toml", "--hidden", "6")
    assert r.code == 0, r.text
    cfg = json.loads((tmp_path / "runs" / "toy" / "fromfile" / "config.json").read_text())["config"]
    assert (cfg["epochs"], cfg["learning_rate"], cfg["hidden"]) == (2, 0.05, 6)
    (tmp_path / "run.json").write_text(json.dumps({"epochs": 1, "tag": "json", "history": False}))
    r = mlrun("train", "toy", "--config", "run.json")
    assert r.code == 0, r.text
    assert not (tmp_path / "runs" / "toy" / "json" / "history.json").exists()


@pytest.mark.parametrize("content,message", [
    ("lerning_rate = 0.1\n", "error: run.toml: unknown option 'lerning_rate' (did you mean 'learning_rate'?)"),
    ("epochs = \"ten\"\n", "error: run.toml: 'epochs' must be int in [1, 100000], got 'ten'"),
    ("epochs = 2.5\n", "error: run.toml: 'epochs' must be int in [1, 100000], got 2.5"),
    ("learning_rate = -1.0\n", "error: run.toml: 'learning_rate' must be float in [0.0, 10.0], got -1.0"),
    ("optimizer = \"adagrad\"\n", "error: run.toml: 'optimizer' must be one of adam, adamw, sgd, got 'adagrad'"),
    ("history = 1\n", "error: run.toml: 'history' must be bool, got 1"),
    ("epochs = [\n", "error: config file run.toml is not valid TOML:"),
])
def test_bad_config_files(mlrun, tmp_path, content, message):
    (tmp_path / "run.toml").write_text(content)
    r = mlrun("train", "toy", "--config", "run.toml")
    assert r.code == 2
    assert r.err.startswith(message) and len(r.err.strip().splitlines()) == 1


@pytest.mark.parametrize("args,message", [
    (["--epochs", "0"], "error: '--epochs' must be int in [1, 100000], got 0"),
    (["--epochs", "x"], "error: Invalid value for '--epochs': 'x' is not a valid integer."),
    (["--val-fraction", "0.95"], "error: '--val-fraction' must be float in [0.0, 0.9], got 0.95"),
    (["--precision", "fp8"], "error: '--precision' must be one of fp32, bf16, fp16, got 'fp8'"),
    (["--lerning-rate", "1"], "error: No such option '--lerning-rate'. Did you mean '--learning-rate'?"),
    (["--device", "tpu"], "error: --device: unknown device 'tpu'"),
    (["--model", "resnet"], "error: --model: unknown model 'resnet' for task 'toy'; available: mlp, linear"),
    (["--dataset", "imagenet"], "error: --dataset: unknown dataset 'imagenet' for task 'toy'; available: npz, "
                                "synthetic"),
    (["--dataset", "nowhere/data.npz"], "error: --dataset: nowhere/data.npz does not exist"),
    (["--config", "missing.toml"], "error: cannot read config file missing.toml"),
])
def test_bad_flags(mlrun, args, message):
    r = mlrun("train", "toy", *args)
    assert r.code != 0
    assert r.err.startswith(message), r.err
    assert len(r.err.strip().splitlines()) == 1


def test_unknown_and_uninstalled_tasks():
    env = {"MLRUN_MUSIC_PLUGINS": "toy"}
    r = run_mlrun_subprocess("train", "nosuch", env=env)
    assert r.code == 2 and r.err.strip() == "error: unknown task 'nosuch'; installed tasks: toy, toy-pair"
    r = run_mlrun_subprocess("train", "kelly", env=env)
    assert r.code == 2
    assert r.err.strip() == ("error: task 'kelly' is not installed; it is provided by mlrun-music-kelly: "
                             "pip install ./plugins/kelly (from the mlrun checkout); installed tasks: toy, toy-pair")
    r = run_mlrun_subprocess("info", "phase", env=env)
    assert r.code == 2 and "pip install ./plugins/phase" in r.err


def test_debug_shows_traceback(mlrun, tmp_path):
    r = mlrun("evaluate", "toy", "missing.pt")
    assert r.code == 2 and r.err.strip() == "error: checkpoint missing.pt does not exist"
    r = mlrun("--debug", "evaluate", "toy", "missing.pt")
    assert "Traceback" in r.err and r.err.strip().endswith("error: checkpoint missing.pt does not exist")


def test_python_api_mirrors_the_cli(tmp_path):
    from mlrun_music import api

    assert "toy" in [t["name"] for t in api.list_tasks()]
    config = api.make_config("toy", epochs=2, output_dir=str(tmp_path), tag="api")
    summary = api.train("toy", config)
    assert summary["epochs"] == 2 and summary["run_dir"] == str(tmp_path / "toy" / "api")
    result = api.evaluate("toy", summary["final"], output=tmp_path / "eval")
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["metrics"] == result["metrics"]
    exported = api.export("toy", summary["final"], "onnx", tmp_path / "m.onnx")
    assert exported["max_abs_diff"] < 1e-4
    loaded = api.load_model("toy", summary["final"])
    assert loaded.config.epochs == 2 and loaded.info == {"inputs": 8, "outputs": 2}


def test_dataset_given_as_a_path(mlrun, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=x[:, :1] * 2)
    r = mlrun("train", "toy", "--dataset", tmp_path / "data.npz", "--epochs", "1")
    assert r.code == 0, r.text
    assert json.loads((tmp_path / "runs" / "toy" / "default" / "config.json").read_text())["config"]["dataset"] \
        == str(tmp_path / "data.npz")
    (tmp_path / "bad.npz").write_text("nope")
    r = mlrun("train", "toy", "--dataset", tmp_path / "bad.npz", "--tag", "bad")
    assert r.code == 2 and r.err.startswith(f"error: --dataset {tmp_path / 'bad.npz'}: not an .npz file")


@attrs.define(kw_only=True)
class _EvalOptions:
    mode: str = option("fast", "How to evaluate.", choices=("fast", "full"))
    repeats: int = option(1, "Repeats.", min=1, max=10)


class _EvalTask:
    """A plugin adding the toy task again under another name, with evaluation options."""

    @hookimpl
    def register_tasks(self, register):
        from mlrun_music_toy.plugin import TOY

        register(attrs.evolve(TOY, name="toy-eval", evaluate_config=_EvalOptions))


@pytest.fixture
def eval_task(monkeypatch):
    monkeypatch.setattr(plugins, "_CACHE", plugins.load_registry(extra_plugins=[("eval-task", _EvalTask())]))
    yield
    plugins.get_registry(refresh=True)


@pytest.mark.parametrize("args,message", [
    (["--mode", "slow"], "error: '--mode' must be one of fast, full, got 'slow'"),
    (["--repeats", "11"], "error: '--repeats' must be int in [1, 10], got 11"),
])
def test_bad_evaluation_options_name_the_flag(mlrun, eval_task, args, message):
    # Checked before the model is loaded: no "using the shipped model" line, one error line naming the flag.
    r = mlrun("evaluate", "toy-eval", "missing.pt", *args)
    assert r.code != 0 and r.err.strip() == message, r.err
