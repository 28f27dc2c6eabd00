"""The ``songs`` set at a tiny size, on General MIDI songs and a WAD the test writes: bar labels from the files'
time signatures and tempo maps, the fixed split by song, skips and files not read counted, and
``mlrun evaluate phase --dataset songs`` reporting by meter and by source."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

TPB = 480
MAX_SECONDS = 20.0


def _song(meter: tuple[int, int] | None, bpm: float, bars: int, *, tempo_change: tuple[int, float] | None = None,
          drums: str = "grid", seed: int = 0) -> bytes:
    """A two-track General MIDI song: piano chords on every beat and (``drums``) a kick on each bar's first beat
    and a hi-hat on every beat ("grid"), hits at random ticks ("random") or none ("none")."""
    import io

    import mido

    num, den = meter or (4, 4)
    beat = TPB * 4 // den
    per_bar = num * beat
    meta = mido.MidiTrack()
    if meter:
        meta.append(mido.MetaMessage("time_signature", numerator=num, denominator=den, time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    if tempo_change:
        at_bar, new_bpm = tempo_change
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(new_bpm), time=at_bar * per_bar))
    events: list[tuple[int, mido.Message]] = []
    rng = np.random.default_rng(seed)
    for b in range(bars):
        for k in range(num):
            t = b * per_bar + k * beat
            for pitch in (60, 64, 67):
                events += [(t, mido.Message("note_on", channel=0, note=pitch, velocity=70)),
                           (t + beat // 2, mido.Message("note_off", channel=0, note=pitch, velocity=0))]
            if drums == "grid":
                notes = [36, 42] if k == 0 else [42]
                hits = [t] * len(notes)
            elif drums == "random":
                notes = [38, 42]
                hits = [int(t + rng.integers(1, beat - 1)) for _ in notes]
            else:
                notes, hits = [], []
            for note, at in zip(notes, hits):
                events += [(at, mido.Message("note_on", channel=9, note=note, velocity=100)),
                           (at + 30, mido.Message("note_off", channel=9, note=note, velocity=0))]
    track = mido.MidiTrack([mido.Message("program_change", channel=0, program=0, time=0)])
    now = 0
    for t, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):
        track.append(msg.copy(time=t - now))
        now = t
    mid = mido.MidiFile(ticks_per_beat=TPB)
    mid.tracks += [meta, track]
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _wad(lumps: list[tuple[str, bytes]]) -> bytes:
    body = b"".join(data for _, data in lumps)
    table, offset = b"", 12
    for name, data in lumps:
        table += struct.pack("<ii8s", offset, len(data), name.encode("ascii"))
        offset += len(data)
    return b"PWAD" + struct.pack("<ii", len(lumps), 12 + len(body)) + body + table


def _names(split: str, source: str, count: int, prefix: str) -> list[str]:
    from mlrun_music_phase.data.songset import split_of

    return [n for n in (f"{prefix}{i:03d}" for i in range(300)) if split_of(f"{source}/{n}") == split][:count]


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("songs")
    band, wads = root / "band", root / "wads"
    band.mkdir()
    wads.mkdir()
    four, three, plain, offgrid, silent, spare = _names("test", "band", 6, "s")
    train = _names("train", "band", 1, "t")[0]
    files = {four: _song((4, 4), 120, 14, tempo_change=(4, 90)), three: _song((3, 4), 100, 14),
             plain: _song(None, 120, 12), offgrid: _song((4, 4), 120, 12, drums="random"),
             silent: _song((4, 4), 120, 12, drums="none"), train: _song((4, 4), 110, 12, seed=1)}
    for name, data in files.items():
        (band / f"{name}.mid").write_bytes(data)
    (band / f"{spare}.mid").write_bytes(files[three])  # the same bytes again: a duplicate
    (band / "kit.h2song").write_text("<song/>", encoding="utf-8")
    lump = _names("test", "game", 1, "D_L")[0]
    (wads / "game.wad").write_bytes(_wad([(lump, _song((6, 8), 120, 12)), ("D_MUS", b"MUS\x1a" + b"\0" * 20),
                                          ("MAP01", b"\0" * 8)]))
    return {"root": root, "dirs": f"{band}:{wads}", "four": four, "three": three, "plain": plain,
            "offgrid": offgrid, "silent": silent, "spare": spare, "train": train, "lump": lump}


def test_bar_labels_follow_time_signatures_and_tempo_changes(songs):
    from mlrun_music_phase.data.labels import read_bars
    from mlrun_music_phase.data.songset import build_songs

    cache = str(songs["root"] / "cache" / "phase")
    folder = build_songs(dirs=songs["dirs"], split="test", max_seconds=MAX_SECONDS, cache=cache)
    report = json.loads((folder / "songs_report.json").read_text())
    assert report["sources"] == {"band": {"songs": 6, "in_split": 5, "used": 3},
                                 "game": {"songs": 1, "in_split": 1, "used": 1}}
    assert report["skipped_count"] == {"drums off the file's beat grid": 1, "too few drum notes": 1}
    assert report["not_read_count"] == {"Hydrogen song (drums only, nothing else to render)": 1,
                                        "MUS lump (only MIDI lumps are read)": 1, "duplicate of an earlier song": 1}
    assert report["meter_by_midi_default"] == 1
    expected = {  # bar starts up to MAX_SECONDS
        songs["four"]: [2.0 * k for k in range(5)] + [8.0 + 8 / 3 * k for k in range(1, 5)],  # 120, then 90 bpm
        songs["three"]: [1.8 * k for k in range(12)],
        songs["plain"]: [2.0 * k for k in range(11)],  # no time signature: 4/4
        songs["lump"]: [1.5 * k for k in range(13)],  # 6/8 at 120 quarters per minute
    }
    meters = {songs["four"]: ["4/4"], songs["three"]: ["3/4"], songs["plain"]: ["4/4 (MIDI default)"],
              songs["lump"]: ["6/8"]}
    for name, bars in expected.items():
        source = "game" if name == songs["lump"] else "band"
        song = folder / source / name
        info = json.loads((song / "render.json").read_text())
        assert info["split"] == "test" and info["source"] == source and info["meters"] == meters[name]
        assert np.allclose(read_bars(song / "bars.csv"), bars, atol=1e-4), name
        assert bars[-2] < info["seconds"] <= bars[-1] + 0.5 + 1e-3  # cut half a second after the last bar
    # Another split holds other songs.
    train = build_songs(dirs=songs["dirs"], split="train", max_seconds=MAX_SECONDS, cache=cache)
    assert [p.parent.name for p in train.rglob("bars.csv")] == [songs["train"]]


def test_bad_song_options_are_one_line_errors(songs, mlrun, tmp_path):
    from mlrun_music.errors import UserError
    from mlrun_music_phase.data.songset import build_songs

    with pytest.raises(UserError, match="--songs-dirs"):
        build_songs(dirs=str(tmp_path / "nowhere"))
    with pytest.raises(UserError, match="--songs-max-seconds"):
        build_songs(dirs=songs["dirs"], max_seconds=5.0)
    empty = tmp_path / "empty"
    empty.mkdir()
    r = mlrun("evaluate", "phase", "--dataset", "songs", "--songs-dirs", empty, "--output", "ev")
    assert r.code != 0 and "no song of the test split" in r.err and "Traceback" not in r.err
    r = mlrun("evaluate", "phase", "--dataset", "songs", "--data", "elsewhere")
    assert r.code != 0 and "--data and --dataset songs" in r.err


def test_evaluate_on_songs_reports_by_meter_and_by_source(songs, mlrun, monkeypatch):
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(songs["root"] / "cache"))
    r = mlrun("evaluate", "phase", "--dataset", "songs", "--songs-dirs", songs["dirs"], "--songs-max-seconds",
              str(MAX_SECONDS), "--warmup-seconds", "0", "--anticipations", "0,0.5", "--no-baselines",
              "--output", "ev")
    assert r.code == 0, r.err
    metrics = json.loads(Path("ev/metrics.json").read_text())["metrics"]
    assert metrics["items"] == 4
    assert set(metrics["model_by_source"]) == {"band", "game"}
    assert set(metrics["model_by_meter"]) == {"4/4", "3/4", "4/4 (MIDI default)", "6/8"}
    for table in (*metrics["model_by_meter"].values(), *metrics["model_by_source"].values()):
        assert set(table) == {"anticipation_0", "anticipation_0.5"}
        assert 0.0 <= table["anticipation_0"]["downbeat_f"] <= 1.0
    report = metrics["songs_report"]
    assert report["songs"] == 4 and report["split"] == "test"
    assert sum(report["skipped_count"].values()) == 2


def test_mixed_songs_training_adds_the_train_split_only(songs, mlrun, monkeypatch, corpus, tmp_path):
    from tests.phase.conftest import TINY

    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(songs["root"] / "cache"))
    r = mlrun("train", "phase", "--dataset", "mixed-songs", "--chunks-path", corpus.chunks, "--songs-dirs",
              songs["dirs"], "--songs-max-seconds", "20", "--scores-per-source", "1", "--scores-sources", "ryan",
              "--scores-soundfont", "/usr/share/sounds/sf2/TimGM6mb.sf2", "--scores-max-seconds", "30",
              "--num-epochs", "1", "--tag", "ms", "--val-fraction", "0", *TINY)
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "runs/phase/ms/data_report.json").read_text())
    songs_part, pieces, band = report["parts"]
    assert len(report["songs_chunks"]) == 1 and band["chunks"] > 0
    assert report["chunks"] == songs_part["chunks"] + pieces["chunks"] + band["chunks"]
    renders = [json.loads(p.read_text()) for p in Path(report["songs_chunks"][0]).parent.rglob("render.json")]
    assert {x["id"] for x in renders} == {f"band/{songs['train']}"}  # never a song of the test or val split
    assert {Path(x["soundfont"]).name for x in renders} == {"TimGM6mb.sf2"}
    r = mlrun("train", "phase", "--songs-dirs", songs["dirs"], "--chunks-path", corpus.chunks, "--num-epochs", "1")
    assert r.code != 0 and "--songs-dirs" in r.err
