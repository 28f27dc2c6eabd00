"""The recipes of phase: the shipped model's and the longer chain behind the best held-out figure are valid recipes
whose train stages pass the option checks of `mlrun train phase` (ranges and the unused-option rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_music.config import build_config, unused_options
from mlrun_music.recipes import read_recipe
from mlrun_music_phase.config import PhaseConfig

RECIPES = Path(__file__).resolve().parents[2] / "plugins/phase/mlrun_music_phase/recipes"


@pytest.mark.parametrize("name", ["tcn-mel", "tcn-mel-chain"])
def test_recipe_stages_are_valid_train_configs(name):
    recipe = read_recipe(RECIPES / f"{name}.toml", "phase")
    trains = [s for s in recipe["stages"] if s["run"] == "train"]
    assert trains and all(s.get("init_from") == prev["name"] for prev, s in zip(trains, trains[1:]))
    for stage in trains:
        config = build_config(PhaseConfig, {**stage["options"], "tag": stage["name"]})
        assert unused_options(config, stage["options"], "default", ["phase_tcn_mel"]) == []
    exports = [s for s in recipe["stages"] if s["run"] == "export"]
    assert [s["checkpoint"] for s in exports] == [trains[-1]["name"]]


def test_the_chain_grows_the_data_and_its_timbres():
    stages = [s for s in read_recipe(RECIPES / "tcn-mel-chain.toml", "phase")["stages"] if s["run"] == "train"]
    songs = [s["options"]["default_songs"] for s in stages]
    fonts = [len(s["options"]["default_soundfonts"].split(",")) for s in stages]
    assert songs == [160, 160, 160, 320, 320, 320, 480] and fonts == [1, 1, 1, 2, 2, 2, 3]
