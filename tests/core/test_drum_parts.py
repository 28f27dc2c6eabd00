"""mlrun_music.drum_parts: drum hits from General MIDI files and Hydrogen songs the tests write."""

from __future__ import annotations

import mido
import pytest

from mlrun_music.drum_parts import DrumPart, drum_files, gm_note_for, read_drum_part, read_drum_parts
from mlrun_music.errors import UserError


def write_gm(path, *, tempo=500000, time_signature=(4, 4), tempo_change=None):
    """Two tracks: drums on channel 10 (kick, snare, hi-hat) and a C major triad on channel 1."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo, time=0)])
    if time_signature:
        meta.append(mido.MetaMessage("time_signature", numerator=time_signature[0],
                                     denominator=time_signature[1], time=0))
    if tempo_change:
        meta.append(mido.MetaMessage("set_tempo", tempo=tempo_change, time=480 * 4))
    drums = mido.MidiTrack([
        mido.Message("note_on", channel=9, note=36, velocity=127, time=0),
        mido.Message("note_on", channel=9, note=42, velocity=64, time=0),
        mido.Message("note_off", channel=9, note=36, velocity=0, time=60),
        mido.Message("note_on", channel=9, note=42, velocity=0, time=0),  # a note-on of velocity 0 is a release
        mido.Message("note_on", channel=9, note=38, velocity=100, time=420 + 120),  # beat 1.25: a 16th late
        mido.Message("note_off", channel=9, note=38, velocity=0, time=60),
        mido.Message("note_on", channel=9, note=36, velocity=90, time=480 * 7 - 660),
        mido.Message("note_off", channel=9, note=36, velocity=0, time=480),
    ])
    keys = mido.MidiTrack()
    for note in (60, 64, 67):
        keys.append(mido.Message("note_on", channel=0, note=note, velocity=80, time=0))
    keys.append(mido.Message("note_off", channel=0, note=60, velocity=0, time=480))
    mid.tracks += [meta, drums, keys]
    mid.save(str(path))
    return path


H2SONG = """<?xml version="1.0" encoding="UTF-8"?>
<song>
 <bpm>96</bpm>
 <instrumentList>
  <instrument><id>0</id><name>Kick Long</name><midiOutNote>36</midiOutNote></instrument>
  <instrument><id>1</id><name>Closed Hat</name><midiOutNote>44</midiOutNote></instrument>
  <instrument><id>2</id><name>Snare 1</name><midiOutNote>38</midiOutNote></instrument>
  <instrument><id>3</id><name>Zap</name><midiOutNote>60</midiOutNote></instrument>
 </instrumentList>
 <patternList>
  <pattern><name>a</name><size>192</size><denominator>4</denominator><noteList>
   <note><position>0</position><leadlag>0</leadlag><velocity>0.8</velocity><instrument>0</instrument></note>
   <note><position>48</position><leadlag>0.5</leadlag><velocity>0.5</velocity><instrument>2</instrument></note>
   <note><position>96</position><leadlag>0</leadlag><velocity>0.3</velocity><instrument>3</instrument></note>
   <note><position>120</position><leadlag>0</leadlag><velocity>1</velocity><instrument>0</instrument>
    <note_off>true</note_off></note>
  </noteList></pattern>
  <pattern><name>hats</name><size>96</size><denominator>4</denominator><noteList>
   <note><position>12</position><leadlag>0</leadlag><velocity>0.25</velocity><instrument>1</instrument></note>
  </noteList></pattern>
 </patternList>
 <patternSequence>
  <group><patternID>a</patternID><patternID>hats</patternID></group>
  <group><patternID>hats</patternID></group>
  <group><patternID>a</patternID></group>
 </patternSequence>
</song>
"""


def rows(part: DrumPart) -> list[tuple[float, int, float]]:
    return [(round(h.beat, 4), h.note, round(h.velocity, 4)) for h in part.hits]


def test_gm_midi_drums_are_channel_ten_hits_in_beats(tmp_path):
    part = read_drum_part(write_gm(tmp_path / "song.mid"))
    assert rows(part) == [(0.0, 36, 1.0), (0.0, 42, round(64 / 127, 4)), (1.25, 38, round(100 / 127, 4)),
                          (7.0, 36, round(90 / 127, 4))]
    assert part.bpm == pytest.approx(120.0)
    assert part.beats_per_bar == 4.0
    assert part.pitch_classes == (1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0)  # C, E, G on channel 1
    assert part.source == str(tmp_path / "song.mid")


def test_gm_midi_meter_and_mean_tempo(tmp_path):
    # 4 beats at 120 bpm then 4 at 60 bpm: 8 beats in 6 s is a mean of 80 bpm; hit beats do not move.
    part = read_drum_part(write_gm(tmp_path / "slow.mid", tempo_change=1000000, time_signature=(3, 4)))
    assert part.bpm == pytest.approx(80.0)
    assert part.beats_per_bar == 3.0
    assert [h.beat for h in part.hits][-1] == pytest.approx(7.0)
    assert read_drum_part(write_gm(tmp_path / "six8.mid", time_signature=(6, 8))).beats_per_bar == 3.0
    assert read_drum_part(write_gm(tmp_path / "none.mid", time_signature=None)).beats_per_bar == 4.0


def test_hydrogen_song_patterns_are_laid_end_to_end(tmp_path):
    path = tmp_path / "demo.h2song"
    path.write_text(H2SONG, encoding="utf-8")
    part = read_drum_part(path)
    # Column 1 (a + hats, 4 beats), column 2 (hats, 2 beats), column 3 (a) starts at beat 6.
    assert rows(part) == [(0.0, 36, 0.8), (0.25, 42, 0.25), (round(1 + 2.5 / 48, 4), 38, 0.5),
                          (4.25, 42, 0.25), (6.0, 36, 0.8), (round(7 + 2.5 / 48, 4), 38, 0.5)]
    assert part.bpm == 96.0
    assert part.beats_per_bar is None  # patterns of 4 and 2 beats
    assert part.unmapped_hits == 2  # "Zap" twice; the stop-note is no hit
    assert part.pitch_classes is None


def test_instrument_names_map_to_gm_notes():
    assert [gm_note_for(n) for n in ("Kick", "Hat Pedal", "Hat Semi-Open", "HiHat", "Tom 1", "Floor Tom",
                                     "Snare Rimshot", "Cowbell", "Ride Bell", "Ride 2", "Crash", "Hand Clap",
                                     "Whoosh")] == [36, 44, 46, 42, 50, 41, 37, 56, 53, 51, 49, 39, None]


def test_round_trip_through_a_plain_dict(tmp_path):
    part = read_drum_part(write_gm(tmp_path / "song.mid"))
    assert DrumPart.from_dict(part.to_dict()) == part


@pytest.mark.parametrize("name,content,message", [
    ("broken.h2song", "<song><bpm>120</bpm><patternList>", "not well-formed XML"),
    ("other.h2song", "<drumkit_info/>", "not a Hydrogen song"),
    ("nobpm.h2song", "<song><bpm>fast</bpm></song>", "bpm is not a number"),
    ("ghost.h2song", "<song><bpm>120</bpm><patternSequence><group><patternID>x</patternID></group>"
                     "</patternSequence></song>", "names a pattern that does not exist"),
])
def test_bad_hydrogen_files_are_refused_by_name(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as err:
        read_drum_part(path)
    text = str(err.value)
    assert str(path) in text and message in text and "\n" not in text


def test_corrupt_midi_and_unknown_suffix_are_refused_by_name(tmp_path):
    bad = tmp_path / "corrupt.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    with pytest.raises(UserError, match="corrupt.mid"):
        read_drum_part(bad)
    with pytest.raises(UserError, match="notes.txt"):
        read_drum_part(tmp_path / "notes.txt")


def test_drum_files_lists_both_kinds_recursively(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write_gm(tmp_path / "a" / "x.MID")
    (tmp_path / "b" / "y.h2song").write_text(H2SONG, encoding="utf-8")
    (tmp_path / "b" / "readme.txt").write_text("no", encoding="utf-8")
    assert drum_files([tmp_path, tmp_path / "missing"]) == [tmp_path / "a" / "x.MID", tmp_path / "b" / "y.h2song"]


def write_wad(path, lumps, *, ident=b"PWAD"):
    """A WAD: header, the lumps' bytes, then the directory (offset, size, 8-byte name)."""
    import struct

    body, entries, offset = b"", b"", 12
    for name, data in lumps:
        entries += struct.pack("<ii8s", offset, len(data), name.encode())
        body += data
        offset += len(data)
    path.write_bytes(ident + struct.pack("<ii", len(lumps), offset) + body + entries)
    return path


def test_wad_music_lumps_are_read_as_midi_and_bad_lumps_reported(tmp_path):
    midi = write_gm(tmp_path / "song.mid").read_bytes()
    wad = write_wad(tmp_path / "music.wad", [("THINGS", b"\x00" * 10), ("D_ONE", midi),
                                             ("D_TWO", b"MUS\x1a" + b"\x00" * 12), ("D_BAD", b"MThd\x00\x00")])
    parts, problems = read_drum_parts(wad)
    assert [p.source for p in parts] == [f"{wad}:D_ONE"]
    assert rows(parts[0]) == rows(read_drum_part(tmp_path / "song.mid"))
    assert len(problems) == 2
    assert problems[0] == f"{wad}:D_TWO: a MUS lump (only MIDI music lumps are read)"
    assert problems[1].startswith(f"{wad}:D_BAD is not a readable MIDI file")
    assert read_drum_parts(tmp_path / "song.mid")[0][0] == read_drum_part(tmp_path / "song.mid")
    assert drum_files([tmp_path]) == [wad, tmp_path / "song.mid"]


def test_broken_wads_are_refused_by_name(tmp_path):
    good = write_wad(tmp_path / "good.wad", [("D_ONE", write_gm(tmp_path / "s.mid").read_bytes())]).read_bytes()
    far = bytearray(good)
    far[-16:-12] = (10**6).to_bytes(4, "little")  # the one directory entry's offset, past the end
    cases = {"short.wad": good[:8], "nohead.wad": b"JUNK" + good[4:], "cut.wad": good[:-4], "lump.wad": bytes(far)}
    expected = {"short.wad": "not a WAD file", "nohead.wad": "not a WAD file", "cut.wad": "lies outside the file",
                "lump.wad": "lump D_ONE (bytes 1000000-"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UserError) as err:
            read_drum_parts(path)
        assert str(path) in str(err.value) and expected[name] in str(err.value), (name, str(err.value))
