"""`mlrun render`: MIDI to audio with the default General MIDI soundfont; bad input is a one-line error."""

from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from mlrun_music.audio.render import DEFAULT_SOUNDFONT

pytestmark = pytest.mark.skipif(not DEFAULT_SOUNDFONT.is_file(), reason="scripts/setup.sh installs the soundfont")


def _midi(path: Path, notes: int = 8, seconds_per_note: float = 0.5, program: int = 0) -> Path:
    """A one-track MIDI file: ``notes`` piano notes of ``seconds_per_note`` each at 120 bpm."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))
    track.append(mido.Message("program_change", program=program, time=0))
    ticks = int(seconds_per_note * 960)
    for i in range(notes):
        track.append(mido.Message("note_on", note=60 + (i % 12), velocity=90, time=0))
        track.append(mido.Message("note_off", note=60 + (i % 12), velocity=0, time=ticks))
    mid.save(str(path))
    return path


def test_render_writes_audible_audio_of_the_midis_length(mlrun, tmp_path):
    midi = _midi(tmp_path / "tune.mid", notes=8)  # 4 s of music
    r = mlrun("render", "tune.mid")
    assert r.code == 0, r.text
    audio, rate = sf.read(tmp_path / "tune.wav")
    assert rate == 44100 and r.out.startswith(f"rendered tune.wav (")
    assert abs(len(audio) / rate - mido.MidiFile(str(midi)).length) < 1.0
    assert np.sqrt(np.mean(audio ** 2)) > 0.005  # clearly audible, not a silent file
    r = mlrun("render", "tune.mid", "-o", "out/tune.flac", "--sample-rate", "22050")
    assert r.code == 0, r.text
    assert sf.info(str(tmp_path / "out/tune.flac")).samplerate == 22050


@pytest.mark.parametrize("make,args,message", [
    (lambda d: (d / "a.mid").write_text("not midi at all"), ["a.mid"], "error: a.mid is not a readable MIDI file"),
    (lambda d: _midi(d / "a.mid", notes=0), ["a.mid"], "error: a.mid holds no notes; nothing to render"),
    (lambda d: _midi(d / "a.mid"), ["a.mid", "--soundfont", "none.sf2"], "error: soundfont none.sf2 does not exist"),
    (lambda d: _midi(d / "a.mid"), ["a.mid", "-o", "a.mid"], "error: --output a.mid is the MIDI file itself"),
    (lambda d: _midi(d / "a.mid"), ["a.mid", "-o", "a.txt"], "error: --output a.txt: use a .wav, .flac or .ogg"),
    (lambda d: None, ["gone.mid"], "error: gone.mid does not exist"),
])
def test_bad_input_is_one_line_and_writes_nothing(mlrun, tmp_path, make, args, message):
    make(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    r = mlrun("render", *args)
    assert r.code != 0 and r.err.count("\n") == 1 and r.err.startswith(message), r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
