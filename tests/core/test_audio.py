"""The shared audio helpers: reading/resampling, the log-mel front end (and its ONNX export), MIDI rendering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mlrun_music.audio import LogMel, load_audio
from mlrun_music.audio.render import DEFAULT_SOUNDFONT, render_midi
from mlrun_music.errors import UserError
from mlrun_music.export.onnx import export_onnx
from mlrun_music.training.types import OnnxSpec


def test_load_audio_resamples_and_mixes_down(tmp_path):
    t = np.arange(44100) / 44100
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 440 * t)], axis=1) * 0.5
    sf.write(tmp_path / "a.flac", stereo, 44100)
    audio = load_audio(tmp_path / "a.flac", 16000)
    assert audio.dtype == np.float32 and abs(len(audio) - 16000) <= 1
    spectrum = np.abs(np.fft.rfft(audio))
    assert abs(np.argmax(spectrum) * 16000 / len(audio) - 440) < 2


@pytest.mark.parametrize("content,message", [
    (b"", "the audio file is empty|not a readable audio file"),
    (b"this is not audio at all" * 10, "not a readable audio file"),
])
def test_load_audio_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as err:
        load_audio(path, 16000)
    assert str(path) in str(err.value)


def test_load_audio_rejects_silent_and_short(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(16000), 16000)
    with pytest.raises(UserError, match="silent"):
        load_audio(tmp_path / "silent.wav", 16000)
    sf.write(tmp_path / "short.wav", np.ones(800) * 0.1, 16000)
    with pytest.raises(UserError, match="shorter than the 1 s needed"):
        load_audio(tmp_path / "short.wav", 16000, min_seconds=1.0)


def _tone(seconds: float, rate: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return level * np.sin(2 * np.pi * 440 * t)


@pytest.mark.parametrize("name,make,message", [
    ("one_hz.wav", lambda p: sf.write(p, np.ones(4) * 0.5, 1), "sample rate 1 Hz is below 8000 Hz"),
    ("low.wav", lambda p: sf.write(p, _tone(1, 4000), 4000), "sample rate 4000 Hz is below 8000 Hz"),
    ("dc.wav", lambda p: sf.write(p, np.full(16000, 0.4), 16000), "a constant level (DC offset only)"),
    ("whisper.wav", lambda p: sf.write(p, _tone(1, 16000, 3e-5), 16000, subtype="FLOAT"), "silent (peak -90 dBFS)"),
    ("folder.wav", lambda p: p.mkdir(), "is a folder, not an audio file"),
])
def test_load_audio_rejects_degenerate_audio(tmp_path, name, make, message):
    make(tmp_path / name)
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load_audio(tmp_path / name, 16000)
    assert str(tmp_path / name) in str(err.value)
    assert load_audio_ok(tmp_path, 16000).size  # a normal tone still loads


def load_audio_ok(tmp_path, rate):
    sf.write(tmp_path / "tone.wav", _tone(1, 22050), 22050)
    return load_audio(tmp_path / "tone.wav", rate)


def test_load_audio_refuses_hours_before_reading(tmp_path, monkeypatch):
    from mlrun_music.audio import io

    monkeypatch.setattr(io, "MAX_SECONDS", 0.5)
    sf.write(tmp_path / "long.wav", _tone(1, 16000), 16000)
    with pytest.raises(UserError, match=r"1.0 s of audio is longer than the 0.5 s read at most"):
        load_audio(tmp_path / "long.wav", 16000)


@pytest.mark.parametrize("n_fft,hop", [(320, 320), (1024, 256)])
def test_logmel_framewise_matches_whole_and_exports_with_dynamic_time(tmp_path, n_fft, hop):
    mel = LogMel(16000, n_fft, hop, 64, fmin=27.5, fmax=8000)
    audio = torch.randn(2, 16000) * 0.1
    whole = mel(audio)
    assert whole.shape == (2, (16000 - n_fft) // hop + 1, 64)
    torch.testing.assert_close(mel.forward_frames(mel.frames(audio)), whole, atol=1e-4, rtol=1e-4)
    report = export_onnx(mel, OnnxSpec(args=(audio,), input_names=["audio"], output_names=["mel"],
                                       dynamic_axes={"audio": {0: "batch", 1: "samples"},
                                                     "mel": {0: "batch", 1: "frames"}}), tmp_path / "mel.onnx")
    assert report["max_abs_diff"] < 1e-4
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "mel.onnx"))
    longer = torch.randn(1, 24000) * 0.1
    np.testing.assert_allclose(sess.run(None, {"audio": longer.numpy()})[0], mel(longer).numpy(), atol=1e-3)


def _kick_beat(path):
    import mido

    mid = mido.MidiFile()
    track = mido.MidiTrack()
    mid.tracks.append(track)
    for i in range(8):
        track.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0 if i == 0 else 240))
        track.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=0))
    mid.save(path)
    return path


def test_render_midi_with_both_renderers(tmp_path):
    _kick_beat(tmp_path / "beat.mid")
    for renderer in ("timidity", "fluidsynth"):
        audio = render_midi(tmp_path / "beat.mid", DEFAULT_SOUNDFONT, 16000, renderer=renderer)
        assert 1.5 < len(audio) / 16000 < 6 and np.abs(audio).max() > 0.01
    (tmp_path / "bad.sf2").write_bytes(b"not a soundfont")
    with pytest.raises(UserError, match="is not a SoundFont"):
        render_midi(tmp_path / "beat.mid", tmp_path / "bad.sf2")
    with pytest.raises(UserError, match="--renderer must be one of timidity, fluidsynth"):
        render_midi(tmp_path / "beat.mid", DEFAULT_SOUNDFONT, renderer="sox")


def test_timidity_refuses_sf3(tmp_path):
    sf3 = tmp_path / "kit.sf3"
    sf3.write_bytes(DEFAULT_SOUNDFONT.read_bytes()[:12])  # a RIFF sfbk header is enough to reach the check
    with pytest.raises(UserError, match="is SF3 \\(compressed\\), which timidity cannot play; use --renderer fluidsynth"):
        render_midi(tmp_path / "none.mid", sf3, renderer="timidity")


def test_timidity_plays_a_patch_set_config(tmp_path):
    """A timidity .cfg goes where a soundfont does: one that names the soundfont renders the same audio; a text file
    without timidity directives, and fluidsynth with a .cfg, are one-line errors."""
    beat = _kick_beat(tmp_path / "beat.mid")
    cfg = tmp_path / "kit.cfg"
    cfg.write_text(f'# our kit\nsoundfont "{DEFAULT_SOUNDFONT}"\n', encoding="utf-8")
    direct = render_midi(beat, DEFAULT_SOUNDFONT, 16000, renderer="timidity")
    via_cfg = render_midi(beat, cfg, 16000, renderer="timidity")
    assert len(via_cfg) == len(direct) and np.abs(direct).max() > 0.01
    assert np.allclose(via_cfg, direct, atol=1e-4)
    with pytest.raises(UserError, match="only timidity plays; use --renderer timidity"):
        render_midi(beat, cfg, renderer="fluidsynth")
    (tmp_path / "notes.cfg").write_text("hello = world\n", encoding="utf-8")
    with pytest.raises(UserError, match="notes.cfg is not a timidity patch-set config"):
        render_midi(beat, tmp_path / "notes.cfg", renderer="timidity")


@pytest.mark.skipif(not Path("/etc/timidity/freepats.cfg").is_file(), reason="freepats is not installed")
def test_freepats_renders_drums(tmp_path):
    audio = render_midi(_kick_beat(tmp_path / "beat.mid"), "/etc/timidity/freepats.cfg", 16000, renderer="timidity")
    assert np.abs(audio).max() > 0.01


def test_load_audio_judges_dc_at_the_files_own_rate_and_refuses_a_truncated_wav(tmp_path):
    # A constant at 16 kHz read at 22.05 kHz rings at its edges after resampling; it is still only DC.
    sf.write(tmp_path / "dc.wav", np.full(16000, 0.5, np.float32), 16000, subtype="FLOAT")
    with pytest.raises(UserError, match="constant level"):
        load_audio(tmp_path / "dc.wav", 22050)
    tone = (0.3 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000)).astype(np.float32)
    sf.write(tmp_path / "tone.wav", tone, 16000, subtype="FLOAT")
    whole = (tmp_path / "tone.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UserError, match=r"cut\.wav: the WAV file is truncated \(its header declares 64000 bytes"):
        load_audio(tmp_path / "cut.wav", 16000)
    assert len(load_audio(tmp_path / "tone.wav", 22050)) == 22050
