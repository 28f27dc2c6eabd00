"""Hydrogen drumkits (a folder of samples + drumkit.xml) as training kits, on kits the tests write in that layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.beatsight.conftest import TINY

from mlrun_music_beatsight.kits import hydrogen, synth
from mlrun_music_beatsight.kits.hydrogen import component_of
from mlrun_music_beatsight.kits.soundfonts import drum_kit

RATE = 48000  # not the task's 44.1 kHz: samples are resampled


def _noise(seconds: float, decay: float, cutoff: float, gain: float, seed: int) -> np.ndarray:
    """Decaying noise, high-passed above ``cutoff`` Hz (brighter cymbals have a higher cutoff)."""
    n = int(seconds * RATE)
    spec = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spec[np.fft.rfftfreq(n, 1 / RATE) < cutoff] = 0
    x = np.fft.irfft(spec, n) * np.exp(-np.arange(n) / (decay * RATE))
    return (gain * x / np.abs(x).max()).astype(np.float32)


def _tone(hz: float, gain: float) -> np.ndarray:
    t = np.arange(int(0.5 * RATE)) / RATE
    return (gain * np.sin(2 * np.pi * hz * t) * np.exp(-t / 0.12)).astype(np.float32)


def write_kit(root: Path, instruments: list[tuple[str, list[tuple[str, np.ndarray, float, float]]]],
              old_style: tuple[str, str, np.ndarray] | None = None) -> Path:
    """A Hydrogen kit folder: ``(name, [(file, samples, min, max), ...])`` per instrument (stereo WAVs at 48 kHz),
    plus optionally one instrument in the old layout (its file named right in the instrument)."""
    import soundfile as sf

    root.mkdir(parents=True, exist_ok=True)
    parts = []
    for name, layers in instruments:
        xml_layers = ""
        for file, x, lo, hi in layers:
            sf.write(str(root / file), np.stack([x, x], axis=1), RATE)
            xml_layers += (f"<layer><filename>{file}</filename><min>{lo}</min><max>{hi}</max><gain>1</gain>"
                           f"<pitch>0</pitch></layer>")
        parts.append(f"<instrument><id>{len(parts)}</id><name>{name}</name><volume>1</volume><gain>1</gain>"
                     f"{xml_layers}</instrument>")
    if old_style:
        name, file, x = old_style
        sf.write(str(root / file), x, RATE)
        parts.append(f"<instrument><id>{len(parts)}</id><name>{name}</name><filename>{file}</filename>"
                     f"<volume>1</volume></instrument>")
    (root / "drumkit.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<drumkit_info xmlns="http://www.hydrogen-music.org/drumkit">'
        f"<name>{root.name}</name><instrumentList>{''.join(parts)}</instrumentList></drumkit_info>",
        encoding="utf-8")
    return root


@pytest.fixture
def kit(tmp_path) -> Path:
    return write_kit(tmp_path / "mykit", [
        ("Kick", [("kick_soft.wav", _tone(55, 0.2), 0.0, 0.5), ("kick_hard.wav", _tone(55, 0.9), 0.5, 1.0)]),
        ("Snare Rock", [("snare.wav", _noise(0.3, 0.05, 200, 0.8, 1), 0, 1)]),
        ("Closed HH", [("hh.wav", _noise(0.1, 0.02, 6000, 0.5, 2), 0, 1)]),
        ("Tom Hi", [("tom_hi.wav", _tone(180, 0.8), 0, 1)]),
        ("Floor Tom", [("tom_floor.wav", _tone(80, 0.8), 0, 1)]),
        ("Crash Bright", [("crash_b.wav", _noise(1.0, 0.4, 6000, 0.7, 3), 0, 1)]),
        ("Crash Dark", [("crash_d.wav", _noise(1.0, 0.4, 1500, 0.7, 4), 0, 1)]),
        ("Cowbell", [("cowbell.wav", _tone(800, 0.5), 0, 1)]),
        ("Snare Roll", [("roll.wav", _tone(300, 0.5), 0, 1)]),
    ], old_style=("Ride Jazz", "ride.flac", _noise(0.8, 0.3, 3000, 0.6, 5)))


def test_instrument_names_of_debian_kits_map_to_components():
    cases = {
        'Kick (Tama Superstar 22")': "kick", "c3 - bass drum 1": "kick", "BassDrum": "kick",
        "Snare (Pearl Free Floating Maple 14x3.5)": "snare", "Snare Jazz": "snare", "Snare Roll": None,
        "Closed HH": "hihat_closed", "Hi-Hat Pedal (Paiste Alpha Metal edge 14\")": "hihat_closed",
        "VariBreaks Hat 1 Cl": "hihat_closed", "VariBreaks Hat 1 Op": "hihat_open", "Hi Hat Opened": "hihat_open",
        "Hi Hat Free": None, "Hi-Hat Semiopen": None, "Side HH": None,
        "Crash Left": "crash", "crash20inch--2": "crash", "Crash/Ride Bow (Paiste Rude Crash/Ride 18\")": None,
        "ride-crash20inch": None, "Crash/Ride Bell (Paiste Rude Crash/Ride 18\")": "ride_bell",
        "ride-cup": "ride_bell", "f4 - ride bell": "ride_bell", "Ride Jazz": "ride", "Ride 2": "ride",
        'China (Paiste Alpha 18")': "china", "Tom Hi": "tom_high", "d4 - high tom": "tom_high",
        "c4 - middle tom": "tom_mid", "Tom": "tom_mid", "Floor Tom": "tom_low", "Tom Low": "tom_low",
        "tomhi2": None, "Cowbell": None, "Hand Clap": None, "Stick": None, "Zildjian Splash": None,
    }
    assert {name: component_of(name) for name in cases} == cases


def test_a_kit_plays_its_samples_by_velocity_layer_and_names_the_brighter_crash_crash2(kit):
    loaded = hydrogen.load(str(kit))
    assert {n: i.name for n, i in loaded.by_note.items()} == {
        35: "Kick", 36: "Kick", 38: "Snare Rock", 40: "Snare Rock", 42: "Closed HH", 44: "Closed HH",
        48: "Tom Hi", 50: "Tom Hi", 41: "Floor Tom", 43: "Floor Tom", 49: "Crash Dark", 57: "Crash Bright",
        51: "Ride Jazz"}
    dk = drum_kit(str(kit))
    assert dk.drums_only and dk.notes["crash2"] == (57,) and dk.notes["tom_mid"] == () and dk.notes["china"] == ()
    assert dk.remap(47) is None and dk.remap(52) == 57  # no mid tom to stand in; china -> crash2 (STAND_INS)
    hits = [synth.Hit(0.5, 36, 30), synth.Hit(1.5, 36, 120), synth.Hit(2.5, 51, 100)]
    audio = synth.render(hits, kit / "drumkit.xml", "hydrogen")
    sr = synth.SAMPLE_RATE
    assert audio.dtype == np.float32 and len(audio) == pytest.approx(4.0 * sr, abs=2)  # last hit + 1.5 s
    assert np.abs(audio[:int(0.5 * sr)]).max() == 0 and np.abs(audio[int(0.5 * sr):int(0.51 * sr)]).max() > 0
    soft, hard = (np.abs(audio[int(t * sr):int((t + 0.4) * sr)]).max() for t in (0.5, 1.5))
    assert hard / soft == pytest.approx((0.9 * 120) / (0.2 * 30), rel=0.05)  # layer sample x velocity
    ride = audio[int(2.5 * sr):int(3.0 * sr)]
    assert np.sqrt(np.mean(ride ** 2)) > 0.05  # the old-layout instrument (flac, mono) sounds
    with pytest.raises(ValueError, match="drum kit"):
        synth.render(hits, kit, "hydrogen", notes=[(0.0, 1.0, 60, 100, 0, 0)])


def test_one_sound_under_two_names_keeps_the_first_and_songs_label_what_played(tmp_path):
    # As in Millo_MultiLayered2: "Tom Mid" and "Tom Hi" play the same samples, and so do its two crashes.
    tom, crash = _tone(120, 0.8), _noise(1.0, 0.4, 3000, 0.7, 3)
    root = write_kit(tmp_path / "twotoms", [
        ("Kick", [("kick.wav", _tone(55, 0.9), 0, 1)]),
        ("Tom Mid", [("tom_01.wav", tom, 0, 0.5), ("tom_02.wav", tom, 0.5, 1)]),
        ("Tom Hi", [("tom_02.wav", tom, 0.5, 1), ("tom_01.wav", tom, 0, 0.5)]),  # same files, other order
        ("Crash", [("crash.wav", crash, 0, 1)]),
        ("Crash Jazz", [("crash.wav", crash, 0, 1)]),
        ("Floor Tom", [("floor.wav", _tone(70, 0.8), 0, 1)]),
    ])
    kit = drum_kit(str(root))
    assert kit.notes["tom_mid"] == (45, 47) and kit.notes["tom_high"] == ()
    assert kit.notes["crash"] == (49,) and kit.notes["crash2"] == ()
    assert kit.notes["tom_low"] == (41, 43)  # other samples: a drum of its own
    from mlrun_music_beatsight.data.grooves import KitSource, training_audio

    band = KitSource("/usr/share/sounds/sf2/TimGM6mb.sf2", "timidity")
    played = {h.component for seed in range(4)
              for h in training_audio(seed, KitSource(str(root), "hydrogen"), [band], free_fraction=1.0)[1]}
    assert {"tom_mid", "crash"} <= played  # free songs hit every class; the stand-ins play the lost names' hits
    assert not played & {"tom_high", "crash2"}  # never labelled with the name the kit's sound lost


def test_training_on_a_hydrogen_kit_through_the_cli(mlrun, tmp_path, kit):
    """Both tasks take a Hydrogen kit folder in --extra-soundfonts: the CNN renders its one-shots and grooves, the
    transcriber its songs (accompaniment from --soundfont, as the kit plays drums only)."""
    args = list(TINY)
    args[args.index("--extra-soundfonts") + 1] = str(kit)
    r = mlrun("train", "beatsight", *args, "--extra-grooves", "1", "--cache-dir", tmp_path / "c")
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs" / "beatsight" / "default" / "data_report.json").read_text())
    assert report["kits"] == ["TimGM6mb.sf2", "mykit"]
    sources = report["train_sources"]
    assert sources.get("one-shot/hydrogen/mykit", 0) > 0 and sources.get("groove/hydrogen/mykit", 0) > 5
    r = mlrun("train", "beatsight-transcriber", "--songs-per-kit", "2", "--synthetic-songs", "0",
              "--val-songs-per-kit", "1", "--val-synthetic-songs", "0", "--extra-soundfonts", str(kit),
              "--chunk-seconds", "2", "--batch-size", "4", "--epochs", "1", "--max-steps", "2", "--no-plots",
              "--cache-dir", tmp_path / "c", "--output-dir", tmp_path / "runs")
    assert r.code == 0, r.text
    assert "mykit/hydrogen" in r.err
    report = json.loads((tmp_path / "runs" / "beatsight-transcriber" / "default" / "data_report.json").read_text())
    assert report["train"]["songs"]["mykit/hydrogen"] == 2


def test_unusable_hydrogen_kits_are_one_line_errors(mlrun, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "drumkit.xml").write_text("<drumkit_info><instrumentList><instrument>", encoding="utf-8")
    percussion = write_kit(tmp_path / "hands", [("Cowbell", [("c.wav", _tone(800, 0.5), 0, 1)])])
    for folder, message in ((broken, "not valid XML"), (percussion, "no instrument is named like a drum")):
        r = mlrun("train", "beatsight-transcriber", "--extra-soundfonts", folder, "--songs-per-kit", "1",
                  "--cache-dir", tmp_path / "c", "--output-dir", tmp_path / "runs")
        assert r.code != 0 and message in r.err and str(folder / "drumkit.xml") in r.err, r.text
        assert len(r.err.strip().splitlines()) == 1, r.err


def test_one_shot_accuracy_plays_a_kits_own_notes(kit):
    """The one-shot check runs on any kit (here one without mid toms, open hi-hat, ride bell or china): it plays
    the notes the kit has, every one at each velocity, and scores only those."""
    import torch

    from mlrun_music_beatsight.kits.classes import COMPONENTS
    from mlrun_music_beatsight.models.transcriber import DrumTranscriber
    from mlrun_music_beatsight.evaluate.transcriber import one_shot_accuracy

    torch.manual_seed(0)
    shots = one_shot_accuracy(DrumTranscriber(channels=(4, 8), hidden=8), str(kit), "hydrogen", velocities=2)
    notes = drum_kit(str(kit)).notes
    assert shots["hits"] == 2 * sum(len(n) for n in notes.values()) == 26
    for name in ("in_sequence", "alone", "alone_kit_relative"):
        rows = np.array(shots[name]["confusion"]).sum(axis=1)
        assert {c: int(n) for c, n in zip(COMPONENTS, rows) if n} == {c: 2 * len(n) for c, n in notes.items() if n}
        assert 0.0 <= shots[name]["accuracy"] <= 1.0
