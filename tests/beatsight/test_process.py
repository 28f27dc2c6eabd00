"""`mlrun beatsight process` and `score` on a rendered groove: heuristic and ML paths, hashes, bad input."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from mlrun_music_beatsight.beatmap import bsm
from mlrun_music_beatsight.transcribe import pipeline
from mlrun_music_beatsight.kits.classes import COMPONENTS


def test_heuristic_process_writes_valid_beatmap_and_scores(mlrun, groove, tmp_path, monkeypatch):
    monkeypatch.setenv("BEATSIGHT_USE_ML_CLASSIFIER", "0")
    out = tmp_path / "song.bsm"
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out)
    assert r.code == 0, r.text
    assert "classifier: heuristic (ML disabled by BEATSIGHT_USE_ML_CLASSIFIER=0)" in r.out
    data = bsm.read_bsm(out)
    assert data["audio"]["hash"] == bsm.sha256_of(groove["wav"])
    assert data["audio"]["sampleRate"] == 44100
    assert abs(data["audio"]["duration"] / 1000 - groove["duration"]) < 0.01
    assert abs(data["timing"]["bpm"] - groove["tempo"]) < 3 or abs(data["timing"]["bpm"] - 2 * groove["tempo"]) < 6
    assert data["editor"]["aiGenerationMetadata"]["modelVersion"] == "beatsight-heuristic-1"
    assert {h["component"] for h in data["hitObjects"]} <= set(COMPONENTS[:9])  # the heuristic knows 9 classes
    r = mlrun("beatsight", "score", out, groove["mid"], "--json")
    assert r.code == 0, r.text
    s = json.loads(r.out)
    assert s["overall"]["reference"] == len({(round(h.time, 3), h.component) for h in groove["hits"]})
    # Onsets regardless of class: the detector must find most hits of a clean rendered groove.
    assert s["onset_f_measure_any_class"] > 0.7, s["onset_f_measure_any_class"]
    # Scoring the reference against itself (as .bsm) is perfect.
    r = mlrun("beatsight", "score", groove["bsm"], groove["mid"], "--json", "--output", tmp_path / "self.json")
    assert json.loads(r.out)["overall"]["f_measure"] == 1.0
    assert json.loads((tmp_path / "self.json").read_text())["overall"]["f_measure"] == 1.0


def test_ml_process_uses_the_model(mlrun, groove, tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("BEATSIGHT_ML_MODEL_PATH", str(tiny_checkpoint))
    out = tmp_path / "ml.bsm"
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out, "--confidence", "0")
    assert r.code == 0, r.text
    assert f"classifier: ML model {tiny_checkpoint}" in r.out
    assert "kit-relative names: " in r.out  # the onset pipeline names toms and crashes kit-relative by default
    data = bsm.read_bsm(out)
    assert data["editor"]["aiGenerationMetadata"]["modelVersion"] == "beatsight-cnn:best.pt"
    assert len(data["hitObjects"]) > 0
    # --confidence 1 keeps nothing that is not certain: never more hits than with 0.
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", tmp_path / "strict.bsm",
              "--confidence", "1", "--ml-model", tiny_checkpoint)
    assert r.code == 0 and len(bsm.read_bsm(tmp_path / "strict.bsm")["hitObjects"]) <= len(data["hitObjects"])
    # No model named and none shipped (an install without the package data): heuristic, with the reason.
    monkeypatch.delenv("BEATSIGHT_ML_MODEL_PATH")
    monkeypatch.setattr(pipeline, "SHIPPED_MODEL", tmp_path / "not-shipped.pt")
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", tmp_path / "h.bsm")
    assert r.code == 0 and "classifier: heuristic (no ML model named, none shipped)" in r.out


def test_shipped_model_wins_over_a_checkpoint_in_the_current_folder(mlrun, groove, tmp_path, monkeypatch,
                                                                    tiny_checkpoint):
    """A models/best_drum_classifier.pt left in the working folder by an earlier training run is not used unless
    --ml-model or BEATSIGHT_ML_MODEL_PATH names it; `process` prints the per-class hit counts it wrote."""
    import shutil

    monkeypatch.delenv("BEATSIGHT_ML_MODEL_PATH", raising=False)
    monkeypatch.delenv("BEATSIGHT_USE_ML_CLASSIFIER", raising=False)
    stale = tmp_path / "models" / "best_drum_classifier.pt"  # the mlrun fixture runs in tmp_path
    stale.parent.mkdir()
    shutil.copy(tiny_checkpoint, stale)
    out = tmp_path / "song.bsm"
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out)
    assert r.code == 0, r.text
    assert f"classifier: frame-level ML transcriber {pipeline.SHIPPED_MODEL} (shipped with the plugin)\n" in r.out
    hits = [h["component"] for h in bsm.read_bsm(out)["hitObjects"]]
    assert hits
    expected = ", ".join(f"{c} {hits.count(c)}" for c in COMPONENTS if c in hits)
    assert f"\nhits: {expected}\n" in r.out, r.out
    # Named by --ml-model or the environment, the same file is used.
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out,
              "--ml-model", stale.relative_to(tmp_path))
    assert r.code == 0 and "classifier: ML model models/best_drum_classifier.pt" in r.out, r.text
    monkeypatch.setenv("BEATSIGHT_ML_MODEL_PATH", str(stale))
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out)
    assert r.code == 0 and f"classifier: ML model {stale}" in r.out, r.text
    # An environment path that does not exist falls back to the shipped model, and says why.
    monkeypatch.setenv("BEATSIGHT_ML_MODEL_PATH", str(tmp_path / "gone.pt"))
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", out)
    assert r.code == 0, r.text
    assert (f"(shipped with the plugin; no ML model at BEATSIGHT_ML_MODEL_PATH={tmp_path / 'gone.pt'})") in r.out


def test_process_bad_input(mlrun, groove, tmp_path, monkeypatch):
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(b"\x00\x01not audio" * 100)
    r = mlrun("beatsight", "process", "--input", junk, "--output", tmp_path / "o.bsm", "--no-ml")
    assert r.code != 0 and "junk.mp3" in r.err and len(r.err.strip().splitlines()) == 1
    silent = tmp_path / "silent.flac"
    sf.write(str(silent), np.zeros(44100, np.float32), 44100)
    r = mlrun("beatsight", "process", "--input", silent, "--output", tmp_path / "o.bsm", "--no-ml")
    assert r.code != 0 and "silent" in r.err
    fake = tmp_path / "model.pt"
    fake.write_bytes(b"PK\x03\x04 definitely not a checkpoint")
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", tmp_path / "o.bsm", "--ml-model", fake)
    assert r.code != 0 and "model.pt" in r.err and len(r.err.strip().splitlines()) == 1
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", tmp_path / "o.bsm",
              "--ml-model", tmp_path / "absent.pt")
    assert r.code != 0 and "--ml-model" in r.err and "does not exist" in r.err
    monkeypatch.setenv("BEATSIGHT_USE_ML_CLASSIFIER", "maybe")
    r = mlrun("beatsight", "process", "--input", groove["wav"], "--output", tmp_path / "o.bsm")
    assert r.code != 0 and "BEATSIGHT_USE_ML_CLASSIFIER" in r.err
    assert not (tmp_path / "o.bsm").exists()
    r = mlrun("beatsight", "score", tmp_path / "absent.bsm", groove["mid"])
    assert r.code != 0 and "absent.bsm" in r.err


def test_second_hit_pairs_a_cymbal_with_a_drum_only():
    """Simultaneous hits: kick + hi-hat is written, kick + its own low-tom doubt is not."""
    import numpy as np

    from mlrun_music_beatsight.kits.classes import COMPONENTS
    from mlrun_music_beatsight.transcribe.pipeline import classes_of_hit

    def probs(**p: float) -> np.ndarray:
        row = np.zeros(len(COMPONENTS))
        for name, v in p.items():
            row[COMPONENTS.index(name)] = v
        return row

    def names(row: np.ndarray, thr: float) -> list[str]:
        return [COMPONENTS[i] for i in classes_of_hit(row, thr)]

    assert names(probs(kick=0.6, tom_low=0.25, hihat_closed=0.15), 0.1) == ["kick", "hihat_closed"]
    assert names(probs(kick=0.6, tom_low=0.25, hihat_closed=0.15), 0.2) == ["kick"]
    assert names(probs(crash=0.5, ride=0.3, kick=0.2), 0.1) == ["crash", "kick"]
    assert names(probs(hihat_closed=0.5, snare=0.3, kick=0.2), 0.1) == ["hihat_closed", "snare", "kick"]
    assert names(probs(snare=0.9, hihat_closed=0.05), 0.1) == ["snare"]


def test_the_song_as_argument_writes_its_beatmap_beside_it(mlrun, groove, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setenv("BEATSIGHT_USE_ML_CLASSIFIER", "0")
    song = tmp_path / "mysong.wav"
    shutil.copy(groove["wav"], song)
    r = mlrun("beatsight", "process", song)
    assert r.code == 0, r.text
    assert bsm.read_bsm(tmp_path / "mysong.bsm")["audio"]["hash"] == bsm.sha256_of(song)
    r = mlrun("beatsight", "process")
    assert r.code == 2 and r.err.strip() == "error: name the song: mlrun beatsight process SONG (or --input SONG)"
    r = mlrun("beatsight", "process", song, "--input", groove["wav"])
    assert r.code == 2 and "give the song once" in r.err
