"""The five recipes of kelly (one per shipped model) are valid recipes whose train stage trains that model alone and
passes the option checks of `mlrun train kelly` (ranges and the unused-option rule); demo.toml passes them too."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_music import api
from mlrun_music.config import build_config, read_config_file
from mlrun_music.errors import UserError
from mlrun_music.recipes import read_recipe
from mlrun_music_kelly.config import KellyConfig

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "kelly"
RECIPES = {"emotion-recognizer": "EmotionRecognizer", "melody-transformer": "MelodyTransformer",
           "harmony-predictor": "HarmonyPredictor", "dynamics-engine": "DynamicsEngine",
           "groove-predictor": "GroovePredictor"}


@pytest.mark.parametrize("name", list(RECIPES))
def test_each_recipe_trains_its_model_with_options_the_run_uses(name):
    recipe = read_recipe(PLUGIN / "mlrun_music_kelly" / "recipes" / f"{name}.toml", "kelly")
    (train,) = [s for s in recipe["stages"] if s["run"] == "train"]
    assert train["output_model"] == RECIPES[name]
    config = build_config(KellyConfig, {**train["options"], "tag": name})
    registered = api.task("kelly")
    assert registered.models_in_run(config) == [RECIPES[name]]
    registered.check_options_used(config, train["options"])  # raises UserError naming an unused option


def test_demo_config_passes_and_the_check_would_catch_an_unused_option():
    registered = api.task("kelly")
    options = read_config_file(PLUGIN / "demo.toml")
    registered.check_options_used(build_config(KellyConfig, options), options)
    spoiled = {**options, "deam_path": "/data/deam"}
    with pytest.raises(UserError, match="--deam-path is unused when --use-synthetic is given"):
        registered.check_options_used(build_config(KellyConfig, spoiled), spoiled)
