"""Metrical figures of `compare` and `evaluate`: onsets on the metre's grid, bar completeness, syncopation, with a
tune's pickup found from its own notes."""

from __future__ import annotations

from fractions import Fraction

from mlrun_music_chromasonic.data.notation import beat_length, parse_meter, pickup_phase
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
