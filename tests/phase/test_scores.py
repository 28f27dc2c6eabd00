"""The ``scores`` set: real pieces from music21's corpus at a tiny size (three pieces of six measures), their bar
labels against the scores' own measures, skipped scores counted, and ``mlrun evaluate phase --dataset scores``
reporting by meter and by source."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from mlrun_music.errors import UserError

SOURCES = "chorales,ryan,classical"
MAX_BARS = 6


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> tuple[Path, Path]:
    from mlrun_music_phase.data.scores import build_scores

    root = tmp_path_factory.mktemp("scores_cache")
    folder = build_scores(per_source=1, sources=SOURCES, max_bars=MAX_BARS, cache=str(root / "phase"))
    return root, folder


def _expanded_measures(corpus_path: str, tune: str | None) -> int:
    from music21 import converter, corpus, stream

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = converter.parse(tune, format="abc") if tune else corpus.parse(corpus_path)
        if hasattr(score, "scores"):
            score = score.scores[0]
        score = score.expandRepeats()
    return len(list(score.parts[0].getElementsByClass(stream.Measure)))


def test_bar_labels_follow_the_scores_measures(scores):
    from mlrun_music_phase.data.labels import read_bars
    from mlrun_music_phase.data.scores import candidates

    _, folder = scores
    report = json.loads((folder / "scores_report.json").read_text())
    assert report["pieces"] == 3 and set(report["sources"]) == set(SOURCES.split(","))
    songs = sorted(p.parent for p in folder.rglob("bars.csv"))
    assert len(songs) == 3
    for song in songs:
        info = json.loads((song / "render.json").read_text())
        bars = read_bars(song / "bars.csv")
        assert np.all(np.diff(bars) > 0)
        piece = next(c for c in candidates(info["source"]) if c["id"] == info["id"])
        measures = min(_expanded_measures(piece["corpus"], piece["tune"]), MAX_BARS)
        assert info["measures"] == measures
        # one bar per measure, less a pickup and the halves of bars split across a repeat sign
        assert len(bars) - 1 == measures - info["joined"] and info["joined"] >= int(info["pickup"])
        assert bars[0] >= 0 and bars[-1] <= info["seconds"]


def test_pickups_and_split_bars_are_not_downbeats():
    from mlrun_music_phase.data.scores import downbeat_flags

    # a one-beat pickup in 3/4, two full bars, a bar split 2 + 1 across a repeat sign, a full bar, a short last bar
    assert downbeat_flags([1, 3, 3, 2, 1, 3, 2], [3] * 7) == [False, True, True, True, False, True, True]
    assert downbeat_flags([3, 3], [3, 3]) == [True, True]


def test_a_score_that_cannot_be_read_is_skipped_and_counted(tmp_path):
    from mlrun_music_phase.data.scores import DEFAULT_SOUNDFONT, build_piece

    piece = {"id": "missing", "corpus": "no/such/piece.mxl", "tune": None, "meter": "?"}
    result = build_piece(piece, tmp_path / "missing", source="chorales", soundfont=DEFAULT_SOUNDFONT,
                         renderer="fluidsynth", max_bars=0, max_seconds=120.0, timeout=30.0)
    assert result["skipped"] == "unparseable score"
    assert json.loads((tmp_path / "missing" / "skipped.json").read_text())["skipped"] == "unparseable score"


def test_size_options_are_checked_before_any_work():
    from mlrun_music_phase.data.scores import build_scores

    for kwargs in ({"per_source": 0}, {"per_source": 201}, {"max_bars": 2}, {"max_seconds": 5.0},
                   {"sources": "chorales,nope"}):
        with pytest.raises(UserError):
            build_scores(**kwargs)


def test_evaluate_reports_by_meter_and_by_source(mlrun, monkeypatch, scores):
    root, _ = scores
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(root))
    r = mlrun("evaluate", "phase", "--dataset", "scores", "--scores-per-source", "1", "--scores-sources", SOURCES,
              "--scores-max-bars", str(MAX_BARS), "--warmup-seconds", "0", "--anticipations", "0,0.5",
              "--no-baselines", "--output", "ev")
    assert r.code == 0, r.err
    metrics = json.loads(Path("ev/metrics.json").read_text())["metrics"]
    assert metrics["items"] == 3
    assert set(metrics["model_by_source"]) == set(SOURCES.split(","))
    meters = set()
    for song in Path(metrics["data"]).rglob("render.json"):
        meters.add("+".join(json.loads(song.read_text())["meters"]))
    assert set(metrics["model_by_meter"]) == meters
    for table in (*metrics["model_by_meter"].values(), *metrics["model_by_source"].values()):
        assert set(table) == {"anticipation_0", "anticipation_0.5"}
    assert metrics["scores_report"]["pieces"] == 3
    r = mlrun("evaluate", "phase", "--dataset", "scores", "--data", "elsewhere")
    assert r.code != 0 and "--data and --dataset scores" in r.err


def test_training_on_scores_takes_other_pieces_in_training_soundfonts(mlrun, monkeypatch, scores, tmp_path):
    from tests.phase.conftest import TINY

    root, eval_folder = scores
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(root))
    r = mlrun("train", "phase", "--dataset", "scores", "--scores-per-source", "1", "--scores-sources", "ryan",
              "--scores-max-seconds", "30", "--default-chunk-seconds", "6", "--num-epochs", "1", "--tag", "sc",
              *TINY)
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "runs/phase/sc/data_report.json").read_text())
    folders = [Path(f) for f in report["scores_chunks"]]
    renders = [json.loads(p.read_text()) for f in folders for p in f.parent.rglob("render.json")]
    # One copy per training soundfont, never the evaluation set's FluidR3Mono.
    fonts = {Path(x["soundfont"]).name for x in renders}
    assert "TimGM6mb.sf2" in fonts and "FluidR3Mono_GM.sf3" not in fonts
    assert len(folders) == len(fonts) and len(report["parts"]) == len(folders)
    trained = {x["id"] for x in renders}
    evaluated = {json.loads(p.read_text())["id"] for p in eval_folder.rglob("render.json")}
    assert trained and not trained & evaluated


def test_mixed_training_adds_the_scores_to_the_songs(mlrun, monkeypatch, scores, corpus, tmp_path):
    from tests.phase.conftest import TINY

    root, _ = scores
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(root))
    r = mlrun("train", "phase", "--dataset", "mixed", "--chunks-path", corpus.chunks, "--scores-per-source", "1",
              "--scores-sources", "ryan", "--scores-soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2",
              "--scores-max-seconds", "30", "--num-epochs", "1", "--tag", "mx",
              "--val-fraction", "0", *TINY)
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "runs/phase/mx/data_report.json").read_text())
    songs, pieces = report["parts"]
    assert songs["folder"] == str(corpus.chunks) and len(report["scores_chunks"]) == 1
    assert report["chunks"] == songs["chunks"] + pieces["chunks"] and pieces["chunks"] > 0
    assert pieces["frames_per_chunk"] == songs["frames_per_chunk"] == 6 * 50  # cut to the chunks' 6 s
    history = json.loads((tmp_path / "runs/phase/mx/history.json").read_text())
    assert history[0]["train_loss"] > 0
    r = mlrun("train", "phase", "--scores-per-source", "2", "--chunks-path", corpus.chunks, "--num-epochs", "1")
    assert r.code != 0 and "--scores-per-source" in r.err


def _flat(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flat(v, prefix)
        else:
            yield k, v


def test_parts_get_channels_of_their_own_and_grace_notes_go(tmp_path):
    import mido
    from music21 import note, stream

    from mlrun_music_phase.data.scores import _remove_grace_notes, _write_midi

    score = stream.Score()
    for _ in range(2):
        part = stream.Part()
        part.append(note.Note("C4").getGrace())
        part.append(note.Note("C4", quarterLength=2))
        score.insert(0, part)
    _remove_grace_notes(score)
    _write_midi(score, tmp_path / "s.mid")
    mid = mido.MidiFile(tmp_path / "s.mid")
    channels = [{m.channel for m in t if hasattr(m, "channel")} for t in mid.tracks]
    channels = [c for c in channels if c]
    assert len(channels) == 2 and channels[0] != channels[1] and all(len(c) == 1 for c in channels)
    assert sum(m.type == "note_on" and m.velocity > 0 for t in mid.tracks for m in t) == 2
