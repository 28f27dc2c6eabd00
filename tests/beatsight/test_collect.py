"""`mlrun beatsight collect ...` on rendered audio: layouts, validation, duplicates, atomic metadata, export."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from mlrun_music.fileio import current_umask
from mlrun_music_beatsight.kits.classes import COMPONENTS


def _meta(d):
    return json.loads((d / "metadata.json").read_text())


def test_add_sample_layout_duplicates_and_stats(mlrun, groove, tmp_path):
    data = tmp_path / "td"
    first = groove["hits"][0]
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], f"{first.time:.3f}", first.component,
              "--data-dir", data)
    assert r.code == 0, r.text
    assert "added 1" in r.out
    meta = _meta(data)
    assert meta["version"] == "1.0.0"
    (s,) = meta["samples"]
    assert {"id", "component", "source_audio", "onset_time", "window_ms", "sample_rate", "source", "path"} <= set(s)
    wav = data / first.component / f"{s['id']}.wav"
    assert s["path"] == f"{first.component}/{s['id']}.wav" and wav.is_file()
    audio, rate = sf.read(str(wav))
    assert rate == 44100 and len(audio) == int(round(s["window_ms"] / 1000 * 44100))
    # The same audio and onset again: not added twice.
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], f"{first.time:.3f}", first.component,
              "--data-dir", data)
    assert r.code == 0 and "added 0, duplicates 1" in r.out
    assert len(_meta(data)["samples"]) == 1
    r = mlrun("beatsight", "collect", "stats", "--data-dir", data, "--json")
    stats = json.loads(r.out)
    assert stats["total"] == 1
    assert [c["component"] for c in stats["components"]] == list(COMPONENTS)
    assert next(c for c in stats["components"] if c["component"] == first.component)["count"] == 1


def test_bad_component_time_and_audio(mlrun, groove, tmp_path):
    data = tmp_path / "td"
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], "0.5", "../../etc", "--data-dir", data)
    assert r.code != 0 and "unknown component '../../etc'" in r.err and len(r.err.strip().splitlines()) == 1
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], "0.5", "cowbell", "--data-dir", data)
    assert r.code != 0 and "unknown component 'cowbell'" in r.err
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], str(groove["duration"] + 5), "kick",
              "--data-dir", data)
    assert r.code != 0 and "outside the audio" in r.err and "TIME" in r.err
    r = mlrun("beatsight", "collect", "add-sample", groove["wav"], "-1", "kick", "--data-dir", data)
    assert r.code != 0
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF0000WAVEjunk" * 10)
    r = mlrun("beatsight", "collect", "add-sample", junk, "0.1", "kick", "--data-dir", data)
    assert r.code != 0 and "junk.wav" in r.err and "not a readable audio file" in r.err
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(44100, dtype=np.float32), 44100)
    r = mlrun("beatsight", "collect", "add-sample", silent, "0.1", "kick", "--data-dir", data)
    assert r.code != 0 and "silent" in r.err
    assert not (data / "metadata.json").exists()
    assert not list(tmp_path.glob("**/*.tmp"))


def test_extract_beatmap_hash_warning_and_export(mlrun, groove, tmp_path):
    data = tmp_path / "td"
    r = mlrun("beatsight", "collect", "extract-beatmap", groove["bsm"], groove["wav"], "--data-dir", data)
    assert r.code == 0, r.text
    n = len(groove["hits"])
    assert f"added {n}," in r.out and "warning" not in r.err
    # Same beatmap again: everything is a duplicate, metadata unchanged.
    before = (data / "metadata.json").read_bytes()
    r = mlrun("beatsight", "collect", "extract-beatmap", groove["bsm"], groove["wav"], "--data-dir", data)
    assert f"added 0, duplicates {n}" in r.out
    assert (data / "metadata.json").read_bytes() == before
    # Other audio than the beatmap names: a warning, still extracted.
    other = tmp_path / "other.wav"
    audio, rate = sf.read(str(groove["wav"]))
    sf.write(str(other), audio * 0.5, rate)
    r = mlrun("beatsight", "collect", "extract-beatmap", groove["bsm"], other, "--data-dir", data)
    assert r.code == 0 and "warning:" in r.err and "audio.hash does not match" in r.err
    samples = _meta(data)["samples"]
    assert len(samples) == 2 * n
    counts = {c: sum(s["component"] == c for s in samples) for c in COMPONENTS}

    out = tmp_path / "export"
    r = mlrun("beatsight", "collect", "export", out, "--data-dir", data, "--seed", "3")
    assert r.code == 0, r.text
    comps = json.loads((out / "components.json").read_text())
    assert comps == {"components": list(COMPONENTS), "num_classes": 12}
    train = json.loads((out / "train_labels.json").read_text())
    val = json.loads((out / "val_labels.json").read_text())
    assert len(train) + len(val) == 2 * n
    for rows, split in ((train, "train"), (val, "val")):
        for row in rows:
            assert (out / split / row["file"]).is_file()
            assert COMPONENTS[row["component_idx"]] == row["label"]
    # Stratified: every component with >= 2 samples has ~20 % in val.
    for c, k in counts.items():
        in_val = sum(r["label"] == c for r in val)
        if k >= 2:
            assert in_val == max(1, round(k * 0.2)), (c, k, in_val)
    # Seeded, and not insertion order: another seed picks other samples; the same seed the same ones.
    out2, out3 = tmp_path / "export2", tmp_path / "export3"
    mlrun("beatsight", "collect", "export", out2, "--data-dir", data, "--seed", "4")
    mlrun("beatsight", "collect", "export", out3, "--data-dir", data, "--seed", "3")
    val2 = json.loads((out2 / "val_labels.json").read_text())
    val3 = json.loads((out3 / "val_labels.json").read_text())
    assert val3 == val
    assert {r["file"] for r in val2} != {r["file"] for r in val}
    # Exporting into a non-empty folder is refused.
    r = mlrun("beatsight", "collect", "export", out, "--data-dir", data)
    assert r.code != 0 and "not empty" in r.err


def test_export_empty_collection_and_corrupt_metadata(mlrun, tmp_path):
    (tmp_path / "empty").mkdir()
    r = mlrun("beatsight", "collect", "export", tmp_path / "out", "--data-dir", tmp_path / "empty")
    assert r.code != 0 and "is empty: nothing to export" in r.err
    assert not (tmp_path / "out").exists()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metadata.json").write_text('{"samples": [{"id": "../x", "component": "kick"}')
    r = mlrun("beatsight", "collect", "stats", "--data-dir", bad)
    assert r.code != 0 and "metadata.json" in r.err and len(r.err.strip().splitlines()) == 1


def test_malformed_beatmap_is_one_line(mlrun, groove, tmp_path):
    bad = tmp_path / "bad.bsm"
    data = json.loads(groove["bsm"].read_text())
    del data["hitObjects"][3]["component"]
    bad.write_text(json.dumps(data))
    r = mlrun("beatsight", "collect", "extract-beatmap", bad, groove["wav"], "--data-dir", tmp_path / "td")
    assert r.code != 0 and "hitObjects[3].component: required key is missing" in r.err
    assert not (tmp_path / "td" / "metadata.json").exists()


def test_failed_write_leaves_metadata_intact(mlrun, groove, tmp_path, monkeypatch):
    data = tmp_path / "td"
    first = groove["hits"][0]
    assert mlrun("beatsight", "collect", "add-sample", groove["wav"], f"{first.time:.3f}", first.component,
                 "--data-dir", data).code == 0
    before = (data / "metadata.json").read_bytes()
    import mlrun_music.fileio as fileio

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, "replace", failing_replace)
    r = mlrun("beatsight", "collect", "extract-beatmap", groove["bsm"], groove["wav"], "--data-dir", data)
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1
    assert (data / "metadata.json").read_bytes() == before
    assert not [p for p in data.rglob(".*") if p.is_file()]  # no temporary files left behind


def test_missing_collection_folder_is_one_line(mlrun, tmp_path):
    """stats and export of a folder that is not there: a one-line error, not an empty collection."""
    for args in (("stats",), ("stats", "--json"), ("export", tmp_path / "out")):
        r = mlrun("beatsight", "collect", *args, "--data-dir", tmp_path / "nothing")
        assert r.code != 0 and len(r.err.strip().splitlines()) == 1, r.text
        assert "collection folder" in r.err and "does not exist" in r.err and "nothing" in r.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "nothing").exists()


def test_export_skips_unreadable_wavs_and_refuses_the_collection_folder(mlrun, groove, tmp_path):
    data = tmp_path / "td"
    assert mlrun("beatsight", "collect", "extract-beatmap", groove["bsm"], groove["wav"], "--data-dir", data).code == 0
    samples = _meta(data)["samples"]
    broken = [data / samples[i]["path"] for i in (0, 3)]
    broken[0].write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")  # a damaged header
    broken[1].write_bytes(b"")  # an empty file
    out = tmp_path / "export"
    r = mlrun("beatsight", "collect", "export", out, "--data-dir", data)
    assert r.code == 0, r.text
    assert "skipped 2 unreadable WAVs" in r.out
    assert all(str(b) in r.err for b in broken)
    train = json.loads((out / "train_labels.json").read_text())
    val = json.loads((out / "val_labels.json").read_text())
    assert len(train) + len(val) == len(samples) - 2
    assert f"exported {len(train)} training and {len(val)} validation samples" in r.out
    assert not {row["file"] for row in train + val} & {b.name for b in broken}
    assert (out.stat().st_mode & 0o777) == 0o777 & ~current_umask()  # an ordinary folder, not mkdtemp's private one
    # The collection's own folder, or a folder inside it, is refused as destination: nothing is written there.
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    for dest in (data, data / "kick" / "export", data / "sub"):
        r = mlrun("beatsight", "collect", "export", dest, "--data-dir", data)
        assert r.code != 0 and len(r.err.strip().splitlines()) == 1, r.text
        assert "inside the collection" in r.err
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
