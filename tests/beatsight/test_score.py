"""`mlrun beatsight score` against MIDI references of every timing kind, and hit times onset scoring cannot take."""

from __future__ import annotations

import io
import json
import struct

import mido
import pytest

from mlrun_music_beatsight.beatmap import bsm

#: (ms, GM note): kick, snare, closed hi-hat.
HITS = [(0, 36), (250, 42), (500, 38), (750, 42), (1000, 36), (1500, 38)]
NAMES = {36: "kick", 38: "snare", 42: "hihat_closed"}


def _midi_bytes(division: int, file_type: int = 1) -> bytes:
    """A one-track MIDI file of HITS on channel 10 whose delta times count milliseconds at 1000 ticks per second,
    with the header's format and division set to ``file_type`` and ``division`` (signed 16 bits)."""
    track = mido.MidiTrack()
    last = 0
    for ms, note in HITS:
        track.append(mido.Message("note_on", channel=9, note=note, velocity=100, time=ms - last))
        track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=0))
        last = ms
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    data = bytearray(buf.getvalue())
    assert data[:4] == b"MThd"
    data[8:10] = struct.pack(">H", file_type)
    data[12:14] = struct.pack(">h", division)
    return bytes(data)


def _estimate(path, hits):
    beatmap = bsm.new_beatmap(audio_file="song.wav", audio_hash="sha256:" + "0" * 64, duration_ms=2000,
                              sample_rate=44100, bpm=120.0,
                              hits=[{"time": ms, "component": NAMES[note]} for ms, note in hits])
    bsm.write_bsm(path, beatmap)
    return path


def test_smpte_midi_reference_is_timed_in_frames(mlrun, tmp_path):
    """25 fps x 40 ticks per frame = 1000 ticks per second: every hit matches at its millisecond."""
    ref = tmp_path / "smpte.mid"
    ref.write_bytes(_midi_bytes(-(25 << 8) + 40))
    r = mlrun("beatsight", "score", _estimate(tmp_path / "est.bsm", HITS), ref, "--json")
    assert r.code == 0, r.text
    result = json.loads(r.out)
    assert result["overall"]["f_measure"] == 1.0 and result["overall"]["reference"] == len(HITS)
    # Shifted by 100 ms (outside the 50 ms window) nothing matches: the times are really read, not just counted.
    shifted = _estimate(tmp_path / "late.bsm", [(ms + 100, n) for ms, n in HITS])
    assert json.loads(mlrun("beatsight", "score", shifted, ref, "--json").out)["overall"]["f_measure"] == 0.0


@pytest.mark.parametrize("kind, division, file_type, words", [
    ("type2", 480, 2, "type-2 MIDI file"),
    ("zero", 0, 1, "division is 0"),
    ("bad-smpte", -(31 << 8) + 40, 1, "SMPTE division"),
])
def test_midi_references_without_a_timeline_are_refused_by_name(mlrun, tmp_path, kind, division, file_type, words):
    ref = tmp_path / f"{kind}.mid"
    ref.write_bytes(_midi_bytes(division, file_type))
    r = mlrun("beatsight", "score", _estimate(tmp_path / "est.bsm", HITS), ref)
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1, r.text
    assert str(ref) in r.err and words in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("late_in", ["beatmap", "reference"])
def test_hits_past_onset_scorings_limit_name_the_file(mlrun, tmp_path, late_in):
    normal = _estimate(tmp_path / "normal.bsm", HITS)
    late = _estimate(tmp_path / "late.bsm", HITS + [(30_001_000, 36)])
    est, ref = (late, normal) if late_in == "beatmap" else (normal, late)
    r = mlrun("beatsight", "score", est, ref)
    assert r.code != 0 and len(r.err.strip().splitlines()) == 1, r.text
    assert str(late) in r.err and "30000 s" in r.err and "Traceback" not in r.err
