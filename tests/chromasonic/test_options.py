"""Options through `mlrun train chromasonic`: an option the run does not use is refused before anything is written,
each model of a run may get its own options (--model.NAME.OPTION, [per_model.NAME]), and the Transformer's heads
are checked against its own width."""

from __future__ import annotations

import pytest
import torch
from tests.chromasonic.conftest import RUN, TINY

#: A run that trains in seconds: 30 random walks of 20 notes, one epoch.
SMALL = ["--dataset", "synthetic", "--num-sequences", "30", "--synthetic-length", "20", "--epochs", "1"]

UNUSED = [
    (["--dataset", "synthetic", "--model", "lstm", "--markov-order", "3"],
     "--markov-order is used only by the model markov; this run trains lstm"),
    (["--dataset", "synthetic", "--model", "transformer", "--embedding-size", "8"],
     "--embedding-size is used only by the model lstm; this run trains transformer"),
    (["--dataset", "synthetic", "--model", "lstm,markov", "--num-heads", "2"],
     "--num-heads is used only by the model transformer; this run trains lstm, markov"),
    (["--dataset", "synthetic", "--model", "lstm", "--transformer-positions", "learned"],
     "--transformer-positions is used only by the model transformer"),
    (["--dataset", "synthetic", "--model", "markov", "--data-dir", "{tmp}"],
     "--data-dir is used only with --dataset folder or nottingham; this run trains on 'synthetic'"),
    (["--dataset", "folk", "--model", "markov", "--track", "2"],
     "--track is used only with --dataset folder; this run trains on 'folk'"),
    (["--dataset", "synthetic", "--model", "markov", "--folk-collections", "oneills1850"],
     "--folk-collections is used only with --dataset folk; this run trains on 'synthetic'"),
    (["--dataset", "synthetic", "--model", "markov", "--parse-workers", "1"],
     "--parse-workers is used only with --dataset folk or nottingham or folder; this run trains on 'synthetic'"),
    (["--dataset", "nottingham", "--data-dir", "{tmp}", "--model", "markov", "--num-sequences", "50"],
     "--num-sequences is used only with --dataset synthetic; this run trains on 'nottingham'"),
    (["--dataset", "folk", "--model", "markov", "--synthetic-length", "50"],
     "--synthetic-length is used only with --dataset synthetic; this run trains on 'folk'"),
    (["--dataset", "nottingham", "--data-dir", "{tmp}", "--model", "markov", "--nottingham-url", "http://x/y.zip"],
     "--nottingham-url is unused when --data-dir is given"),
]


@pytest.mark.parametrize("args,why", UNUSED, ids=[case[0][-2] for case in UNUSED])
def test_an_option_the_run_does_not_use_is_refused(mlrun, tmp_path, args, why):
    out = tmp_path / "out"
    r = mlrun("train", "chromasonic", *[a.replace("{tmp}", str(tmp_path)) for a in args], *RUN,
              "--output-dir", out)
    assert r.code == 2, r.text
    lines = [line for line in r.err.strip().splitlines() if line.startswith("error:")]
    assert lines == [f"error: {why}"] or (len(lines) == 1 and why in lines[0]), r.err
    assert "Traceback" not in r.text
    assert not out.exists() or not any(out.rglob("*"))


def test_model_options_are_fine_when_that_model_trains(mlrun, tmp_path):
    r = mlrun("train", "chromasonic", *SMALL, "--model", "all", "--markov-order", "3", *TINY,
              "--output-dir", tmp_path / "out")
    assert r.code == 0, r.text
    ckpt = torch.load(tmp_path / "out/chromasonic/default/checkpoints/markov_best.pt", weights_only=False)
    assert ckpt["config"]["markov_order"] == 3 and ckpt["model"]["keys_3"].numel() > 0


def test_two_models_with_their_own_options(mlrun, tmp_path):
    """--model.lstm.hidden-size on the command line and a [per_model.transformer] table in the config file: each
    checkpoint holds the options its model trained with, the other model keeps the run's. A flag for the whole run
    (TINY's --num-heads 2) wins over the file's per-model entry."""
    config = tmp_path / "run.toml"
    config.write_text("[per_model.transformer]\nlearning_rate = 0.002\nnum_heads = 4\n")
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *TINY, "--config", config,
              "--model.lstm.hidden-size", "24", "--output-dir", tmp_path / "out", "--tag", "two")
    assert r.code == 0, r.text
    folder = tmp_path / "out/chromasonic/two/checkpoints"
    lstm = torch.load(folder / "lstm_best.pt", weights_only=False)
    transformer = torch.load(folder / "transformer_best.pt", weights_only=False)
    assert lstm["config"]["hidden_size"] == 24 and transformer["config"]["hidden_size"] == 16
    assert lstm["config"]["learning_rate"] == 1e-3 and transformer["config"]["learning_rate"] == 0.002
    assert lstm["config"]["num_heads"] == 2 and transformer["config"]["num_heads"] == 2
    assert lstm["model"]["head.weight"].shape[1] == 24  # the LSTM really is 24 wide
    assert transformer["model"]["head.weight"].shape[1] == 16
    assert "lstm: own options hidden_size=24" in r.err


def test_a_model_option_for_a_model_the_run_does_not_train(mlrun, tmp_path):
    out = tmp_path / "out"
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *TINY, "--model.markov.markov-order", "3",
              "--output-dir", out)
    assert r.code == 2 and "--model.markov.markov-order is unused: this run trains lstm, transformer" in r.err
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *TINY, "--model.lstm.num-heads", "4",
              "--output-dir", out)
    assert r.code == 2 and "--model.lstm.num-heads is unused: --num-heads is an option of transformer only" in r.err
    assert not out.exists()


def test_transformer_heads_are_checked_against_its_own_width(mlrun, tmp_path):
    out = tmp_path / "out"
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *RUN, "--hidden-size", "100", "--output-dir", out)
    assert r.code == 2 and r.err.strip().splitlines()[-1] == "error: --num-heads 8 must divide --hidden-size 100"
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *RUN, "--model.transformer.num-heads", "3",
              "--output-dir", out)
    assert r.code == 2 and "error: transformer: --num-heads 3 must divide --hidden-size 128" in r.err
    assert not out.exists()
    # a width that suits the LSTM only is fine when the Transformer does not train, or has its own
    r = mlrun("train", "chromasonic", *SMALL, "--model", "lstm", *RUN, "--hidden-size", "10", "--num-layers", "1",
              "--output-dir", out, "--tag", "lstm")
    assert r.code == 0, r.text
    r = mlrun("train", "chromasonic", *SMALL, "--model", "both", *TINY, "--model.lstm.hidden-size", "10",
              "--output-dir", out, "--tag", "both")
    assert r.code == 0, r.text


def test_a_neural_size_with_only_the_markov_model_is_refused(mlrun, tmp_path):
    r = mlrun("train", "chromasonic", "--model", "markov", "--dataset", "synthetic", "--hidden-size", "64")
    assert r.code == 2 and r.err.strip() == \
        "error: --hidden-size is unused by the model markov; this run trains no other"
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", [["evaluate", "chromasonic"], ["chromasonic", "compare", "run"]])
def test_a_bad_evaluation_option_names_the_flag(mlrun, command):
    r = mlrun(*command, "--rhythm", "bogus")
    assert r.code == 2 and r.err.strip() == "error: '--rhythm' must be one of metre, free, got 'bogus'", r.err
