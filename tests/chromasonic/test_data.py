"""Data: ABC parsing with music21, skips with reasons, cache, filters, split by tune, Nottingham layout and download."""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from pathlib import Path

import pytest
from tests.chromasonic.conftest import ABC, MALFORMED, SHORT, nottingham_tree, random_tune, write_abc_tree

from mlrun_music.errors import UserError
from mlrun_music_chromasonic.data.abc import parse_abc_file
from mlrun_music_chromasonic.config import ChromasonicConfig
from mlrun_music_chromasonic.data.splits import splits_from_melodies
from mlrun_music_chromasonic.data.melody import Melody, estimate_sharps, signature_shift


def test_parse_abc_every_tune_with_rests_durations_ties(tmp_path):
    abc = ("X:1\nT:First\nM:4/4\nL:1/8\nK:D\n"
           '"D" d2 {e}f/2g/2 a2 z2 | A4- A2 [Ace]2 | d8 |]\n\n'
           "X:2\nT:Second\nM:3/4\nL:1/4\nK:Bb\nB c d | (3efg z B2 |]\n")
    path = write_abc_tree(tmp_path, {"two.abc": [abc]}) / "two.abc"
    res = parse_abc_file(str(path), "two.abc")
    assert res["tunes"] == 2 and not res["skipped"]
    first, second = (Melody.from_json(m) for m in res["melodies"])
    assert first.title == "First" and first.key == "D" and first.meter == "4/4" and first.key_sharps == 2
    # d2 f/2 g/2 a2 z2 | A4-A2 (tied: one note of 3 quarters) [Ace]2 (top note) | d8 ; no grace note, no "D"
    assert first.notes == [(74, 1.0), (78, 0.25), (79, 0.25), (81, 1.0), (None, 1.0), (69, 3.0), (76, 1.0),
                           (74, 4.0)]
    assert second.key_sharps == -2 and second.meter == "3/4"
    assert [round(d, 4) for _, d in second.notes[3:6]] == [0.6667] * 3  # a triplet
    assert (None, 1.0) in second.notes


def test_malformed_empty_and_binary_files_are_skipped_and_counted(mlrun, tmp_path):
    rng = random.Random(3)
    tunes = [random_tune(i + 1, f"T{i}", 30, rng) for i in range(5)]
    data = write_abc_tree(tmp_path / "nmd", {"good.abc": tunes + [MALFORMED], "short.abc": [SHORT]})
    (data / "empty.abc").write_text("")
    (data / "binary.abc").write_bytes(b"\x00\x01\x02PK\x03\x04" * 40)
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--data-dir", data, "--model", "markov",
              "--min-melody-length", "16", *ABC)
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs/chromasonic/default/data_report.json").read_text())
    parse = report["parse"]
    assert parse["tunes_parsed"] == 6 and parse["skipped"] == 3
    assert parse["skip_reasons"] == {"malformed ABC": 1, "empty file": 1, "binary file (not ABC text)": 1}
    assert any(s.get("title") == "Broken tune" for s in parse["skipped_tunes"])
    assert report["filters"]["too_short"] == 1 and report["filters"]["kept"] == 5


def test_nottingham_layout_cache_and_split_by_tune(mlrun, tmp_path, private_cache):
    data = nottingham_tree(tmp_path / "nmd", tunes_per_file=10)
    args = ["train", "chromasonic", "--dataset", "nottingham", "--data-dir", data, "--model", "markov", *ABC]
    assert mlrun(*args, "--tag", "one").code == 0
    first = json.loads((tmp_path / "runs/chromasonic/one/data_report.json").read_text())
    assert first["parse"]["files_parsed"] == 2 and first["parse"]["cache_hits"] == 0
    assert first["parse"]["tunes_parsed"] == 21 and first["parse"]["skip_reasons"] == {"malformed ABC": 1}
    assert len(list((private_cache / "chromasonic" / "melodies").glob("*.json"))) == 2
    assert mlrun(*args, "--tag", "two").code == 0
    second = json.loads((tmp_path / "runs/chromasonic/two/data_report.json").read_text())
    assert second["parse"]["cache_hits"] == 2 and second["parse"]["files_parsed"] == 0
    assert second["split"] == first["split"] and second["split"]["tunes"] == [16, 2, 2]  # 20 kept (1 too short)
    # cached entries carry title, key, meter, source and statistics
    entry = json.loads(next((private_cache / "chromasonic" / "melodies").glob("*.json")).read_text())
    mel = entry["melodies"][0]
    assert mel["title"].startswith("Tune") and mel["key"] == "G" and mel["meter"] == "6/8"
    assert mel["source"].endswith(".abc#X" + mel["source"].split("#X")[1]) and entry["stats"]["tunes"] == 10


def test_split_is_by_tune_and_seeded():
    cfg = ChromasonicConfig(min_melody_length=4, sequence_length=8, seed=5, min_token_count=1)
    rng = random.Random(0)
    melodies = [{"title": f"t{i}", "notes": [(rng.randint(60, 72), rng.choice([0.5, 1.0])) for _ in range(40)]}
                for i in range(30)]
    a = splits_from_melodies(melodies, cfg, source="test")
    b = splits_from_melodies(melodies, cfg, source="test")
    titles = [{m.title for m in ds.melodies} for ds in (a.train, a.val, a.test)]
    assert [len(t) for t in titles] == [24, 3, 3]
    assert not (titles[0] & titles[1]) and not (titles[0] & titles[2]) and not (titles[1] & titles[2])
    assert [m.title for m in a.test.melodies] == [m.title for m in b.test.melodies]
    c = splits_from_melodies(melodies, ChromasonicConfig(min_melody_length=4, sequence_length=8, seed=6,
                                                         min_token_count=1), source="test")
    assert [m.title for m in c.test.melodies] != [m.title for m in a.test.melodies]
    # windows never cross tunes: 40 events -> windows of 9 ids with stride 4 inside each tune
    assert all(len(t) == 40 for t in a.train.tunes) and len(a.train) == 24 * 9
    assert a.info["vocab"][:2] == ["<pad>", "<unk>"] and a.info["sequence_length"] == 8


def test_splits_from_melodies_rejects_bad_notes_and_too_few_tunes():
    cfg = ChromasonicConfig(min_melody_length=4)
    with pytest.raises(UserError, match="note 1 has pitch 200"):
        splits_from_melodies([[(60, 1.0), (200, 1.0)]], cfg, source="scales")
    with pytest.raises(UserError, match="duration"):
        splits_from_melodies([{"notes": [(60, 0.0)]}], cfg, source="scales")
    with pytest.raises(UserError, match="only 1 melodies remain.*1 too short"):
        splits_from_melodies([[(60, 1.0)] * 10, [(60, 1.0)] * 2], cfg, source="scales")


def test_duplicates_are_dropped_before_the_split():
    cfg = ChromasonicConfig(min_melody_length=4, min_token_count=1)
    base = [[(60 + (i * k) % 12, 1.0) for k in range(20)] for i in range(1, 6)]
    data = splits_from_melodies(base + base[:2], cfg, source="dupes")
    assert data.report["filters"]["duplicates"] == 2 and data.report["filters"]["kept"] == 5


def test_key_normalisation_moves_signatures_to_white_keys():
    assert signature_shift(2) == -2 and signature_shift(-2) == 2 and signature_shift(0) == 0
    d_major = [(62, 1.0), (64, 1.0), (66, 1.0), (67, 1.0), (69, 1.0), (71, 1.0), (73, 1.0)]
    assert estimate_sharps(d_major) == 2


def test_too_short_filter_reports_every_tune(mlrun, tmp_path):
    data = nottingham_tree(tmp_path / "nmd", tunes_per_file=2)
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--data-dir", data, "--model", "markov",
              "--min-melody-length", "500", "--max-melody-length", "600", *ABC)
    assert r.code == 2 and "only 0 melodies remain" in r.err and "5 too short" in r.err
    assert "Traceback" not in r.text and r.err.strip().splitlines()[-1].startswith("error: nottingham: only 0")


def _zip_of(tree: Path, out: Path) -> Path:
    with zipfile.ZipFile(out, "w") as zf:
        for f in sorted(tree.rglob("*.abc")):
            zf.write(f, f.relative_to(tree).as_posix())
        zf.writestr("nottingham_database/NOTES.txt", "fixture")
    return out


def test_nottingham_download_verified_and_extracted(mlrun, tmp_path, private_cache):
    archive = _zip_of(nottingham_tree(tmp_path / "src"), tmp_path / "nottingham_database.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--nottingham-url", archive.as_uri(),
              "--nottingham-sha256", digest, "--model", "markov", *ABC)
    assert r.code == 0, r.text
    extracted = private_cache / "chromasonic" / "nottingham"
    assert sorted(p.name for p in extracted.iterdir()) == ["jigs.abc", "reelsa-c.abc"]


def test_nottingham_checksum_mismatch_is_refused(mlrun, tmp_path, private_cache):
    archive = _zip_of(nottingham_tree(tmp_path / "src"), tmp_path / "nottingham_database.zip")
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--nottingham-url", archive.as_uri(),
              "--model", "markov", *ABC)  # the default checksum is the real NMD zip's
    assert r.code == 2
    assert "refusing the Nottingham download" in r.err and "does not match" in r.err and "by hand" in r.err
    assert not (private_cache / "chromasonic" / "nottingham").exists()
    assert not list((private_cache / "chromasonic").glob("*.zip"))  # no half-written download left


def test_nottingham_download_failure_says_how_to_place_files(mlrun, tmp_path, private_cache):
    r = mlrun("train", "chromasonic", "--dataset", "nottingham", "--nottingham-url", "http://127.0.0.1:9/nmd.zip",
              "--model", "markov", *ABC)
    assert r.code == 2 and "Traceback" not in r.text
    assert "cannot download the Nottingham Music Database" in r.err
    assert "place the files by hand" in r.err and str(private_cache / "chromasonic" / "nottingham") in r.err
    assert "--data-dir" in r.err


def test_folk_corpus_is_real_and_offline(mlrun, tmp_path):
    r = mlrun("train", "chromasonic", "--dataset", "folk", "--folk-collections", "oneills1850", "--max-tunes", "30",
              "--model", "markov", *ABC)
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs/chromasonic/default/data_report.json").read_text())
    assert report["source"] == "folk" and report["parse"]["tunes_parsed"] == 30
    assert report["parse"]["collections"] == "oneills1850"
    assert report["stats"]["rests"] >= 0 and report["vocabulary"]["size"] > 20
    assert len(report["test_titles"]) == report["split"]["tunes"][2] == 3 and all(report["test_titles"])


def test_unknown_dataset_and_bad_options(mlrun):
    r = mlrun("train", "chromasonic", "--dataset", "essen", *ABC)
    assert r.code == 2 and "unknown dataset 'essen'" in r.err
    r = mlrun("train", "chromasonic", "--dataset", "folk", "--folk-collections", "bach", *ABC)
    assert r.code == 2 and "unknown collection 'bach'" in r.err
    r = mlrun("train", "chromasonic", "--min-melody-length", "50", "--max-melody-length", "20")
    assert r.code == 2 and "--min-melody-length 50 is larger" in r.err
