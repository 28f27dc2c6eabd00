"""generate, render and chop through the CLI, checked on the files they write."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
import soundfile as sf

from tests.phase.conftest import SF2, read_json

FPS = 50


def _meta(path: Path) -> tuple[list, list]:
    mid = mido.MidiFile(str(path))
    sigs, tempos = [], []
    for track in mid.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "time_signature":
                sigs.append((tick, f"{msg.numerator}/{msg.denominator}"))
            elif msg.type == "set_tempo":
                tempos.append((tick, msg.tempo))
    return sigs, tempos


def test_generate_meters_tempo_changes_pickups_deterministic(mlrun, tmp_path):
    meters = "2/4,3/4,4/4,5/4,6/8,7/8,12/8"
    assert mlrun("phase", "generate", "--out-path", "a", "--count", "14", "--meters", meters,
                 "--song-seconds", "40", "--seed", "3").code == 0
    manifest = read_json(tmp_path / "a" / "generate_manifest.json")
    files = sorted((tmp_path / "a").rglob("*.mid"))
    assert len(files) == 14
    seen = set()
    changes = 0
    for f in files:
        sigs, tempos = _meta(f)
        assert sigs[0][0] == 0  # a time signature at tick 0, as render requires
        seen.update(m for _, m in sigs)
        changes += len({t for _, t in tempos}) > 1
        mid = mido.MidiFile(str(f))
        channels = {m.channel for tr in mid.tracks for m in tr if m.type == "note_on"}
        assert {0, 1, 2, 9} <= channels  # bass, chords, melody and drums
    assert seen >= set(meters.split(","))
    assert changes >= 3  # tempo changes happen
    assert any(s["pickup"] for s in manifest["songs"]) and len({s["programs"]["chords"]
                                                                for s in manifest["songs"]}) > 3
    # Same seed, same songs; another seed, other songs.
    assert mlrun("phase", "generate", "--out-path", "b", "--count", "2", "--meters", meters, "--song-seconds", "40",
                 "--seed", "3").code == 0
    assert mlrun("phase", "generate", "--out-path", "c", "--count", "2", "--meters", meters, "--song-seconds", "40",
                 "--seed", "4").code == 0
    a0 = (tmp_path / "a" / "synth_00" / "song_00000.mid").read_bytes()
    assert a0 == (tmp_path / "b" / "synth_00" / "song_00000.mid").read_bytes()
    assert a0 != (tmp_path / "c" / "synth_00" / "song_00000.mid").read_bytes()
    bad = mlrun("phase", "generate", "--out-path", "d", "--meters", "9/7")
    assert bad.code != 0 and "9/7" in bad.err


def test_render_outputs_follow_meter_and_tempo_map(corpus):
    report = read_json(corpus.rendered / "render_report.json")
    assert report["rendered"] == 4 and report["skipped"] == 0
    manifest = read_json(corpus.midi / "generate_manifest.json")
    for song in manifest["songs"]:
        folder = corpus.rendered / Path(song["file"]).with_suffix("")
        info = read_json(folder / "render.json")
        audio, rate = sf.read(str(folder / info["audio"]))
        assert rate == 16000 and audio.ndim == 1 and info["audio"] == "TimGM6mb.ogg"
        bars = np.loadtxt(folder / "bars.csv", delimiter=",", ndmin=1)
        events = np.loadtxt(folder / "events.csv", delimiter=",", ndmin=2)
        assert events.shape[1] == 3 and len(events) >= 20
        assert np.all((events[:, 2] > 0) & (events[:, 2] <= 1))
        assert set(events[:, 1].astype(int)) >= {36}
        # The first bar is at or after the first drum note (give the jitter 10 ms).
        assert bars[0] >= events[:, 0].min() - 0.011
        # Bar lengths follow the meter through the tempo map.
        sigs, tempos = _meta(corpus.midi / song["file"])
        num, den = map(int, sigs[0][1].split("/"))
        mid = mido.MidiFile(str(corpus.midi / song["file"]))
        if len({t for _, t in tempos}) == 1 and len(sigs) == 1:
            expected = 4 * num / den * tempos[0][1] / 1e6
            assert np.allclose(np.diff(bars), expected, atol=1e-4)
        assert bars[-1] >= mid.length - 1e-3  # bars cover the song


def test_render_jitter_moves_drums_in_real_seconds(mlrun, tmp_path):
    from mlrun_music_phase.data.generate import generate_song

    mid, desc = generate_song(11, "4/4", 20)
    # Force a slow tempo: a jitter converted as if at 120 BPM would be off by the tempo ratio.
    for tr in mid.tracks:
        for msg in tr:
            if msg.type == "set_tempo":
                msg.tempo = 1_500_000  # 40 BPM
    (tmp_path / "m").mkdir()
    mid.save(str(tmp_path / "m" / "slow.mid"))
    for name, jitter in (("j0", "0"), ("j1", "0.05")):
        r = mlrun("phase", "render", "--single-file", "m/slow.mid", "--single-soundfont", SF2, "--out-path", name,
                  "--midi-jitter-max-seconds", jitter, "--seed", "2")
        assert r.code == 0, r.err
    e0 = np.loadtxt(tmp_path / "j0" / "events.csv", delimiter=",")
    e1 = np.loadtxt(tmp_path / "j1" / "events.csv", delimiter=",")
    d = np.sort(e1[:, 0]) - np.sort(e0[:, 0])
    assert np.abs(d).max() <= 0.05 + 0.003  # within the jitter (plus tick rounding), even at 40 BPM
    assert np.abs(d).max() > 0.03  # and really moved
    assert np.array_equal(np.loadtxt(tmp_path / "j0" / "bars.csv"), np.loadtxt(tmp_path / "j1" / "bars.csv"))


def test_render_resumes_overwrites_and_parallel_matches_serial(mlrun, tmp_path, corpus):
    args = ["phase", "render", "--midi-path", corpus.midi, "--single-soundfont", SF2, "--seed", "7"]
    assert mlrun(*args, "--out-path", "serial", "--max-processes", "1").code == 0
    again = mlrun(*args, "--out-path", "serial", "--max-processes", "1")
    assert again.code == 0 and "already done 4" in again.out
    assert read_json(tmp_path / "serial" / "render_report.json")["already_done"] == 4
    over = mlrun(*args, "--out-path", "serial", "--overwrite")
    assert "rendered 4" in over.out
    assert mlrun(*args, "--out-path", "par", "--max-processes", "2").code == 0
    for f in sorted((tmp_path / "serial").rglob("*.csv")):
        assert f.read_text() == (tmp_path / "par" / f.relative_to(tmp_path / "serial")).read_text()


def test_soundfonts_spread_over_songs(mlrun, tmp_path, corpus):
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    shutil.copy(SF2, fonts / "A.sf2")
    shutil.copy(SF2, fonts / "B.sf2")
    assert mlrun("phase", "render", "--midi-path", corpus.midi, "--soundfont-path", fonts, "--out-path", "r",
                 "--max-processes", "2", "--audio-format", "flac").code == 0
    infos = [read_json(p) for p in (tmp_path / "r").rglob("render.json")]
    assert sorted(i["audio"] for i in infos) == ["A.flac", "A.flac", "B.flac", "B.flac"]
    assert sorted(Path(i["soundfont"]).name for i in infos) == ["A.sf2", "A.sf2", "B.sf2", "B.sf2"]
    info = sf.info(str(next((tmp_path / "r").rglob("A.flac"))))
    assert info.format == "FLAC" and info.samplerate == 16000 and info.channels == 1


def test_render_with_a_timidity_patch_set(mlrun, tmp_path, corpus):
    """A timidity patch-set config (.cfg) works as --single-soundfont: auto picks timidity; fluidsynth is refused."""
    kit = tmp_path / "patches.cfg"
    kit.write_text(f'soundfont "{SF2}"\n', encoding="utf-8")
    r = mlrun("phase", "render", "--midi-path", corpus.midi, "--single-soundfont", kit, "--out-path", "p")
    assert r.code == 0, r.err
    infos = [read_json(p) for p in (tmp_path / "p").rglob("render.json")]
    assert len(infos) == 4 and {i["renderer"] for i in infos} == {"timidity"}
    audio, _ = sf.read(str(next((tmp_path / "p").rglob("patches.ogg"))))
    assert np.abs(audio).max() > 0.05
    bad = mlrun("phase", "render", "--midi-path", corpus.midi, "--single-soundfont", kit, "--out-path", "q",
                "--renderer", "fluidsynth")
    assert bad.code != 0 and "patches.cfg is a timidity patch-set config" in bad.err
    assert len(bad.err.strip().splitlines()) == 1


def test_chop_labels_speed_and_determinism(mlrun, tmp_path, corpus):
    index = read_json(corpus.chunks / "chunks.json")
    assert index["chunks"], "the fixture corpus must give chunks"
    for c in index["chunks"][:4]:
        labels = np.loadtxt(corpus.chunks / f"{c['name']}.phase")
        audio, rate = sf.read(str(corpus.chunks / c["audio"]))
        assert rate == 16000 and len(audio) == 6 * 16000
        assert len(labels) == (6 + 1) * FPS  # extended by the largest anticipation
        assert np.all((labels >= 0) & (labels < 1))
        assert 0.71 <= c["speed"] <= 1.29
    # Without speed change, labels equal the phase computed from bars.csv at the chunk's times.
    args = ["phase", "chop", "--in-path", corpus.rendered, "--chunk-seconds", "6", "--seed", "3",
            "--speed-min", "1", "--speed-max", "1"]
    assert mlrun(*args, "--out-path", "c1").code == 0
    idx = read_json(tmp_path / "c1" / "chunks.json")["chunks"]
    c = idx[0]
    song_dir = next(p.parent for p in corpus.rendered.rglob("bars.csv")
                    if p.parent.relative_to(corpus.rendered).as_posix().replace("/", "-") == c["song"])
    bars = np.loadtxt(song_dir / "bars.csv")
    t = c["start_seconds"] + np.arange(350) / FPS
    k = np.searchsorted(bars, t, side="right") - 1
    expected = (t - bars[k]) / (bars[k + 1] - bars[k])
    assert np.allclose(np.loadtxt(tmp_path / "c1" / f"{c['name']}.phase"), expected, atol=2e-4)
    # Deterministic with --seed; another seed cuts elsewhere.
    assert mlrun(*args, "--out-path", "c2").code == 0
    assert mlrun(*args[:6], "--seed", "4", *args[8:], "--out-path", "c3").code == 0
    for f in sorted((tmp_path / "c1").glob("*.phase")):
        assert f.read_text() == (tmp_path / "c2" / f.name).read_text()
    starts1 = [c["start_seconds"] for c in idx]
    starts3 = [c["start_seconds"] for c in read_json(tmp_path / "c3" / "chunks.json")["chunks"]]
    assert starts1 != starts3
    # Chunks reaching outside the known bars are dropped and counted.
    report = read_json(corpus.chunks / "chop_report.json")
    assert report["dropped_chunks"].get("outside known bars", 0) >= 1


def test_chop_bad_inputs(mlrun, tmp_path):
    (tmp_path / "empty").mkdir()
    r = mlrun("phase", "chop", "--in-path", "empty", "--out-path", "o")
    assert r.code == 2 and "no rendered songs" in r.err
    r = mlrun("phase", "chop", "--in-path", "missing", "--out-path", "o")
    assert r.code == 2 and "missing" in r.err
