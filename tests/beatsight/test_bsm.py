"""The .bsm reader/writer: required keys, types, sorting, unknown keys kept, errors naming the JSON path."""

from __future__ import annotations

import copy
import json

import pytest

from mlrun_music.errors import UserError
from mlrun_music_beatsight.beatmap import bsm

MINIMAL = {
    "version": "1.0.0",
    "metadata": {"title": "t", "artist": "a", "creator": "c", "difficulty": 3, "beatmapId": "x",
                 "createdAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"},
    "audio": {"filename": "audio.mp3", "hash": "sha256:" + "0" * 64, "duration": 60000, "sampleRate": 44100},
    "timing": {"bpm": 120.0, "offset": 0, "timeSignature": "4/4"},
    "drumKit": {"components": ["kick", "snare", "hihat_closed"]},
    "hitObjects": [{"time": 0, "component": "kick", "lane": 0}, {"time": 500, "component": "hihat_closed", "lane": 3}],
}


def test_round_trip_keeps_unknown_keys_and_fills_velocity(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["futureKey"] = {"anything": [1, 2]}
    data["hitObjects"][0]["customFlag"] = True
    path = tmp_path / "m.bsm"
    path.write_text(json.dumps(data))
    read = bsm.read_bsm(path)
    assert read["futureKey"] == {"anything": [1, 2]}
    assert read["hitObjects"][0]["customFlag"] is True
    assert read["hitObjects"][1]["velocity"] == 0.8
    bsm.write_bsm(tmp_path / "out.bsm", read)
    again = bsm.read_bsm(tmp_path / "out.bsm")
    assert again == read
    assert bsm.hit_times_by_component(again)["hihat_closed"] == [0.5]


@pytest.mark.parametrize("mutate, path", [
    (lambda d: d.pop("timing"), "timing: required key is missing"),
    (lambda d: d["metadata"].pop("title"), "metadata.title: required key is missing"),
    (lambda d: d["hitObjects"][1].__setitem__("time", "500"), "hitObjects[1].time: must be an integer"),
    (lambda d: d["hitObjects"][1].__setitem__("time", 12.5), "hitObjects[1].time: must be an integer"),
    (lambda d: d["hitObjects"].reverse(), "hitObjects[1].time: hit objects must be sorted"),
    (lambda d: d["hitObjects"][0].__setitem__("component", "cowbell"), "hitObjects[0].component: unknown component"),
    (lambda d: d["hitObjects"][0].__setitem__("velocity", 1.5), "hitObjects[0].velocity: must be in"),
    (lambda d: d["audio"].__setitem__("hash", "md5:abc"), "audio.hash: must be 'sha256:'"),
    (lambda d: d["timing"].__setitem__("timeSignature", "four"), "timing.timeSignature"),
    (lambda d: d["metadata"].__setitem__("difficulty", 11), "metadata.difficulty: must be in"),
    (lambda d: d.__setitem__("drumKit", []), "drumKit: must be an object"),
])
def test_malformed_beatmaps_name_the_json_path(tmp_path, mutate, path):
    data = copy.deepcopy(MINIMAL)
    mutate(data)
    f = tmp_path / "bad.bsm"
    f.write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        bsm.read_bsm(f)
    assert str(err.value).startswith(f"{f}: {path}")
    assert "\n" not in str(err.value)


def test_hit_index_twelve_is_named(tmp_path):
    data = copy.deepcopy(MINIMAL)
    data["hitObjects"] = [{"time": i * 100, "component": "snare"} for i in range(20)]
    data["hitObjects"][12]["time"] = -1
    f = tmp_path / "bad.bsm"
    f.write_text(json.dumps(data))
    with pytest.raises(UserError, match=r"hitObjects\[12\]\.time"):
        bsm.read_bsm(f)


def test_not_json_and_writer_refuses_invalid(tmp_path):
    f = tmp_path / "x.bsm"
    f.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        bsm.read_bsm(f)
    bad = copy.deepcopy(MINIMAL)
    bad["hitObjects"][0]["time"] = 900
    with pytest.raises(UserError, match=r"hitObjects\[1\]\.time"):
        bsm.write_bsm(tmp_path / "never.bsm", bad)
    assert not (tmp_path / "never.bsm").exists()
