"""Shipped models, model cards and recipes, driven through the CLI on the toy task (which ships one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from mlrun_music import plugins
from mlrun_music.hookspecs import hookimpl
from mlrun_music.errors import UserError
from mlrun_music.pretrained import PretrainedSpec, locate, resolve_checkpoint

TOY_MODEL = locate("mlrun_music_toy:pretrained/mlp.pt")
TOY_CARD = TOY_MODEL.with_suffix(".card.json")
TOY_RECIPE = locate("mlrun_music_toy:recipes/mlp.toml")


def test_list_and_info_show_the_card_first(mlrun):
    r = mlrun("list")
    assert "    ready model: mlp (test MSE " in r.out
    info = mlrun("info", "toy").out
    card = json.loads(TOY_CARD.read_text())
    assert info.index("shipped models:") < info.index("models:\n") < info.index("options:")
    assert f"model mlp, {card['parameters']:,} parameters" in info
    assert "data: toy synthetic (synthetic)" in info and "recipe: mlrun reproduce toy mlp" in info
    assert "data: toy synthetic (synthetic; 256 training samples" in mlrun("info", "toy", "--all").out
    assert f"test MSE on 64 held-out samples: {card['figures'][0]['value']:.4g}   baseline always-zero" in info
    entry = json.loads(mlrun("list", "--json").out)
    toy = next(t for t in entry["tasks"] if t["name"] == "toy")
    assert toy["shipped"][0]["card"]["sha256"] == card["sha256"]


def test_evaluate_and_export_default_to_the_shipped_model(mlrun, tmp_path):
    r = mlrun("evaluate", "toy")
    assert r.code == 0, r.text
    assert r.err.count("\n") == 1 and "using the shipped model 'mlp' of toy" in r.err
    metrics = json.loads((tmp_path / "runs/toy/shipped-mlp/evaluation/metrics.json").read_text())["metrics"]
    # It really learned the map: far below predicting zeros, and the card states what this run measures.
    assert metrics["mse"] < metrics["baseline_zero_mse"] / 20
    assert metrics["mse"] == pytest.approx(json.loads(TOY_CARD.read_text())["figures"][0]["value"], abs=1e-4)

    r = mlrun("export", "toy", "--format", "onnx", "--output", "toy.onnx")
    assert r.code == 0, r.text
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(tmp_path / "toy.onnx")).metadata_props}
    assert json.loads(meta["mlrun_music.card"]) == json.loads(TOY_CARD.read_text())

    r = mlrun("export", "toy", "--format", "checkpoint", "--output", "copy.pt")
    assert r.code == 0, r.text
    state = torch.load(tmp_path / "copy.pt", weights_only=True)
    assert state["card"]["name"] == "mlp" and "optimizer" not in state
    again = mlrun("evaluate", "toy", "copy.pt", "--output", "ev2")
    assert again.code == 0 and "shipped" not in again.err
    assert json.loads((tmp_path / "ev2/metrics.json").read_text())["metrics"]["mse"] == metrics["mse"]


def test_a_named_checkpoint_overrides_and_unknown_shipped_names_are_errors(mlrun):
    r = mlrun("evaluate", "toy", "--shipped", "nope")
    assert r.code != 0 and r.err.strip() == "error: --shipped: task 'toy' ships no model 'nope'; shipped: mlp"
    r = mlrun("evaluate", "toy", "missing.pt")
    assert r.code != 0 and r.err.strip() == "error: checkpoint missing.pt does not exist"


def test_a_checkpoint_and_a_shipped_model_together_are_refused_by_the_callers_option_name(mlrun):
    r = mlrun("evaluate", "toy", str(TOY_MODEL), "--shipped", "mlp")
    assert r.code != 0 and r.err.strip() == "error: give a checkpoint or --shipped mlp, not both"
    # A plugin command whose option is called otherwise gets its own name in both messages.
    with pytest.raises(UserError, match=r"^give a checkpoint or --model mlp, not both$"):
        resolve_checkpoint("toy", TOY_MODEL, "mlp", option="--model")
    with pytest.raises(UserError, match=r"^--model: task 'toy' ships no model 'nope'; shipped: mlp$"):
        resolve_checkpoint("toy", None, "nope", option="--model")
    assert resolve_checkpoint("toy", None, "mlp", quiet=True, option="--model") == TOY_MODEL


def test_init_from_names_a_shipped_model(mlrun, tmp_path):
    r = mlrun("train", "toy", "--init-from", "shipped:mlp", "--epochs", "1", "--hidden", "16", "--samples", "64",
              "--output-dir", "runs", "--tag", "ft", "--no-plots")
    assert r.code == 0, r.text
    assert "model weights from" in r.text and str(TOY_MODEL) in r.text
    r = mlrun("train", "toy", "--epochs", "1", "--hidden", "16", "--samples", "64", "--output-dir", "runs",
              "--tag", "scratch", "--no-plots")
    assert r.code == 0, r.text
    # The shipped weights already know the map: after one epoch they are far ahead of a fresh start.
    tuned, scratch = (json.loads((tmp_path / f"runs/toy/{tag}/history.json").read_text())[0]["val_loss"]
                      for tag in ("ft", "scratch"))
    assert tuned < scratch / 20
    r = mlrun("train", "toy", "--init-from", "shipped:nope", "--epochs", "1")
    assert r.code != 0 and r.err.strip() == "error: --init-from shipped:nope: task 'toy' ships no model 'nope'; shipped: mlp"


class _Extra:
    """A plugin that ships further toy models from files a test writes."""

    def __init__(self, specs):
        self.specs = specs

    @hookimpl
    def register_pretrained(self, register):
        for spec in self.specs:
            register("toy", spec)


@pytest.fixture
def extra_shipped(monkeypatch):
    def install(*specs):
        reg = plugins.load_registry(extra_plugins=[("extra", _Extra(specs))])
        monkeypatch.setattr(plugins, "_CACHE", reg)
    yield install
    plugins.get_registry(refresh=True)


def _card(**changes):
    card = json.loads(TOY_CARD.read_text())
    card.update(changes)
    return card


@pytest.mark.parametrize("change,message", [
    ({"parameters": 5}, "parameters is 5 on the card but 178 in the checkpoint"),
    ({"model": "linear"}, "model is 'linear' on the card but 'mlp' in the checkpoint"),
    ({"sha256": "0" * 64}, "sha256 is '0000"),
])
def test_a_card_that_does_not_match_its_checkpoint_is_refused(mlrun, tmp_path, extra_shipped, change, message):
    shutil.copy(TOY_MODEL, tmp_path / "other.pt")
    (tmp_path / "other.card.json").write_text(json.dumps(_card(**change)))
    extra_shipped(PretrainedSpec("other", str(tmp_path / "other.pt")))
    r = mlrun("evaluate", "toy", "--shipped", "other")
    assert r.code != 0 and r.err.count("\n") == 2  # the announcement, then one error line
    assert f"does not match {tmp_path / 'other.pt'}: {message}" in r.err
    assert not (tmp_path / "runs").exists()


def test_missing_files_and_fields_are_one_line_errors(mlrun, tmp_path, extra_shipped):
    shutil.copy(TOY_MODEL, tmp_path / "nocard.pt")
    shutil.copy(TOY_MODEL, tmp_path / "partial.pt")
    card = _card()
    del card["data"]["licence"]
    (tmp_path / "partial.card.json").write_text(json.dumps(card))
    extra_shipped(PretrainedSpec("gone", str(tmp_path / "gone.pt")), PretrainedSpec("nocard", str(tmp_path / "nocard.pt")),
                  PretrainedSpec("partial", str(tmp_path / "partial.pt")))
    r = mlrun("export", "toy", "--shipped", "gone", "--format", "checkpoint", "--output", "x.pt")
    assert r.code != 0 and f"the shipped model 'gone' of task 'toy' is missing: {tmp_path / 'gone.pt'}" in r.err
    r = mlrun("evaluate", "toy", "--shipped", "nocard")
    assert r.code != 0 and f"error: model card {tmp_path / 'nocard.card.json'} does not exist" in r.err
    r = mlrun("evaluate", "toy", "--shipped", "partial")
    assert r.code != 0 and "partial.card.json: data: missing field(s) licence" in r.err
    listing = mlrun("list").out
    assert "ready model: mlp (test MSE" in listing  # the default is still usable; info says what is wrong
    assert "partial: card unusable" in mlrun("info", "toy").out
    assert not (tmp_path / "x.pt").exists()


def _recipe(tmp_path: Path, kill_at_step: int | None = None) -> Path:
    """A small two-stage recipe for the toy task (stage two starts from stage one)."""
    text = TOY_RECIPE.read_text().replace("epochs = 20", "epochs = 4").replace("epochs = 10", "epochs = 3")
    if kill_at_step is not None:
        text = text.replace("learning_rate = 0.003 }", f"learning_rate = 0.003, kill_at_step = {kill_at_step} }}")
    text = text.replace('baseline_metric = "baseline_zero_mse" }]', 'baseline_metric = "baseline_zero_mse" }, '
                        '{ name = "test MSE of the evaluate stage", data = "the same", metric = "evaluate.mse", '
                        'baseline = "always-zero predictor", baseline_metric = "evaluate.baseline_zero_mse" }, '
                        '{ name = "test MSE against the shipped mlp", data = "the same", metric = "evaluate.mse", '
                        'baseline = "the shipped mlp (its card)", baseline_card = "mlp", '
                        'baseline_card_metric = "mse" }]')
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return path


def test_recipe_runs_stages_in_order_and_writes_a_card(mlrun_subprocess, tmp_path):
    recipe = _recipe(tmp_path)
    r = mlrun_subprocess("reproduce", "toy", str(recipe), "--output-dir", "out", cwd=tmp_path)
    assert r.code == 0, r.text
    work = tmp_path / "out/toy/recipe-mlp"
    # Stage two started from stage one's best checkpoint.
    fine = json.loads((work / "stages/toy/finetune/config.json").read_text())["config"]
    assert fine["init_from"] == str(work / "stages/toy/warmup/checkpoints/best.pt")
    card = json.loads((work / "card.json").read_text())
    metrics = json.loads((work / "evaluate/metrics.json").read_text())["metrics"]
    assert card["figures"][0]["value"] == round(metrics["mse"], 4)
    assert card["figures"][1]["value"] == round(metrics["mse"], 4)  # named as "evaluate.mse": that stage's
    assert card["figures"][0]["baseline_value"] == round(metrics["baseline_zero_mse"], 4)
    # The third figure's baseline is read from the shipped mlp card when this card is built.
    shipped_mse = json.loads(TOY_CARD.read_text())["figures"][0]["value"]
    assert card["figures"][2]["baseline_value"] == shipped_mse and card["figures"][2]["baseline_card"] == "mlp"
    assert f"test MSE against the shipped mlp on the same: {card['figures'][2]['value']:.4g}   baseline the shipped " \
           f"mlp (its card): {shipped_mse:.4g}" in r.out
    assert card["parameters"] == 178 and card["recipe"]["command"] == "mlrun reproduce toy mlp"
    assert card["file_bytes"] == (work / "model.pt").stat().st_size and card["cost"]["wall_seconds"] > 0
    assert "against the shipped card:" in r.out and "test MSE on 64 held-out samples:" in r.out
    assert "shipped " in r.out.split("against the shipped card:")[1]
    # Rerunning skips every finished stage.
    again = mlrun_subprocess("reproduce", "toy", str(recipe), "--output-dir", "out", cwd=tmp_path)
    assert again.code == 0 and again.out.count("done earlier, skipped") == 4


def test_an_interrupted_recipe_resumes_and_matches_an_uninterrupted_run(mlrun_subprocess, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    assert mlrun_subprocess("reproduce", "toy", str(_recipe(full)), "--output-dir", "out", cwd=full).code == 0

    cut = tmp_path / "cut"
    cut.mkdir()
    recipe = _recipe(cut, kill_at_step=30)  # SIGKILLs stage two in its third epoch (13 steps each)
    r = mlrun_subprocess("reproduce", "toy", str(recipe), "--output-dir", "out", cwd=cut)
    assert r.code != 0
    assert r.err.strip().splitlines()[-1].startswith("error: recipe mlp: stage 'finetune' failed (exit -9); its "
                                                     "outputs are kept in out/toy/recipe-mlp")
    work = cut / "out/toy/recipe-mlp"
    state = json.loads((work / "recipe-state.json").read_text())["stages"]
    assert state["warmup"]["done"] and not state["finetune"]["done"]
    assert (work / "stages/toy/finetune/checkpoints/latest.pt").is_file() and not (work / "model.pt").exists()

    _recipe(cut)  # without the kill switch (a run-control option, so the trainer resumes the same run)
    r = mlrun_subprocess("reproduce", "toy", str(recipe), "--output-dir", "out", cwd=cut)
    assert r.code == 0, r.text
    assert "[1/4] warmup: done earlier, skipped" in r.out and "resum" in r.text.lower()
    a = torch.load(full / "out/toy/recipe-mlp/model.pt", weights_only=True)["model"]
    b = torch.load(work / "model.pt", weights_only=True)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


#: A valid recipe whose one card figure ends with the fields given.
_CARD_FIGURE = ('recipe = "mlp"\nversion = 1\ntask = "toy"\n[[stages]]\nname = "a"\nrun = "train"\n[[stages]]\n'
                'name = "e"\nrun = "export"\ncheckpoint = "a"\n[card]\nfigures = [{{ name = "f", data = "d", '
                'metric = "mse", baseline = "b", {} }}]\n')


@pytest.mark.parametrize("text,message", [
    ('recipe = "mlp"\nversion = 1\ntask = "phase"\nstages = []\n[card]\n', "is a recipe for task 'phase', not 'toy'"),
    ('recipe = "mlp"\nversion = 1\ntask = "toy"\n[card]\n', "'stages' is missing or not a list"),
    ('recipe = "mlp"\nversion = 1\ntask = "toy"\n[[stages]]\nname = "a"\nrun = "train"\ninit_from = "b"\n[card]\n',
     "stages[0] (a): init_from 'b' is not an earlier stage"),
    ('recipe = "mlp"\nversion = 1\ntask = "toy"\n[[stages]]\nname = "a"\nrun = "train"\n[card]\n',
     "needs exactly one export stage"),
    ("recipe = [\n", "is not readable TOML"),
    (_CARD_FIGURE.format('baseline_card = "nope"'),
     "figure 'f': baseline_card: task 'toy' ships no model 'nope'; shipped: mlp"),
    (_CARD_FIGURE.format('baseline_card = "mlp", baseline_card_metric = "rmse"'),
     "figure 'f': the card of the shipped model 'mlp' has no figure of metric 'rmse'"),
    (_CARD_FIGURE.format('baseline_card = "mlp", baseline_value = 1.0'),
     "figure 'f': give one of baseline_card, baseline_metric and baseline_value"),
])
def test_bad_recipes_are_one_line_errors(mlrun, tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    r = mlrun("reproduce", "toy", "bad.toml")
    assert r.code != 0 and r.err.count("\n") == 1 and message in r.err
