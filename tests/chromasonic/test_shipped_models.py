"""chromasonic's shipped models (lstm, transformer, markov): each loads with its card checked, generates a melody
through `mlrun chromasonic generate` without a checkpoint, and the LSTM has really learned folk melody.

No training here: the tests read the shipped files only (seconds).
"""

from __future__ import annotations

import json
import math
import statistics

import mido
import pytest
import torch

from mlrun_music.api import load_model
from mlrun_music.pretrained import locate

NAMES = ("lstm", "transformer", "markov")
WHITE_KEYS = {0, 2, 4, 5, 7, 9, 11}
#: Opening written for these tests, in the models' key-normalised frame (white keys): eighths and a quarter.
SEED = "E4:0.5 G4:0.5 A4:0.5 C5:0.5 B4:0.5 A4:0.5 G4:1"

#: Four well-known Irish tunes written out here in ABC (dance-tune openings, standard keys G, E dorian, D, G).
#: They may also be in O'Neill's or Ryan's collections: this checks that a model learned folk melody, the card's
#: held-out figure is the measurement on unseen tunes.
TUNES = """X:1
T:The Kesh
M:6/8
L:1/8
K:G
GAG GAB|ABA ABd|edd gdd|edB dBA|GAG GAB|ABA ABd|edd gdB|AGF G3|
gfg efg|dBG dBG|gfg efg|age a2b|gfg efg|dBG dBG|ABA ABd|edB A2G|

X:2
T:Drowsy Maggie
M:4/4
L:1/8
K:Edor
E2BE dEBE|E2BE AFDF|E2BE dEBE|BABc dAFD|E2BE dEBE|E2BE AFDF|E2BE dEBE|BABc dAFA|

X:3
T:Soldier's Joy
M:4/4
L:1/8
K:D
dcdB AFDF|A2dc BAGF|GBEB GBEB|G2BA GFED|dcdB AFDF|A2dc BAGF|GBEB GFEF|D2F2 D4|

X:4
T:The Irish Washerwoman
M:6/8
L:1/8
K:G
BGG DGG|BGB dcB|cAA EAA|cAc edc|BGG DGG|BGB dcB|cBc Adc|BGG G2c|
"""


@pytest.fixture(scope="module")
def shipped():
    return {name: load_model("chromasonic", shipped=name, quiet=True) for name in NAMES}


def _card(name: str) -> dict:
    return json.loads(locate(f"mlrun_music_chromasonic:pretrained/{name}.card.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_each_shipped_model_loads_with_its_card(shipped, name):
    loaded, card = shipped[name], _card(name)
    assert loaded.checkpoint["model_name"] == name == card["model"] == card["name"]
    assert card["task"] == "chromasonic" and card["data"]["kind"] == "real"
    assert card["recipe"]["command"] == f"mlrun reproduce chromasonic {name}"
    assert locate(f"mlrun_music_chromasonic:recipes/{card['recipe']['file']}").is_file()
    ppl, acc = card["figures"][0], card["figures"][1]
    assert ppl["metric"] == "evaluate.perplexity" and acc["metric"] == "evaluate.accuracy"
    assert ppl["baseline_value"] is not None and ppl["value"] < ppl["baseline_value"]
    assert acc["baseline_value"] is not None and acc["value"] > acc["baseline_value"]
    assert loaded.info["normalize_key"] and len(loaded.info["vocab"]) > 100


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_the_neural_cards_compare_with_the_shipped_markov_card(name):
    """Their recipes read the baseline from the Markov card (``baseline_card``); the shipped cards agree with it."""
    from mlrun_music.recipes import card_baseline, read_recipe

    path = locate(f"mlrun_music_chromasonic:recipes/{name}.toml")
    recipe = read_recipe(path, "chromasonic")
    by_card = [f for f in recipe["card"]["figures"] if f.get("baseline_card") == "markov"]
    assert [f["metric"] for f in by_card] == ["evaluate.perplexity", "evaluate.accuracy",
                                              "evaluate.feature_overlap.mean"]
    markov = {f["metric"]: f["value"] for f in _card("markov")["figures"]}
    shipped = {f["metric"]: f["baseline_value"] for f in _card(name)["figures"]}
    for fig in by_card:
        assert card_baseline("chromasonic", fig, str(path)) == markov[fig["metric"]] == shipped[fig["metric"]]
    # Their pitch and rhythm features overlap the real tunes' more than Markov's do, and less than real tunes'.
    overlap = next(f for f in _card(name)["figures"] if f["metric"] == "evaluate.feature_overlap.mean")
    real = next(f for f in _card("markov")["figures"] if f["metric"] == "evaluate.feature_overlap.mean")
    assert real["baseline_value"] > overlap["value"] > overlap["baseline_value"]


@pytest.mark.parametrize("name", NAMES)
def test_the_cards_give_the_metre_beside_the_real_tunes(name):
    """Each card's metre figures, with and without the sampling rule, against the real continuations; the neural
    models under the rule keep every bar and come within 10 points of the real tunes' onset grid."""
    figures = {f["metric"]: f for f in _card(name)["figures"]}
    for stage in ("evaluate", "evaluate_free"):
        for key in ("on_eighth_grid", "bar_completeness"):
            fig = figures[f"{stage}.{key}"]
            assert 0 < fig["value"] <= 1 and 0.8 < fig["baseline_value"] <= 1
            assert "real continuations" in fig["baseline"]
    assert figures["evaluate.bar_completeness"]["value"] == 1.0
    assert figures["evaluate_free.bar_completeness"]["value"] < figures["evaluate_free.bar_completeness"]["baseline_value"]
    if name != "markov":
        grid = figures["evaluate.on_eighth_grid"]
        assert abs(grid["value"] - grid["baseline_value"]) <= 0.10


def test_the_default_is_the_lowest_held_out_perplexity(mlrun):
    figures = {name: _card(name)["figures"][0]["value"] for name in NAMES}
    r = mlrun("info", "chromasonic")
    assert r.code == 0, r.text
    best = min(figures, key=figures.get)
    r = mlrun("chromasonic", "generate", "--seed-notes", SEED, "--length", "8", "--out", "d.mid")
    assert r.code == 0, r.text
    assert f"using the shipped model '{best}' of chromasonic" in r.err


def _notes(path) -> list[tuple[int, int]]:
    """(pitch, onset tick) of every note of a MIDI file."""
    out, tick = [], 0
    for msg in mido.MidiFile(path).tracks[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((msg.note, tick))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_generate_with_a_shipped_model_writes_a_plausible_melody(mlrun, tmp_path, name):
    r = mlrun("chromasonic", "generate", "--model", name, "--seed-notes", SEED, "--length", "64",
              "--temperature", "0.9", "--seed", "3", "--out", "m.mid", "--abc", "m.abc")
    assert r.code == 0, r.text
    assert r.err.count("\n") == 1 and f"using the shipped model '{name}' of chromasonic" in r.err
    assert "7 opening + 64 generated" in r.out
    notes = _notes(tmp_path / "m.mid")
    pitches = [p for p, _ in notes]
    assert pitches[:7] == [64, 67, 69, 72, 71, 69, 67]  # the opening as written
    generated = pitches[7:]
    assert len(generated) > 40  # 64 events, a few may be rests
    assert all(48 <= p <= 96 for p in generated)  # C3..C7: the range of the tunes
    assert 60 <= statistics.median(generated) <= 84
    assert len(set(generated)) >= 5  # a melody, not one repeated note
    # Key-normalised training data: nearly every note is on a white key.
    assert sum(p % 12 in WHITE_KEYS for p in generated) / len(generated) >= 0.85
    leaps = [abs(b - a) for a, b in zip(generated, generated[1:])]
    assert statistics.median(leaps) <= 4  # mostly steps and small leaps, as in the tunes
    assert (tmp_path / "m.abc").read_text().startswith("X:1\nT:")


def test_a_checkpoint_and_a_shipped_model_together_are_refused(mlrun):
    path = locate("mlrun_music_chromasonic:pretrained/markov.pt")
    r = mlrun("chromasonic", "generate", path, "--model", "lstm", "--seed-notes", SEED)
    assert r.code == 2 and r.err.strip() == "error: give a checkpoint or --model lstm, not both"


def _tunes(tmp_path, info) -> list[list[int]]:
    from mlrun_music_chromasonic.data.abc import parse_abc_file
    from mlrun_music_chromasonic.data.melody import Melody, Vocabulary, tokens_of

    path = tmp_path / "tunes.abc"
    path.write_text(TUNES, encoding="utf-8")
    res = parse_abc_file(str(path), path.name)
    assert len(res["melodies"]) == 4, res["skipped"]
    vocab = Vocabulary(tuple(info["vocab"]))
    return [vocab.encode(tokens_of(Melody.from_json(m), info["normalize_key"], info["max_duration"]))
            for m in res["melodies"]]


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_the_neural_models_have_learned_folk_melody(shipped, tmp_path, name):
    from mlrun_music_chromasonic.evaluate.heldout import score_tunes
    from mlrun_music_chromasonic.data.melody import UNK_ID
    from mlrun_music_chromasonic.models.neural import build_lstm, build_transformer

    loaded = shipped[name]
    tunes = _tunes(tmp_path, loaded.info)
    assert sum(len(t) for t in tunes) > 150 and sum(t.count(UNK_ID) for t in tunes) <= 2
    context = int(loaded.info["sequence_length"])
    trained = score_tunes(loaded.model, tunes, context)
    torch.manual_seed(0)
    untrained = score_tunes({"lstm": build_lstm, "transformer": build_transformer}[name](loaded.config, loaded.info),
                            tunes, context)
    markov = score_tunes(shipped["markov"].model, tunes, context)
    assert untrained["perplexity"] > 200  # about the vocabulary size: a uniform guess
    assert trained["perplexity"] < untrained["perplexity"] / 15
    assert trained["perplexity"] < 20 and trained["accuracy"] > 0.25
    assert math.isfinite(markov["perplexity"]) and trained["perplexity"] < markov["perplexity"]


def test_render_writes_audible_audio_beside_the_melody(mlrun, tmp_path):
    import numpy as np
    import soundfile as sf

    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-notes", SEED, "--length", "16",
              "--out", "heard.mid", "--render")
    assert r.code == 0, r.text
    wav = tmp_path / "heard.wav"
    audio, rate = sf.read(wav)
    assert abs(len(audio) / rate - mido.MidiFile(tmp_path / "heard.mid").length) < 1.0
    assert np.sqrt(np.mean(audio ** 2)) > 0.001
    assert f"rendered {wav}" in r.out or "rendered heard.wav" in r.out
