"""mlrun_music.midi.read_midi: degenerate MIDI files are refused by name, in one line."""

from __future__ import annotations

import mido
import pytest

from mlrun_music.errors import UserError
from mlrun_music.midi import read_midi


def write(path, *, type=1, division=480, tempo=500000, notes=4):
    mid = mido.MidiFile(type=type, ticks_per_beat=division if division > 0 else 480)
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)])
    for _ in range(notes):
        track += [mido.Message("note_on", note=60, velocity=80, time=0), mido.Message("note_off", note=60, time=240)]
    mid.tracks.append(track)
    if type == 2:
        mid.tracks.append(mido.MidiTrack([mido.Message("note_on", note=64, velocity=80)]))
    mid.save(str(path))
    if division <= 0:  # mido refuses to write these; patch the header's division field
        raw = bytearray(path.read_bytes())
        raw[12:14] = (division & 0xFFFF).to_bytes(2, "big")
        path.write_bytes(bytes(raw))
    return path


def test_a_plain_file_is_read(tmp_path):
    mid = read_midi(write(tmp_path / "ok.mid"))
    assert mid.ticks_per_beat == 480 and abs(mid.length - 1.0) < 1e-6


@pytest.mark.parametrize("kwargs,message", [
    ({"type": 2}, "a type-2 MIDI file (independent sequences without a common timeline) is not supported"),
    ({"division": 0}, "the time division is 0 ticks per beat"),
    ({"division": -(25 << 8) + 40}, "SMPTE time division (frames per second, no beats) is not supported here"),
    ({"tempo": 0}, "a tempo of 0 microseconds per beat (every event at the same instant)"),
])
def test_degenerate_files_are_refused_by_name(tmp_path, kwargs, message):
    path = write(tmp_path / "bad.mid", **kwargs)
    with pytest.raises(UserError) as err:
        read_midi(path)
    assert str(err.value) == f"{path}: {message}"


def test_smpte_is_accepted_when_the_caller_can_use_it_and_lengths_are_bounded(tmp_path):
    assert read_midi(write(tmp_path / "smpte.mid", division=-(25 << 8) + 40), smpte=True).ticks_per_beat < 0
    with pytest.raises(UserError, match=r"long\.mid lasts 60 s; at most 10 s of music is read"):
        read_midi(write(tmp_path / "long.mid", notes=240), max_seconds=10)
    for path, message in [(tmp_path, "is a folder"), (tmp_path / "none.mid", "does not exist")]:
        with pytest.raises(UserError, match=message):
            read_midi(path)
    (tmp_path / "text.mid").write_text("not midi")
    with pytest.raises(UserError, match="is not a readable MIDI file"):
        read_midi(tmp_path / "text.mid")
