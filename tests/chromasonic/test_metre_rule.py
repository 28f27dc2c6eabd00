"""The metre rule of generation (`--rhythm metre`, the default): no generated event crosses a bar line and one that
starts off the eighth grid ends by the next beat; `--rhythm free` samples the model's rhythm as it is. Checked on
the ABC that `mlrun chromasonic generate` writes, read back by music21, and in the evaluation's figures."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import torch
from music21 import converter

from mlrun_music_chromasonic.data.melody import Vocabulary
from mlrun_music_chromasonic.data.notation import Meter
from mlrun_music_chromasonic.evaluate.compare import metre_versus_real
from mlrun_music_chromasonic.generate import MetreRule

#: Two full bars of 6/8: the generated part starts on a bar line.
SEED_68 = "G4:1.5 B4:1 D5:0.5 G5:3"


def measures_of(abc: str) -> list[list[tuple[Fraction, Fraction, str | None]]]:
    """music21's bars of the ABC: per bar, its notes and rests as (offset in the bar, length, tie type)."""
    score = converter.parse(abc, format="abc")
    part = score.parts[0] if score.parts else score
    return [[(Fraction(n.offset), Fraction(n.quarterLength), n.tie.type if n.tie is not None else None)
             for n in m.notesAndRests] for m in part.getElementsByClass("Measure")]


def rule_broken(bars: list[list[tuple[Fraction, Fraction, str | None]]], bar: Fraction, beat: Fraction
                ) -> list[str]:
    """Where the written bars break the metre rule: a note tied over a bar line (it crossed it), a bar that does
    not sum to the metre, a note starting off the eighth grid that lasts past the next beat. The last event is
    left out: the rest that fills the last bar, not a sampled one."""
    broken = []
    for k, notes in enumerate(bars):
        if sum(d for _, d, _ in notes) != bar:
            broken.append(f"bar {k + 1} holds {sum(d for _, d, _ in notes)} quarters")
        for offset, length, tie in notes[:-1] if k == len(bars) - 1 else notes:
            if tie in ("start", "continue") and offset + length == bar:
                broken.append(f"bar {k + 1}: a note tied over the bar line")
            if offset % Fraction(1, 2) and offset + length > (offset // beat + 1) * beat:
                broken.append(f"bar {k + 1}: a note at {offset} off the eighth grid lasts past the next beat")
    return broken


@pytest.mark.parametrize("model", ["markov", "transformer"])
def test_generate_keeps_every_bar_of_the_metre(mlrun, tmp_path, model):
    for rhythm in ("metre", "free"):
        r = mlrun("chromasonic", "generate", "--model", model, "--meter", "6/8", "--key", "G", "--seed-notes", SEED_68,
                  "--length", "64", "--temperature", "1.5", "--seed", "3", "--rhythm", rhythm, "--out", tmp_path / f"{rhythm}.mid",
                  "--abc", tmp_path / f"{rhythm}.abc")
        assert r.code == 0, r.out + r.err
        assert "in G, 6/8" in r.out
    bars = measures_of((tmp_path / "metre.abc").read_text())
    assert len(bars) >= 8
    assert rule_broken(bars, Fraction(3), Fraction(3, 2)) == []
    # the same model, temperature and seed without the rule drifts off the bar: the check above can fail
    free = rule_broken(measures_of((tmp_path / "free.abc").read_text()), Fraction(3), Fraction(3, 2))
    assert any("tied over the bar line" in b for b in free), free


def test_the_rule_follows_the_seed_tunes_pickup(mlrun, tmp_path):
    tune = ("X:1\nT:Upbeat\nM:3/4\nL:1/8\nK:D\nA | d2 f2 a2 | g2 e2 c2 | d4 A2 | B2 c2 d2 |\n"
            "d2 f2 a2 | g2 e2 c2 | d4 A2 | d4 |]\n")
    (tmp_path / "upbeat.abc").write_text(tune)
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", tmp_path / "upbeat.abc",
              "--seed-length", "6", "--length", "48", "--out", tmp_path / "u.mid", "--abc", tmp_path / "u.abc")
    assert r.code == 0, r.out + r.err
    bars = measures_of((tmp_path / "u.abc").read_text())
    assert sum(d for _, d, _ in bars[0]) == Fraction(1, 2)  # the pickup opens the melody
    assert rule_broken(bars[1:], Fraction(3), Fraction(1)) == []


def test_the_rule_allows_what_keeps_the_bar():
    vocab = Vocabulary(("<pad>", "<unk>", "60_1/4", "60_1/2", "60_5/4", "60_3/2", "60_4", "r_1/3"))
    six_eight = Meter(6, 8)
    # rows: a bar line; a sixteenth after one (off the eighth grid); an eighth before the bar line; a triplet in
    rule = MetreRule(vocab, [six_eight] * 4, [Fraction(0), Fraction(1, 4), Fraction(5, 2), Fraction(1, 3)])
    allowed = [[t for t, ok in zip(vocab.tokens, row) if ok] for row in rule.allowed(range(4)).tolist()]
    assert allowed[0] == ["60_1/4", "60_1/2", "60_5/4", "60_3/2", "r_1/3"]  # 4 quarters would cross the bar line
    assert allowed[1] == ["60_1/4", "60_1/2", "60_5/4", "r_1/3"]  # ends by the beat (1 1/2 quarters)
    assert allowed[2] == ["60_1/4", "60_1/2", "r_1/3"]  # on the grid, but the bar line is 1/2 away
    assert allowed[3] == ["60_1/4", "60_1/2", "r_1/3"]
    rule.advance([0, 1], torch.tensor([[vocab.index["60_3/2"]], [vocab.index["60_1/4"]]]))
    assert rule.position[:2].tolist() == [72, 24]  # 1 1/2 and 1/2 quarters, in 1/48 of a quarter
    # nothing short enough: the bar rule alone, then anything
    long_only = Vocabulary(("<pad>", "<unk>", "60_3/2", "60_4"))
    rule = MetreRule(long_only, [six_eight, six_eight], [Fraction(1, 4), Fraction(11, 4)])
    assert rule.allowed([0, 1]).tolist() == [[False, False, True, False], [False, False, True, True]]


def test_evaluate_reports_the_rule_and_its_figures(mlrun, trained_run, tmp_path):
    ckpt = trained_run / "checkpoints" / "lstm_best.pt"
    figures = {}
    for rhythm in ("metre", "free"):
        r = mlrun("evaluate", "chromasonic", ckpt, "--num-generated", "6", "--generate-length", "24", "--rhythm",
                  rhythm, "--output", tmp_path / rhythm)
        assert r.code == 0, r.out + r.err
        figures[rhythm] = json.loads((tmp_path / rhythm / "lstm_evaluation.json").read_text())
    assert figures["metre"]["generation"]["rhythm"] == "metre"
    assert figures["metre"]["bar_completeness"] == 1.0  # the synthetic tunes have no metre: placed in 4/4
    assert figures["free"]["generation"]["rhythm"] == "free"
    assert figures["metre"]["perplexity"] == figures["free"]["perplexity"]  # scoring never samples
    r = mlrun("evaluate", "chromasonic", ckpt, "--rhythm", "loose", "--output", tmp_path / "bad")
    assert r.code != 0 and "'--rhythm' must be one of metre, free" in r.err


def test_compare_states_each_model_against_the_real_tunes():
    line = metre_versus_real({"on_eighth_grid": 0.7094, "bar_completeness": 1.0, "syncopation": 0.0312},
                             {"on_eighth_grid": 0.7686, "bar_completeness": 0.878, "syncopation": 0.0312})
    assert line == ("onsets on the eighth grid 70.9 % vs 76.9 % (real tunes), 6.0 points lower; bar completeness "
                    "100.0 % vs 87.8 % (real tunes), 12.2 points higher; syncopation 3.1 % vs 3.1 % (real tunes), "
                    "the same")
