"""Metrical figures of `compare` and `evaluate`: onsets on the metre's grid, bar completeness, syncopation, with a
tune's pickup found from its own notes."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest

from mlrun_music_chromasonic.data.notation import Meter, beat_length, parse_meter, pickup_phase
from mlrun_music_chromasonic.evaluate.metrics import metrical_metrics

F = Fraction


def test_beats_and_pickups():
    assert [beat_length(parse_meter(m)) for m in ["4/4", "3/4", "6/8", "9/8", "2/2", "3/8"]] == \
        [1, 1, F(3, 2), F(3, 2), 2, F(1, 2)]
    jig = [(67, F(1, 2))] + [(60, F(1, 2))] * 12  # an eighth pickup, then 6/8 bars of eighths
    jig_bars = [(67, F(1, 2))] + [(60, F(3, 2)), (62, F(1, 2)), (64, F(1, 2)), (65, F(1, 2))] * 3
    assert pickup_phase(jig_bars, parse_meter("6/8")) == F(1, 2)
    assert pickup_phase([(60, F(1))] * 8, parse_meter("4/4")) == 0
    assert pickup_phase(jig, parse_meter("6/8")) == 0  # nothing tells a pickup apart: none assumed


def test_grid_bars_and_syncopation():
    four = parse_meter("4/4")
    straight = [(60, F(1, 2))] * 16
    m = metrical_metrics([(straight, F(0), four, F(0))])
    assert m == {"on_eighth_grid": 1.0, "on_sixteenth_grid": 1.0, "bar_completeness": 1.0, "syncopation": 0.0}
    # eighth, quarter, eighth: the quarter starts off the beat and lasts past the next beat
    synco = [(60, F(1, 2)), (62, F(1)), (64, F(1, 2))] * 4
    assert metrical_metrics([(synco, F(0), four, F(0))])["syncopation"] == 4 / 12
    # triplet eighths: two of every three onsets are off both grids; a dotted half from beat 4 crosses the bar line
    off = [(60, F(1, 3))] * 3 + [(62, F(1))] * 2 + [(64, F(3))] + [(65, F(1))] * 3
    m = metrical_metrics([(off, F(0), four, F(0))])
    assert m["on_eighth_grid"] == m["on_sixteenth_grid"] == 7 / 9
    assert m["bar_completeness"] == 1 / 2  # bar lines at 4 (crossed by the long note) and 8 (on an onset)
    # the same notes after a quarter pickup: positions count from the bar line, not the first note
    jig = parse_meter("6/8")
    shifted = metrical_metrics([([(60, F(3, 2))] * 4, F(1, 2), jig, F(1, 2))])
    assert shifted["bar_completeness"] == 1.0 and shifted["syncopation"] == 0.0
    late = metrical_metrics([([(60, F(3, 2))] * 4, F(1, 2), jig, F(0))])
    assert late["bar_completeness"] == 0.0 and late["syncopation"] == 1.0


def test_compare_and_evaluate_report_the_metre(mlrun, trained_run, tmp_path):
    import json

    r = mlrun("chromasonic", "compare", trained_run, "--num-generated", "5", "--generate-length", "16",
              "--output", tmp_path / "cmp")
    assert r.code == 0, r.text
    md = (tmp_path / "cmp" / "model_comparison.md").read_text()
    assert "| metre | onsets on the eighth grid | on the sixteenth grid | bar completeness | syncopation |" in md
    rows = json.loads((tmp_path / "cmp" / "model_comparison.json").read_text())["models"]
    for row in rows:
        for fig in (row, row["reference"]):
            for key in ("on_eighth_grid", "on_sixteenth_grid", "bar_completeness", "syncopation"):
                assert 0.0 <= fig[key] <= 1.0, key
    r = mlrun("evaluate", "chromasonic", trained_run / "checkpoints" / "markov_best.pt", "--num-generated", "4",
              "--generate-length", "16", "--output", tmp_path / "ev")
    assert r.code == 0, r.text
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    assert 0.0 <= metrics["on_eighth_grid"] <= 1.0 and 0.0 <= metrics["reference"]["bar_completeness"] <= 1.0


def test_melody_features_of_a_known_tune():
    import math

    from mlrun_music_chromasonic.evaluate.metrics import MELODY_FEATURES, melody_features

    # C D E F | G rest G, quarter notes in 4/4: 6 notes over 7 quarters (3.5 s at 120 bpm), one silent beat.
    tune = [(60, 1), (62, 1), (64, 1), (65, 1), (67, 1), (None, 1), (67, 1)]
    f = melody_features(tune, Meter(4, 4))
    assert tuple(f) == MELODY_FEATURES
    shares = [1 / 6] * 4 + [2 / 6]
    assert f["pitch_class_entropy"] == pytest.approx(-sum(p * math.log2(p) for p in shares))
    assert f["scale_consistency"] == 1.0 and f["pitch_range"] == 7.0
    assert f["empty_beat_rate"] == pytest.approx(1 / 7) and f["note_density"] == pytest.approx(6 / 3.5)
    # Bar 2 has onsets on beats 1 and 3 only: 2 of 48 grid steps differ from bar 1.
    assert f["groove_consistency"] == pytest.approx(1 - 2 / 48)
    # In 3/4 three bars: note onsets {0, 1, 2}, {0, 1}, {0} (in quarters from each bar line): 1 step of 36 differs
    # in each of the two pairs.
    assert melody_features(tune, Meter(3, 4))["groove_consistency"] == pytest.approx(1 - 1 / 36)
    assert melody_features([(None, 2)], Meter(4, 4)) is None


def test_compare_and_evaluate_report_the_feature_overlap(mlrun, trained_run, tmp_path):
    import json

    from mlrun_music_chromasonic.evaluate.metrics import MELODY_FEATURES

    r = mlrun("chromasonic", "compare", trained_run, "--num-generated", "4", "--generate-length", "16",
              "--output", tmp_path / "cmp")
    assert r.code == 0, r.text
    result = json.loads((tmp_path / "cmp" / "model_comparison.json").read_text())
    md = (tmp_path / "cmp" / "model_comparison.md").read_text()
    assert md == r.out.split("comparison written to")[0]
    assert ("| feature overlap with the real tunes | pitch-class entropy | scale consistency | groove consistency | "
            "empty beats | pitch range | note density | mean |") in md
    held_out = result["models"][0]["held_out_tunes"]
    other = result["models"][0]["reference"]["feature_overlap_other_tunes"]
    assert other["pieces"] == held_out - 4 and other["real_pieces"] == 4  # the tunes that gave no opening
    for row in result["models"]:
        fo = row["feature_overlap"]
        assert fo["features"] == list(MELODY_FEATURES) and fo["pieces"] == 4 == fo["real_pieces"]
        assert all(0.0 <= fo["overlap"][k] <= 1.0 for k in MELODY_FEATURES)
        assert fo["mean"] == pytest.approx(sum(fo["overlap"].values()) / len(MELODY_FEATURES))
        assert fo["real_mean"]["scale_consistency"] <= 1.0 and fo["generated_mean"]["pitch_range"] >= 0
        cells = " | ".join(f"{fo['overlap'][k]:.3f}" for k in MELODY_FEATURES)
        assert f"| {row['model']} | {cells} | {fo['mean']:.3f} |" in md
    assert f"| other held-out tunes ({other['pieces']} real) | " in md
    assert re.search(r"- lstm against markov: feature overlap \d\.\d{3} vs \d\.\d{3} \(mean\), "
                     r"(\d\.\d{3} (higher|lower)|the same); higher on \d of 6 features", md), md
    assert "polyphony (1 for every melody) and tempo (not generated) are left out" in md
    # evaluate reports the same figure for one model; one generated melody is too few for a distribution.
    r = mlrun("evaluate", "chromasonic", trained_run / "checkpoints" / "lstm_best.pt", "--num-generated", "4",
              "--generate-length", "16", "--output", tmp_path / "ev")
    assert r.code == 0 and "feature_overlap.mean: " in r.out, r.text
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())["metrics"]
    lstm = next(m for m in result["models"] if m["model"] == "lstm")
    assert metrics["feature_overlap"]["overlap"] == lstm["feature_overlap"]["overlap"]
    r = mlrun("chromasonic", "compare", trained_run / "checkpoints" / "lstm_best.pt", "--num-generated", "1",
              "--generate-length", "16", "--output", tmp_path / "one")
    assert r.code == 0 and "feature overlap not computed: needs 2 or more pieces with notes on each side, got 1 " \
                           "real and 1 generated" in r.out, r.text
