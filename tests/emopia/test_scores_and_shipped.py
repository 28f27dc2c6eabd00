"""The `scores` dataset (real music21 corpus pieces, split by work, PROXY quadrant labels) and the shipped model."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import mido
import pytest

from mlrun_music_emopia.data import scores

# A handful of small real pieces: fast major hornpipes, a minor strathspey, major and minor chorales.
FAST_MAJOR = "ryansMammoth/CoquetteHornpipe.abc"
SLOW_MINOR = "bach/bwv248.5.mxl"
PIECES = [FAST_MAJOR, "ryansMammoth/GoldenEagleHornpipe.abc", "ryansMammoth/LadyBairdsStrathspey.abc",
          SLOW_MINOR, "bach/bwv103.6.mxl", "bach/bwv153.9.mxl", "bach/bwv263.mxl"]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The layout built once from PIECES plus one file music21 cannot parse."""
    tmp = tmp_path_factory.mktemp("scores")
    broken = tmp / "broken.musicxml"
    broken.write_text("<score-partwise><part id='P1'><measure number='1'><note><pitch>")
    pieces = [*PIECES, str(broken)]
    root, report = scores.build_layout(pieces, tmp / "cache", seed=42, timeout=30.0)
    return tmp, pieces, root, report


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def test_scores_are_split_by_work_and_a_broken_score_is_skipped_and_counted(built):
    tmp, pieces, root, report = built
    assert report["pieces_selected"] == 8 and report["pieces_used"] == 7
    (reason, entry), = report["pieces_skipped"].items()
    assert "music21 could not parse" in reason and entry["count"] == 1
    assert entry["examples"][0].endswith("broken.musicxml")
    clips = _rows(root / "clips.csv")
    assert len(clips) == report["clips"] >= 7
    songs_of_split = {s: {Path(r["clip_name"]).stem.split("_")[1] for r in _rows(root / "split" / f"{s}_SL.csv")}
                      for s in ("train", "val", "test")}
    assert all(songs_of_split.values())
    assert not (songs_of_split["train"] & songs_of_split["val"] or songs_of_split["train"] & songs_of_split["test"]
                or songs_of_split["val"] & songs_of_split["test"])
    by_piece: dict[str, set[str]] = {}
    for r in clips:
        by_piece.setdefault(r["piece"], set()).add(r["split"])
    assert all(len(v) == 1 for v in by_piece.values())
    # Every clip is a MIDI file of one piano track in the EMOPIA layout, about EMOPIA's length.
    labels = {r["ID"]: int(r["4Q"]) for r in _rows(root / "label.csv")}
    assert set(labels) == {r["clip"] for r in clips}
    for r in clips:
        midi = mido.MidiFile(root / "midis" / f"{r['clip']}.mid")
        assert 20 <= midi.length <= 50 and sum(1 for t in midi.tracks if any(m.type == "note_on" for m in t)) == 1


def test_quadrants_follow_the_stated_proxies(built):
    _, _, root, report = built
    thr = report["arousal_threshold_onsets_per_second"]
    clips = _rows(root / "clips.csv")
    train_rates = sorted(float(r["onsets_per_second"]) for r in clips if r["split"] == "train")
    assert train_rates[0] <= thr <= train_rates[-1]  # chosen among the training clips' rates
    for r in clips:
        high = float(r["onsets_per_second"]) > thr
        assert int(r["quadrant"]) == scores.quadrant(r["mode"] == "major", high)
    fast = next(r for r in clips if r["piece"] == FAST_MAJOR)
    slow = next(r for r in clips if r["piece"] == SLOW_MINOR)
    assert fast["mode"] == "major" and fast["quadrant"] == "1"
    assert slow["mode"] == "minor" and slow["quadrant"] == "3"
    assert float(fast["onsets_per_second"]) > 2 * float(slow["onsets_per_second"])


def test_key_profiles_tell_major_from_minor():
    c_major = [1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1]  # C major scale, tonic and fifth weighted
    c_major[0], c_major[7] = 3, 2
    a_minor = [1, 0, 1, 0, 1, 1, 0, 1, 0, 3, 0, 1]
    a_minor[4] = 2
    maj, mnr, tonic = scores.key_profile_correlations(c_major)
    assert maj > mnr and tonic == 0
    maj, mnr, tonic = scores.key_profile_correlations(a_minor)
    assert mnr > maj and tonic == 9


def test_the_training_hook_reads_the_cached_scores_without_reparsing(built, monkeypatch, tmp_path):
    from mlrun_music_emopia.config import EmopiaConfig
    from mlrun_music_emopia.data import loader as data

    tmp, pieces, _, report = built
    monkeypatch.setattr(scores, "selection", lambda *a: pieces)
    monkeypatch.setattr(scores, "cache_folder", lambda: tmp / "cache")
    monkeypatch.setattr(scores, "parse_piece", lambda *a: pytest.fail("a cached piece was parsed again"))
    config = EmopiaConfig(dataset="scores", seed=42)
    prep = data.prepare(config, tmp_path, logging.getLogger("test"))
    assert "music21 corpus scores" in prep.source and "PROXY" in prep.source
    assert prep.report["scores"]["clips_per_quadrant"] == report["clips_per_quadrant"]
    assert prep.report["split_source"] == "official split files"
    assert {s: sum(v.values()) for s, v in prep.report["per_split"].items()} == {
        s: sum(v.values()) for s, v in report["clips_per_quadrant"].items()}
    # An EMOPIA folder is the `emopia` dataset: a config with only --data-dir reads it, not the scores.
    from .conftest import make_tree

    tree = make_tree(tmp_path / "emopia", songs=8, bad_files=False)
    other = data.prepare(EmopiaConfig(data_dir=str(tree), seed=42), tmp_path / "run2", logging.getLogger("test"))
    assert other.source.startswith("EMOPIA layout") and "scores" not in other.report


# ---------------------------------------------------------------------------------------------------------------
# The shipped model


def test_the_shipped_model_loads_with_its_card():
    from mlrun_music import api

    loaded = api.load_model("emopia", quiet=True)
    assert loaded.shipped == "scores-transformer"
    card = loaded.card
    assert card["data"]["kind"] == "proxy-labelled" and "music21" in card["data"]["name"]
    assert any("proxy" in x.lower() for x in card["limits"])
    assert loaded.info["trained_quadrants"] == [1, 2, 3, 4]
    assert "music21" in loaded.info["data_source"]
    assert card["file_bytes"] < 5_000_000


def test_generate_without_a_checkpoint_uses_the_shipped_model_and_a_seed_repeats_it(mlrun, tmp_path):
    first, again = tmp_path / "a", tmp_path / "b"
    r = mlrun("emopia", "generate", "--emotion", "Q1", "--duration", "8", "--seed", "5", "--out", first)
    assert r.code == 0, r.err
    assert "using the shipped model 'scores-transformer'" in r.err
    (midi_path,) = sorted(first.glob("*.mid"))
    midi = mido.MidiFile(midi_path)
    assert abs(midi.length - 8) <= 0.8
    assert sum(1 for t in midi.tracks for m in t if m.type == "note_on" and m.velocity > 0) >= 5
    manifest = json.loads(next(first.glob("*.json")).read_text())
    assert manifest["quadrant"] == 1 and manifest["samples"][0]["notes"] >= 5
    assert mlrun("emopia", "generate", "--emotion", "happy", "--duration", "8", "--seed", "5", "--out", again).code == 0
    assert (again / midi_path.name).read_bytes() == midi_path.read_bytes()
