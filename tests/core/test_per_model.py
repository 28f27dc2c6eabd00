"""Runs that train several models: each model's own options (--model.NAME.OPTION, [per_model.NAME] tables), their
precedence, and the one-line errors for per-model options a run cannot use (the toy-pair task of the toy plugin)."""

from __future__ import annotations

import json

from mlrun_music.training.checkpoint import load_checkpoint


def trained(tmp_path, tag="default"):
    """{model: (epochs run, learning rate, hidden)} read back from the run's checkpoints and histories."""
    run = tmp_path / "runs" / "toy-pair" / tag
    out = {}
    for name in ("mlp", "linear"):
        latest = run / "checkpoints" / f"{name}_latest.pt"
        if latest.is_file():
            config = load_checkpoint(latest)["config"]
            history = json.loads((run / f"{name}_history.json").read_text())
            rows = history["epochs"] if isinstance(history, dict) else history
            out[name] = (len(rows), config["learning_rate"], config["hidden"])
    return out


def test_command_line_options_of_one_model(mlrun, tmp_path):
    r = mlrun("train", "toy-pair", "--epochs", "1", "--model.mlp.epochs", "2", "--model.mlp.hidden", "8",
              "--model.linear.learning-rate", "0.01", "--no-plots")
    assert r.code == 0, r.text
    assert trained(tmp_path) == {"mlp": (2, 0.001, 8), "linear": (1, 0.01, 16)}
    assert "mlp: own options epochs=2, hidden=8" in r.text
    assert json.loads((tmp_path / "runs" / "toy-pair" / "default" / "config.json").read_text())["config"][
        "per_model"] == {"mlp": {"epochs": 2, "hidden": 8}, "linear": {"learning_rate": 0.01}}


def test_config_file_tables_and_their_precedence(mlrun, tmp_path):
    (tmp_path / "run.toml").write_text("epochs = 3\n[per_model.mlp]\nepochs = 2\nlearning_rate = 0.005\n"
                                       "[per_model.linear]\nepochs = 1\n")
    r = mlrun("train", "toy-pair", "--config", tmp_path / "run.toml", "--no-plots")
    assert r.code == 0, r.text
    assert trained(tmp_path) == {"mlp": (2, 0.005, 16), "linear": (1, 0.001, 16)}
    # A flag for the whole run beats a model's file setting; a flag for one model beats everything.
    r = mlrun("train", "toy-pair", "--config", tmp_path / "run.toml", "--epochs", "1", "--model.linear.epochs", "2",
              "--tag", "flags", "--no-plots")
    assert r.code == 0, r.text
    assert trained(tmp_path, "flags") == {"mlp": (1, 0.005, 16), "linear": (2, 0.001, 16)}


def test_per_model_options_the_run_cannot_use(mlrun, tmp_path):
    cases = [
        (["--model", "linear", "--model.mlp.epochs", "2"], "--model.mlp.epochs is unused: this run trains linear"),
        (["--model.linear.hidden", "8"], "--model.linear.hidden is unused: --hidden is an option of mlp only"),
        (["--model.mlp.epochs", "0"], "--model.mlp.epochs: 'epochs' must be int in [1, 100000], got 0"),
    ]
    for args, message in cases:
        r = mlrun("train", "toy-pair", "--epochs", "1", *args)
        assert r.code == 2 and r.err.strip() == f"error: {message}", (args, r.text)
    for table, message in [
        ("[per_model.mlpp]\nepochs = 2\n", "--model.mlpp.epochs: unknown model 'mlpp' (did you mean 'mlp'?)"),
        ("[per_model.mlp]\ntag = 'x'\n", "--model.mlp.tag: --tag is set for the whole run, not per model"),
        ("[per_model.mlp]\nepoch = 2\n", "--model.mlp.epoch: unknown option (did you mean 'epochs'?)"),
        ("per_model = 3\n", "'per_model' must be a table {model: {option: value}}, got 3"),
    ]:
        (tmp_path / "bad.toml").write_text(table)
        r = mlrun("train", "toy-pair", "--config", tmp_path / "bad.toml")
        assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1, (table, r.text)
    # A task that trains one model per run has no per-model options.
    (tmp_path / "one.toml").write_text("[per_model.mlp]\nepochs = 2\n")
    r = mlrun("train", "toy", "--config", tmp_path / "one.toml")
    assert r.code == 2 and "task 'toy' trains one model per run" in r.err
    r = mlrun("train", "toy", "--model.mlp.epochs", "2")
    assert r.code == 2 and "--model.mlp.epochs" in r.err
    assert not (tmp_path / "runs").exists()


def test_info_names_the_per_model_pattern(mlrun):
    r = mlrun("info", "toy-pair")
    assert r.code == 0 and "--model.NAME.OPTION VALUE" in r.out
    assert "--model.NAME.OPTION" not in mlrun("info", "toy").out
