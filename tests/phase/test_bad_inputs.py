"""Bad input: one-line errors with non-zero exits, or skips counted by reason; nothing half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

from tests.phase.conftest import SF2, TINY, read_json


def _song(path: Path, *, timesig: bool = True, drums: bool = True, num: int = 4, den: int = 4,
          midi_type: int = 1) -> None:
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=96)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    if timesig:
        tr.append(mido.MetaMessage("time_signature", numerator=num, denominator=den))
    for i in range(40):
        ch = 9 if drums else 0
        tr.append(mido.Message("note_on", channel=ch, note=36 if drums else 60, velocity=100, time=0))
        tr.append(mido.Message("note_off", channel=ch, note=36 if drums else 60, velocity=0, time=96))
    if midi_type == 2:
        mid.tracks.append(mido.MidiTrack(tr))
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))


def test_render_skips_bad_midi_by_reason_and_keeps_going(mlrun, tmp_path):
    lakh = tmp_path / "lakh"
    _song(lakh / "good" / "ok.mid")
    _song(lakh / "a" / "nodrums.mid", drums=False)
    _song(lakh / "a" / "notimesig.mid", timesig=False)
    _song(lakh / "a" / "type2.mid", midi_type=2)
    _song(lakh / "a" / "meter.mid", num=0, den=64)
    (lakh / "b").mkdir()
    (lakh / "b" / "empty.mid").write_bytes(b"")
    (lakh / "b" / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage-not-midi")
    r = mlrun("phase", "render", "--midi-path", lakh, "--single-soundfont", SF2, "--out-path", "out",
              "--max-processes", "2")
    assert r.code == 0, r.err
    assert "skipped 6 of 7" in r.out and "skipped ratio 85.7%" in r.out
    report = read_json(tmp_path / "out" / "render_report.json")
    assert report["skipped_by_reason"] == {"MIDI type 2": 1, "no time signature at tick 0": 1, "invalid meter": 1,
                                           "too few drum notes": 1, "unreadable MIDI": 2}
    assert (tmp_path / "out" / "good" / "ok" / "render.json").is_file()
    assert not (tmp_path / "out" / "a").exists()  # nothing written for skipped songs


def test_render_errors_are_one_line(mlrun, tmp_path, monkeypatch):
    _song(tmp_path / "lakh" / "x" / "s.mid")
    (tmp_path / "nomidi").mkdir()
    (tmp_path / "nomidi" / "readme.txt").write_text("no midi here")
    r = mlrun("phase", "render", "--midi-path", "nomidi", "--out-path", "o")
    assert r.code == 2 and "no .mid files" in r.err and "nomidi" in r.err
    r = mlrun("phase", "render", "--midi-path", "lakh", "--single-soundfont", "missing.sf2", "--out-path", "o")
    assert r.code == 2 and "missing.sf2" in r.err and "does not exist" in r.err
    (tmp_path / "bad.sf2").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    r = mlrun("phase", "render", "--midi-path", "lakh", "--single-soundfont", "bad.sf2", "--out-path", "o")
    assert r.code == 2 and "bad.sf2" in r.err and "not a SoundFont" in r.err
    # A failing render of every song ends with an error after the report.
    monkeypatch.setenv("PATH", str(tmp_path / "nobin"))
    r = mlrun("phase", "render", "--midi-path", "lakh", "--single-soundfont", SF2, "--out-path", "o",
              "--renderer", "timidity")
    assert r.code == 2 and "timidity is not installed" in r.err and "apt-get install" in r.err
    for text in (r.err,):
        assert "Traceback" not in text and len(text.strip().splitlines()) == 1


def test_render_timidity_refuses_sf3(mlrun, tmp_path):
    _song(tmp_path / "lakh" / "x" / "s.mid")
    fake = tmp_path / "font.sf3"
    shutil.copy(SF2, fake)
    r = mlrun("phase", "render", "--midi-path", "lakh", "--single-soundfont", fake, "--out-path", "o",
              "--renderer", "timidity")
    assert r.code == 2 and "SF3" in r.err


def test_chunk_folders_with_missing_or_short_labels(mlrun, tmp_path, corpus):
    chunks = tmp_path / "chunks"
    chunks.mkdir()
    names = sorted(p.stem for p in corpus.chunks.glob("*.phase"))[:4]
    for n in names:
        for suffix in (".ogg", ".phase"):
            shutil.copy(corpus.chunks / f"{n}{suffix}", chunks / f"{n}{suffix}")
    (chunks / f"{names[0]}.phase").unlink()  # missing label
    lines = (chunks / f"{names[1]}.phase").read_text().splitlines()
    (chunks / f"{names[1]}.phase").write_text("\n".join(lines[:100]) + "\n")  # short label
    r = mlrun("train", "phase", "--chunks-path", chunks, "--checkpoints-path", "ck", "--tag", "t", "--num-epochs", "1",
              "--val-fraction", "0.5", "--max-steps", "1", *TINY)
    assert r.code == 0, r.err
    report = read_json(tmp_path / "ck" / "phase" / "t" / "data_report.json")
    assert report["chunks"] == 2
    assert report["skipped_by_reason"] == {"missing .phase file": 1, "short .phase file (< 350 values)": 1}
    # Only bad chunks: a one-line error naming the folder.
    for n in names[2:]:
        (chunks / f"{n}.phase").write_text("0.5\n")
    r = mlrun("train", "phase", "--chunks-path", chunks, "--checkpoints-path", "ck", "--tag", "t2", *TINY)
    assert r.code == 2 and "no usable chunk" in r.err and str(chunks) in r.err
    r = mlrun("train", "phase", "--chunks-path", corpus.chunks, "--checkpoints-path", "ck", "--tag", "t3",
              *TINY, "--warmup-seconds", "6")
    assert r.code == 2 and "--warmup-seconds" in r.err


def test_apply_rejects_bad_audio_and_foreign_checkpoints(mlrun, tmp_path, corpus):
    ck = corpus.checkpoint
    (tmp_path / "text.ogg").write_text("not audio at all")
    r = mlrun("phase", "apply", ck, "text.ogg")
    assert r.code == 2 and "text.ogg" in r.err and "not a readable audio file" in r.err
    sf.write(str(tmp_path / "silent.wav"), np.zeros(16000 * 3, dtype=np.float32), 16000)
    r = mlrun("phase", "apply", ck, "silent.wav")
    assert r.code == 2 and "silent" in r.err
    sf.write(str(tmp_path / "short.wav"), 0.1 * np.ones(8000, dtype=np.float32), 16000)  # 0.5 s < 1 s warmup
    r = mlrun("phase", "apply", ck, "short.wav")
    assert r.code == 2 and "short.wav" in r.err and "shorter" in r.err
    assert not (tmp_path / "short.wav.phase_prediction").exists()
    r = mlrun("phase", "apply", ck, next(corpus.chunks.glob("*.ogg")), "--anticipation", "3")
    assert r.code == 2 and "--anticipation" in r.err
    # A checkpoint of another task.
    from mlrun_music.training.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "other.pt", {"task": "toy", "model_name": "mlp", "config": {}, "model": {}})
    r = mlrun("phase", "apply", tmp_path / "other.pt", next(corpus.chunks.glob("*.ogg")))
    assert r.code == 2 and "belongs to task 'toy'" in r.err
    r = mlrun("phase", "apply", "--onnx-model", "nothing.onnx", next(corpus.chunks.glob("*.ogg")))
    assert r.code == 2 and "nothing.onnx" in r.err


def _timed_song(path: Path, *, tempo: int | None = None, last_delta: int = 96) -> None:
    """A drum song like :func:`_song` with a set_tempo of ``tempo`` and the last note ending ``last_delta`` ticks
    after its start."""
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    tr = mido.MidiTrack()
    mid.tracks.append(tr)
    tr.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    if tempo is not None:
        tr.append(mido.MetaMessage("set_tempo", tempo=tempo))
    for i in range(40):
        tr.append(mido.Message("note_on", channel=9, note=36, velocity=100, time=0))
        tr.append(mido.Message("note_off", channel=9, note=36, velocity=0, time=last_delta if i == 39 else 96))
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(str(path))


def test_render_and_chop_skip_undecodable_names_and_broken_timing(mlrun, tmp_path):
    """A name that is not UTF-8, a corrupt file, tempo 0, SMPTE timing and absurdly many bars: each skipped and
    counted by reason, the good song rendered and chopped, no traceback."""
    lakh = tmp_path / "lakh"
    _song(lakh / "good" / "ok.mid")
    bad_name = Path(os.fsdecode(os.fsencode(lakh / "a") + b"/bad\xff.mid"))
    _song(bad_name)
    (lakh / "a" / "corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60MTrk\x00\x00\xff\xff\x00")
    _timed_song(lakh / "a" / "tempo0.mid", tempo=0)
    _song(lakh / "a" / "smpte.mid")
    header = bytearray((lakh / "a" / "smpte.mid").read_bytes())
    header[12:14] = b"\xe7\x28"  # division: -25 frames per second, 40 ticks per frame
    (lakh / "a" / "smpte.mid").write_bytes(bytes(header))
    # 1 microsecond per beat: 10 s of ticks hold millions of bars.
    _timed_song(lakh / "a" / "bars.mid", tempo=1, last_delta=1_000_000_000)
    r = mlrun("phase", "render", "--midi-path", lakh, "--single-soundfont", SF2, "--out-path", "out",
              "--max-processes", "2", "--midi-jitter-max-seconds", "0.02")
    assert r.code == 0, r.err
    assert "Traceback" not in r.out + r.err
    assert "rendered 1, already done 0, skipped 5 of 6 songs" in r.out
    report = read_json(tmp_path / "out" / "render_report.json")
    assert report["skipped_by_reason"] == {"file name not UTF-8": 1, "unreadable MIDI": 1, "invalid tempo": 1,
                                           "SMPTE time division": 1, "too many bars": 1}
    assert {"lakh/a/bad\\xff.mid"} == {Path(s["midi"]).relative_to(tmp_path).as_posix() for s in
                                       report["skipped_files"] if s["reason"] == "file name not UTF-8"}
    assert (tmp_path / "out" / "good" / "ok" / "render.json").is_file()
    assert not (tmp_path / "out" / "a").exists()
    # A rendered-song folder whose name is not UTF-8 is skipped by chop, the others chopped.
    shutil.copytree(tmp_path / "out" / "good", Path(os.fsdecode(os.fsencode(tmp_path / "out") + b"/b\xffd")))
    r = mlrun("phase", "chop", "--in-path", "out", "--out-path", "chunks", "--chunk-seconds", "6")
    assert r.code == 0, r.err
    assert "songs skipped: 1" in r.out and "Traceback" not in r.out + r.err
    chop = read_json(tmp_path / "chunks" / "chop_report.json")
    assert chop["skipped_songs"] == {"b\\xffd/ok": "folder name not UTF-8"}
    assert chop["chunks"] >= 1 and all(c["song"] == "good-ok" for c in read_json(tmp_path / "chunks" /
                                                                                 "chunks.json")["chunks"])


def test_size_options_have_limits_checked_before_any_work(mlrun, tmp_path):
    """Sizes past the documented range end at once with one line naming the option and the range."""
    cases = [
        (["phase", "generate", "--out-path", "g", "--song-seconds", "1e7"], "--song-seconds", "5.0<=x<=1000.0"),
        (["phase", "generate", "--out-path", "g", "--count", "10000000"], "--count", "1<=x<=100000"),
        (["phase", "generate", "--out-path", "g", "--count", "0"], "--count", "1<=x<=100000"),
        (["phase", "chop", "--in-path", "r", "--out-path", "g", "--chunk-seconds", "1e7"], "--chunk-seconds",
         "2.0<=x<=600.0"),
        (["phase", "chop", "--in-path", "r", "--out-path", "g", "--label-extra-seconds", "50"],
         "--label-extra-seconds", "0.0<=x<=1.0"),
        (["phase", "render", "--midi-path", "m", "--out-path", "g", "--midi-jitter-max-seconds", "30"],
         "--midi-jitter-max-seconds", "0.0<=x<=0.5"),
    ]
    for args, option, allowed in cases:
        r = mlrun(*args)
        assert r.code == 2, (args, r.out, r.err)
        assert option in r.err and allowed in r.err and len(r.err.strip().splitlines()) == 1, r.err
        assert not (tmp_path / "g").exists()
    from mlrun_music_phase.data.generate import generate_corpus
    from mlrun_music.errors import UserError

    try:
        generate_corpus(tmp_path / "g", 2, seconds=1e7)
    except UserError as exc:
        assert "--song-seconds must be in [5, 1000]" in str(exc)
    else:
        raise AssertionError("generate_corpus accepted 1e7 seconds per song")
    assert not (tmp_path / "g").exists()


def test_apply_refuses_degenerate_audio_in_one_line(mlrun, tmp_path, corpus):
    """A 1 Hz sample rate, 10 ms of audio, near silence and a DC level: one line naming the file, nothing written."""
    rng = np.random.default_rng(0)
    sf.write(str(tmp_path / "rate1.wav"), rng.normal(0, 0.1, 20).astype(np.float32), 1)
    sf.write(str(tmp_path / "tenms.wav"), rng.normal(0, 0.1, 160).astype(np.float32), 16000)
    sf.write(str(tmp_path / "quiet.wav"), (1e-6 * rng.normal(size=16000 * 3)).astype(np.float32), 16000)
    sf.write(str(tmp_path / "dc.wav"), np.full(16000 * 3, 0.3, dtype=np.float32), 16000)
    for name, why, extra in (("rate1.wav", "sample rate 1 Hz", []), ("tenms.wav", "shorter", ["--warmup-seconds", "0"]),
                             ("quiet.wav", "silent", []), ("dc.wav", "constant level", [])):
        for mode in ([], ["--streaming"]):
            r = mlrun("phase", "apply", corpus.checkpoint, name, *extra, *mode)
            assert r.code == 2 and name in r.err and why in r.err, r.err
            assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
            assert not (tmp_path / f"{name}.phase_prediction").exists()
