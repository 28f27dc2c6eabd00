"""The five shipped kelly models: cards, the pipeline on rendered pieces, RTNeural JSON and ONNX beside them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlrun_music_kelly.commands import SHIPPED_NAMES, shipped_dir, shipped_files
from mlrun_music_kelly.models.specs import BY_NAME, MODELS

SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


@pytest.fixture(scope="module")
def shipped():
    """Every shipped model loaded through the core (which checks each card against its checkpoint)."""
    from mlrun_music.api import load_model

    return {spec.name: load_model("kelly", shipped=SHIPPED_NAMES[spec.name], quiet=True) for spec in MODELS}


def test_the_package_ships_checkpoints_and_cards_only_within_the_size_budget():
    files = sorted(p.name for p in shipped_dir().iterdir())
    assert all(name.endswith((".pt", ".card.json")) for name in files) and len(files) == 10
    assert sum(p.stat().st_size for p in shipped_dir().iterdir()) < 10_000_000


def test_five_models_ship_in_pipeline_order_with_the_emotion_recognizer_first():
    from mlrun_music import api
    from mlrun_music.pretrained import shipped_models

    models = shipped_models(api.task("kelly"))
    assert [m.spec.name for m in models] == list(SHIPPED_NAMES.values())
    for m in models:
        assert m.recipe is not None and m.recipe.is_file()


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_each_shipped_model_loads_with_its_card(shipped, spec):
    loaded = shipped[spec.name]
    card = loaded.card
    assert card is not None and card["task"] == "kelly" and card["name"] == SHIPPED_NAMES[spec.name]
    assert card["model"] == spec.name == loaded.model.model_name
    assert card["parameters"] == spec.parameters
    assert card["data"]["kind"] == ("synthetic" if spec.name == "DynamicsEngine" else "proxy-labelled")
    assert card["figures"] and card["recipe"]["command"] == f"mlrun reproduce kelly {SHIPPED_NAMES[spec.name]}"


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_shipped_json_runs_in_the_numpy_runner_like_the_checkpoint(shipped, spec):
    import torch

    from mlrun_music_kelly.rtneural.runner import JsonModel

    path = next(f for f in shipped_files(".json") if f.name == f"{spec.file_stem}.json")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["metadata"]["card"] == shipped[spec.name].card
    runner = JsonModel.load(path)
    x = np.random.default_rng(0).normal(size=(4, spec.input_size)).astype(np.float32)
    with torch.no_grad():
        expected = shipped[spec.name].model(torch.from_numpy(x)).numpy()
    for row, want in zip(x, expected):
        runner.reset()
        assert np.abs(runner.forward(row) - want).max() <= 1e-5


@pytest.mark.parametrize("spec", MODELS, ids=lambda s: s.name)
def test_shipped_onnx_carries_the_card(shipped, spec):
    import onnx

    onnx_file = next(f for f in shipped_files(".onnx") if f.name == f"{spec.file_stem}.onnx")
    meta = {p.key: p.value for p in onnx.load(str(onnx_file)).metadata_props}
    assert json.loads(meta["mlrun_music.card"]) == shipped[spec.name].card


def _piece(path: Path, major: bool, bpm: int) -> Path:
    """Four voices of a cadence (I-IV-V-I or i-iv-V-i) played four times, chords on every beat, melody in eighths
    when fast; written with mido."""
    import mido

    if major:
        chords = [(48, 64, 67, 72), (53, 65, 69, 72), (55, 62, 67, 71), (48, 64, 67, 72)]
    else:
        chords = [(45, 60, 64, 69), (50, 62, 65, 69), (52, 59, 64, 68), (45, 60, 64, 69)]
    tpb = 480
    events = []
    beat = 0
    for _ in range(4):
        for chord in chords:
            for _ in range(2):  # each chord lasts two beats
                for pitch in chord[:3]:
                    events.append((beat * tpb, "on", pitch))
                    events.append(((beat + 1) * tpb - 10, "off", pitch))
                steps = (0, 2) if bpm >= 120 else (0,)  # eighth-note melody when fast
                for k, step in enumerate(steps):
                    start = beat * tpb + k * tpb // len(steps)
                    events.append((start, "on", chord[3] + step))
                    events.append((start + tpb // len(steps) - 10, "off", chord[3] + step))
                beat += 1
    mid = mido.MidiFile(ticks_per_beat=tpb)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=0, time=0))
    last = 0
    for when, kind, pitch in sorted(events, key=lambda e: (e[0], e[1] == "on")):
        msg = "note_on" if kind == "on" else "note_off"
        track.append(mido.Message(msg, note=pitch, velocity=80, time=when - last))
        last = when
    mid.save(str(path))
    return path


@pytest.mark.skipif(shutil.which("timidity") is None or not SOUNDFONT.is_file(),
                    reason="needs timidity and the TimGM6mb SoundFont")
@pytest.mark.parametrize("rate", [44100, 22050])
def test_pipeline_with_the_shipped_models_hears_mode_as_valence_and_tempo_as_arousal(fx, tmp_path, rate):
    """A happy (major, fast) and a sad (minor, slow) piece, and the two crossings, rendered by ``mlrun render`` at
    its default 44.1 kHz (the pipeline resamples the file) and at the features' 22.05 kHz."""
    import soundfile as sf

    results = {}
    for name, major, bpm in (("happy", True, 160), ("sad", False, 56), ("major-slow", True, 56),
                             ("minor-fast", False, 160)):
        wav = tmp_path / f"{name}.wav"
        rate_option = [] if rate == 44100 else ["--sample-rate", str(rate)]
        code, text = fx.run_cli("render", _piece(tmp_path / f"{name}.mid", major, bpm), "-o", wav, *rate_option)
        assert code == 0, text
        assert sf.info(str(wav)).samplerate == rate
        code, text = fx.run_cli("kelly", "pipeline", wav, "-o", tmp_path / f"{name}.json")
        assert code == 0, text
        assert "using the shipped kelly models" in text
        out = json.loads((tmp_path / f"{name}.json").read_text())
        results[name] = (round(out["valence"], 3), round(out["arousal"], 3))
        assert len(out["melody_probabilities"]) == BY_NAME["MelodyTransformer"].output_size
        assert abs(sum(out["harmony_probabilities"]) - 1) < 1e-3
    assert results["happy"][0] > 0 and results["happy"][1] > 0, results
    assert results["sad"][0] < 0 and results["sad"][1] < 0, results
    assert results["major-slow"][0] > 0 > results["major-slow"][1], results
    assert results["minor-fast"][0] < 0 < results["minor-fast"][1], results


def _sparse_minor_piece(fx, path: Path, style: str) -> Path:
    """i-iv-V-i in A minor, twice, a bar a chord: "melody", the chord held (velocity 80) under its tones as eighths
    (velocity 90) at 60 bpm; "arpeggio", the chord held softly (45) under its tones as sixteenths over two octaves
    (55) at 56 bpm."""
    import mido

    chords = [[45, 60, 64, 69], [50, 62, 65, 69], [40, 59, 64, 68], [45, 60, 64, 69]]
    notes, bpm = [], 60 if style == "melody" else 56
    for bar, chord in enumerate(chords * 2):
        loud = 90 if style == "melody" else 55
        notes += [(bar * 4.0, 3.95, p, loud - 10) for p in chord]
        tones = sorted({p % 12 for p in chord})
        step, count = (0.5, 8) if style == "melody" else (0.25, 16)
        for k in range(count):
            octave = 12 * (k // len(tones) % 2) if style == "arpeggio" else (12 if k >= 4 else 0)
            notes.append((bar * 4.0 + k * step, step - 0.02, 72 + tones[k % len(tones)] + octave, loud))
    return fx.write_midi(path, notes, tempo=mido.bpm2tempo(bpm))


@pytest.mark.skipif(shutil.which("timidity") is None or not SOUNDFONT.is_file(),
                    reason="needs timidity and the TimGM6mb SoundFont")
@pytest.mark.parametrize("rate", [44100, 22050])
def test_pipeline_hears_a_sparse_sad_piece_as_negative_at_both_rates(fx, tmp_path, rate):
    """Sparse minor piano textures outside the corpus, rendered by ``mlrun render`` at 44.1 and 22.05 kHz: a slow
    melody over held chords reads negative in valence and arousal; a soft slow arpeggio negative in valence (its
    arousal reads near zero, above it at 44.1 kHz: the card's limits)."""
    for style in ("melody", "arpeggio"):
        wav = tmp_path / f"{style}.wav"
        rate_option = [] if rate == 44100 else ["--sample-rate", str(rate)]
        midi = _sparse_minor_piece(fx, tmp_path / f"{style}.mid", style)
        code, text = fx.run_cli("render", midi, "-o", wav, *rate_option)
        assert code == 0, text
        code, text = fx.run_cli("kelly", "pipeline", wav, "-o", tmp_path / f"{style}.json")
        assert code == 0, text
        out = json.loads((tmp_path / f"{style}.json").read_text())
        assert out["valence"] < -0.3, (style, out["valence"], out["arousal"])
        if style == "melody":
            assert out["arousal"] < -0.2, (style, out["valence"], out["arousal"])


def test_validate_and_export_default_to_the_shipped_models(fx, tmp_path):
    code, text = fx.run_cli("kelly", "validate", "--check-specs")
    assert code == 0, text
    assert "5 of 5 file(s) valid" in text and "using the shipped kelly models" in text
    code, text = fx.run_cli("kelly", "export", "--format", "rtneural", "--output-dir", tmp_path)
    assert code == 0, text
    for spec in MODELS:
        doc = json.loads((tmp_path / f"{spec.file_stem}.json").read_text(encoding="utf-8"))
        assert doc["metadata"]["card"]["model"] == spec.name


def test_the_shipped_melody_is_key_relative_and_takes_the_mode_from_the_valence(fx, tmp_path):
    """The shipped MelodyTransformer's pitches are relative to the tonic, moved to C (its card says so): through its
    exported RTNeural JSON, a negative valence puts more weight on the minor third (E flat) and less on the major
    third (E) than a positive valence, at a low and a high arousal."""
    from mlrun_music_kelly.data.common import emotion_embedding
    from mlrun_music_kelly.rtneural.runner import JsonModel

    code, text = fx.run_cli("kelly", "export", "--format", "rtneural", "--output-dir", tmp_path)
    assert code == 0, text
    path = tmp_path / "melodytransformer.json"
    assert "key-relative" in json.loads(path.read_text(encoding="utf-8"))["metadata"]["card"]["summary"]
    model = JsonModel.load(path)

    def weight(valence: float, arousal: float, pitch_class: int) -> float:
        model.reset()
        return float(model.forward(emotion_embedding(valence, arousal))[pitch_class::12].sum())

    for arousal in (-0.5, 0.5):
        assert weight(-0.8, arousal, 3) > 2 * weight(0.8, arousal, 3)  # E flat: the minor third above C
        assert weight(0.8, arousal, 4) > 2 * weight(-0.8, arousal, 4)  # E: the major third


@pytest.mark.parametrize("name", ["EmotionRecognizer", "HarmonyPredictor"])
def test_folding_the_input_standardisation_keeps_the_outputs(tmp_path, name):
    import attrs
    import torch

    from mlrun_music.training import DataSplits
    from mlrun_music.training.checkpoint import load_checkpoint, save_checkpoint
    from mlrun_music_kelly.data.common import Pairs
    from mlrun_music_kelly.models.networks import build
    from mlrun_music_kelly.train import fold_checkpoint, standardisation, standardised

    spec = BY_NAME[name]
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(64, spec.input_size)) * rng.uniform(0.5, 2, spec.input_size) - 6).astype(np.float32)
    data = DataSplits(train=Pairs(x, np.zeros((64, spec.output_size))), info={"source": "corpus"})
    norm = standardisation(name, data)
    z = standardised(attrs.evolve(data, test=data.train), *norm).test.x
    torch.manual_seed(0)
    model = build(name).eval()
    with torch.no_grad():
        expected = model(z).numpy()
    path = save_checkpoint(tmp_path / "m.pt", {"task": "kelly", "model_name": name, "model": model.state_dict()})
    fold_checkpoint(path, *norm)
    fold_checkpoint(path, *norm)  # a second call leaves a folded checkpoint as it is
    state = load_checkpoint(path, "kelly")
    assert state["kelly_folded"]
    model.load_state_dict(state["model"])
    with torch.no_grad():
        got = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - expected).max() < 1e-4
