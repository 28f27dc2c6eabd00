"""Models, training outputs, evaluation, comparison, generation and export, through the CLI."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import mido
import pytest
import torch
from tests.chromasonic.conftest import TINY, random_tune

from mlrun_music.api import load_model
from mlrun_music.training import RunContext, fit
from mlrun_music_chromasonic.config import ChromasonicConfig
from mlrun_music_chromasonic.data.splits import splits_from_melodies
from mlrun_music_chromasonic.models.markov import MarkovModel
from mlrun_music_chromasonic.models.neural import build_transformer, loss

PNG = b"\x89PNG\r\n\x1a\n"


def test_training_writes_prefixed_outputs_per_model(trained_run):
    ck = trained_run / "checkpoints"
    for name in ("lstm", "transformer"):
        for f in ("best", "final", "epoch_1", "epoch_2"):
            assert (ck / f"{name}_{f}.pt").is_file(), f"{name}_{f}.pt"
        history = json.loads((trained_run / f"{name}_history.json").read_text())
        assert [r["epoch"] for r in history] == [1, 2]
        assert {"train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr"} <= set(history[0])
        assert (trained_run / f"{name}_curves.png").read_bytes()[:8] == PNG
    assert (ck / "markov_best.pt").is_file() and (ck / "markov_final.pt").is_file()
    markov_hist = json.loads((trained_run / "markov_history.json").read_text())
    assert len(markov_hist) == 1 and 0 < markov_hist[0]["val_accuracy"] <= 1
    state = torch.load(ck / "markov_best.pt", weights_only=True)
    assert {"task", "plugin", "model_name", "config", "model_info", "model"} <= set(state)
    assert state["model_name"] == "markov" and state["model_info"]["vocab"][:2] == ["<pad>", "<unk>"]


def test_markov_counts_smoothing_and_reload(tmp_path):
    m = MarkovModel(vocab_size=6, order=2).fit([[2, 3, 4, 2, 3, 5, 2, 3, 4]])
    lp = m(torch.tensor([[2, 3]]))
    probs = lp.exp()[0]
    assert torch.allclose(probs.sum(-1), torch.ones(2)) and probs[:, 0].max() == 0  # <pad> never predicted
    # after (2, 3): 4 twice, 5 once -> 4 is likeliest, and the unseen 2 still has a probability
    assert probs[1].argmax() == 4 and probs[1, 4] > probs[1, 5] > probs[1, 2] > 0
    unseen = m(torch.tensor([[5, 5]])).exp()[0, 1]
    assert unseen.min() >= 0 and float(unseen[1:].min()) > 0 and torch.isclose(unseen.sum(), torch.tensor(1.0))
    fresh = MarkovModel(vocab_size=6, order=2)
    fresh.load_state_dict(m.state_dict())
    assert torch.equal(fresh(torch.tensor([[2, 3, 4]])), m(torch.tensor([[2, 3, 4]])))
    additive = MarkovModel(6, 2, "additive", 0.5).fit([[2, 3, 4, 2, 3, 5]])
    assert torch.isclose(additive(torch.tensor([[2, 3]])).exp()[0, 1].sum(), torch.tensor(1.0))


@pytest.mark.parametrize("positions", ["learned", "alibi"])
def test_transformer_is_causal(positions):
    cfg = ChromasonicConfig(hidden_size=16, num_heads=2, feedforward_size=32, num_layers=2, dropout=0.0,
                            transformer_positions=positions)
    model = build_transformer(cfg, {"vocab": ["<pad>", "<unk>"] + [str(i) for i in range(10)],
                                    "sequence_length": 12}).eval()
    a = torch.tensor([[2, 3, 4, 5, 6, 7, 8, 9]])
    b = a.clone()
    b[0, 5:] = torch.tensor([11, 11, 11])
    with torch.no_grad():
        la, lb = model(a), model(b)
    assert torch.allclose(la[0, :5], lb[0, :5], atol=1e-6)  # the future does not leak into the past
    assert not torch.allclose(la[0, 5:], lb[0, 5:])
    # token vectors start at unit scale (after the sqrt(width) factor), not sqrt(width) times larger
    scale = float((model.embed.weight[2:].detach() * 4.0).pow(2).mean().sqrt())
    assert 0.5 < scale < 2.0
    if positions == "alibi":  # no position table: distances only, so a longer window than trained still works
        longer = torch.randint(2, 12, (1, 20))
        with torch.no_grad():
            assert model(longer).shape == (1, 20, 12) and not hasattr(model, "pos")


def test_lstm_learns_scales_through_fit(tmp_path):
    scales = []
    for start in range(55, 75):
        up = [(start + s, 0.5) for s in (0, 2, 4, 5, 7, 9, 11, 12)]
        scales.append({"title": f"scale {start}", "notes": up + up[::-1][1:] + [(None, 1.0)]})
    cfg = ChromasonicConfig(normalize_key=False, min_melody_length=8, sequence_length=16, min_token_count=1,
                            hidden_size=32, embedding_size=16, num_layers=1, epochs=25, batch_size=8,
                            learning_rate=0.01, early_stopping_patience=0, lr_scheduler="none", plots=False,
                            checkpoint_every=0, num_threads=1)
    data = splits_from_melodies(scales, cfg, source="scales")
    from mlrun_music_chromasonic.models.neural import build_lstm

    torch.manual_seed(0)
    ctx = RunContext(task="chromasonic", plugin="test", plugin_version="0", run_dir=tmp_path,
                     device=torch.device("cpu"), log=logging.getLogger("test"))
    result = fit(config=cfg, model=build_lstm(cfg, data.info), data=data, loss_fn=loss, ctx=ctx, model_name="lstm",
                 model_info=data.info)
    first, last = result.history[0], result.history[-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert last["train_accuracy"] > 0.6  # the next scale step is predictable once the start is known


def test_evaluate_reports_comparable_figures(mlrun, trained_run, tmp_path):
    results = {}
    for name in ("lstm", "markov"):
        r = mlrun("evaluate", "chromasonic", trained_run / "checkpoints" / f"{name}_best.pt", "--num-generated",
                  "6", "--generate-length", "16", "--output", tmp_path / name)
        assert r.code == 0, r.text
        results[name] = json.loads((tmp_path / name / "metrics.json").read_text())["metrics"]
        assert (tmp_path / name / "examples" / f"{name}_example_1.mid").is_file()
    for m in results.values():
        for key in ("accuracy", "perplexity_score", "diversity", "coherence", "musicality", "overall"):
            assert 0.0 <= m[key] <= 1.0, key
        assert 1.0 < m["perplexity"] < m["vocab_size"]  # better than a uniform guess
        assert m["generation"]["melodies"] == 6 and 0 <= m["reference"]["coherence"] <= 1
    assert results["lstm"]["scored_events"] == results["markov"]["scored_events"]  # same held-out positions


def test_evaluate_on_a_data_folder(mlrun, trained_run, tmp_path):
    import random

    rng = random.Random(4)
    folder = tmp_path / "abc"
    folder.mkdir()
    (folder / "tunes.abc").write_text("\n".join(random_tune(i, f"t{i}", 30, rng) for i in range(1, 4)))
    r = mlrun("evaluate", "chromasonic", trained_run / "checkpoints" / "markov_best.pt", "--data", folder,
              "--num-generated", "3", "--generate-length", "8", "--output", tmp_path / "ev")
    assert r.code == 0, r.text
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    assert metrics["held_out_tunes"] == 3 and metrics["split"] == "data"


def test_compare_writes_table_and_charts(mlrun, trained_run, tmp_path):
    out = tmp_path / "cmp"
    r = mlrun("chromasonic", "compare", trained_run, "--num-generated", "5", "--generate-length", "16",
              "--output", out)
    assert r.code == 0, r.text
    table = json.loads((out / "model_comparison.json").read_text())
    assert [m["model"] for m in table["models"]] == ["lstm", "transformer", "markov"] and table["comparable"]
    md = (out / "model_comparison.md").read_text()
    assert "| lstm |" in md and "| markov |" in md and "| real held-out tunes |" in md
    for name in ("lstm", "transformer"):
        assert re.search(rf"- {name} against markov: perplexity \d+\.\d\d vs \d+\.\d\d, (\d+\.\d % (lower|higher)|the "
                         rf"same); accuracy \d\.\d{{3}} vs \d\.\d{{3}}, (\d\.\d{{3}} (higher|lower) \(absolute\)|the same)",
                         md), md
    assert re.search(r"- transformer against lstm: perplexity \d+\.\d\d vs \d+\.\d\d, ", md), md
    assert "+" not in md.split("| real held-out tunes |")[1]
    for png in ("model_comparison.png", "model_radar.png"):
        assert (out / png).read_bytes()[:8] == PNG


def test_compare_wording_states_the_direction():
    from mlrun_music_chromasonic.evaluate.compare import versus

    base = {"model": "markov", "perplexity": 10.84, "accuracy": 0.332}
    better = versus({"perplexity": 8.02, "accuracy": 0.387}, base)
    assert better == "perplexity 8.02 vs 10.84, 26.0 % lower; accuracy 0.387 vs 0.332, 0.055 higher (absolute)"
    worse = versus({"perplexity": 14.61, "accuracy": 0.300}, base)
    assert worse == "perplexity 14.61 vs 10.84, 34.8 % higher; accuracy 0.300 vs 0.332, 0.032 lower (absolute)"
    same = versus(dict(base), base)
    assert same == "perplexity 10.84 vs 10.84, the same; accuracy 0.332 vs 0.332, the same"


def test_generate_writes_playable_midi_and_abc(mlrun, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "transformer_best.pt"
    loaded = load_model("chromasonic", ckpt)
    known = [t for t in loaded.info["vocab"][2:] if not t.startswith("r_")][:2]
    seed = " ".join(f"{t.split('_')[0]}:{t.split('_')[1]}" for t in known)
    r = mlrun("chromasonic", "generate", ckpt, "--seed-notes", seed, "--length", "20", "--temperature", "0.8",
              "--out", tmp_path / "m.mid", "--abc", tmp_path / "m.abc")
    assert r.code == 0, r.text
    mid = mido.MidiFile(tmp_path / "m.mid")
    ons = [m for m in mid.tracks[0] if m.type == "note_on"]
    assert len(ons) >= 2 and mid.length > 0
    assert ons[0].note == int(known[0].split("_")[0])
    assert (tmp_path / "m.abc").read_text().startswith("X:1\nT:")
    # seeding from a tune file
    (tmp_path / "t.abc").write_text(random_tune(1, "opening", 20, __import__("random").Random(1)))
    r = mlrun("chromasonic", "generate", trained_run / "checkpoints" / "markov_best.pt", "--seed-from",
              tmp_path / "t.abc", "--seed-length", "4", "--length", "10", "--out", tmp_path / "s.mid")
    assert r.code == 0, r.text
    # the opening counts the seed's events the model knows; the others are said on stderr
    assert "13 notes (3 opening + 10 generated)" in r.out and "1 opening events are outside" in r.err
    assert "no seed given" not in r.err
    # no seed: a held-out tune of the run's dataset opens, and the command says so first (a first use parses)
    r = mlrun("chromasonic", "generate", trained_run / "checkpoints" / "markov_best.pt", "--seed-length", "4",
              "--length", "10", "--out", tmp_path / "n.mid")
    assert r.code == 0, r.text
    assert "no seed given: opening with a held-out tune of the model's dataset" in r.err
    assert "14 notes (4 opening + 10 generated)" in r.out


def test_generate_bad_seeds(mlrun, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "lstm_best.pt"
    r = mlrun("chromasonic", "generate", ckpt, "--seed-notes", "C9:1", "--out", tmp_path / "x.mid")
    assert r.code == 2 and "'C9:1' is not in the model's vocabulary" in r.err
    r = mlrun("chromasonic", "generate", ckpt, "--seed-notes", "H4:1", "--out", tmp_path / "x.mid")
    assert r.code == 2 and "cannot read 'H4:1'" in r.err
    r = mlrun("chromasonic", "generate", ckpt, "--seed-notes", "C4", "--seed-from", "x", "--out", tmp_path / "x.mid")
    assert r.code == 2 and "not both" in r.err
    assert not (tmp_path / "x.mid").exists()


def test_generate_never_writes_over_its_inputs(mlrun, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "markov_best.pt"
    tune = tmp_path / "tune.abc"
    tune.write_text(random_tune(1, "opening", 20, __import__("random").Random(2)))
    before = {p: p.read_bytes() for p in (ckpt, tune)}
    r = mlrun("chromasonic", "generate", ckpt, "--seed-from", tune, "--abc", tune, "--out", tmp_path / "m.mid")
    assert r.code == 2 and r.err.strip().splitlines()[-1] == f"error: --abc {tune} is the input {tune}; name another file"
    r = mlrun("chromasonic", "generate", ckpt, "--seed-from", tune, "--out", ckpt)
    assert r.code == 2 and f"--out {ckpt} is the input {ckpt}" in r.err
    r = mlrun("chromasonic", "generate", ckpt, "--seed-from", tune, "--out", tmp_path / "m.mid", "--abc",
              tmp_path / "m.mid")
    assert r.code == 2 and "--abc" in r.err and "is the input" in r.err
    assert {p: p.read_bytes() for p in (ckpt, tune)} == before and not (tmp_path / "m.mid").exists()


def test_onnx_export_of_neural_models_only(mlrun, trained_run, tmp_path):
    for name in ("lstm", "transformer"):
        r = mlrun("export", "chromasonic", trained_run / "checkpoints" / f"{name}_best.pt", "--output",
                  tmp_path / f"{name}.onnx")
        assert r.code == 0, r.text
        check = json.loads((tmp_path / f"{name}.onnx.check.json").read_text())
        assert check["max_abs_diff"] < 1e-3 and check["inputs"]["tokens"] == ["batch", "time"]
    r = mlrun("export", "chromasonic", trained_run / "checkpoints" / "markov_best.pt", "--output",
              tmp_path / "markov.onnx")
    assert r.code == 2 and "count table" in r.err and not (tmp_path / "markov.onnx").exists()


@pytest.mark.parametrize("name", ["wavenet", "lstm,rnn"])
def test_unknown_model_names(mlrun, name):
    r = mlrun("train", "chromasonic", "--dataset", "synthetic", "--model", name, *TINY)
    assert r.code == 2 and "--model: unknown model" in r.err and "both, all" in r.err


def test_patience_alias_and_training_defaults(mlrun):
    cfg = ChromasonicConfig()
    # the original project's training defaults; periodic checkpoints only when asked (the core's default)
    assert (cfg.epochs, cfg.batch_size, cfg.learning_rate, cfg.early_stopping_patience, cfg.lr_scheduler,
            cfg.checkpoint_every, cfg.grad_clip) == (100, 32, 1e-3, 15, "reduce_on_plateau", 0, 1.0)
    r = mlrun("train", "chromasonic", "--help")
    assert "--patience" in r.out and "--lr-scheduler" in r.out and "--min-melody-length" in r.out


def test_entry_point_and_commands_are_light(mlrun_subprocess):
    import subprocess
    import sys

    code = ("import sys, mlrun_music_chromasonic.plugin, mlrun_music_chromasonic.commands; "
            "print([m for m in ('torch','numpy','scipy','matplotlib','music21','mido') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    r = mlrun_subprocess("list")
    assert r.code == 0 and "chromasonic" in r.out and "folk [default]" in r.out
