"""Shared fixtures: audio rendered once per session from General MIDI drums, with its ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def groove(tmp_path_factory):
    """A 2-bar groove rendered with timidity: song.wav, drums.mid and a reference beatmap ref.bsm."""
    import soundfile as sf

    from mlrun_music_beatsight.beatmap import bsm
    from mlrun_music_beatsight.kits import synth

    root = tmp_path_factory.mktemp("groove")
    rng = np.random.default_rng(5)
    tempo, hits = synth.groove(rng, bars=2)
    audio = synth.render(hits, synth.TRAIN_SOUNDFONT, "timidity", tempo)
    wav = root / "song.wav"
    sf.write(str(wav), audio, synth.SAMPLE_RATE)
    synth.write_midi(root / "drums.mid", hits, tempo)
    beatmap = bsm.new_beatmap(audio_file=wav, duration_ms=len(audio) / synth.SAMPLE_RATE * 1000,
                              sample_rate=synth.SAMPLE_RATE, bpm=tempo,
                              hits=[{"time": round(h.time * 1000), "component": h.component,
                                     "velocity": h.velocity / 127} for h in hits])
    bsm.write_bsm(root / "ref.bsm", beatmap)
    return {"dir": root, "wav": wav, "mid": root / "drums.mid", "bsm": root / "ref.bsm", "hits": hits,
            "tempo": tempo, "duration": len(audio) / synth.SAMPLE_RATE}


def load_json(path: Path):
    return json.loads(Path(path).read_text())


TINY = ["--epochs", "1", "--max-steps", "2", "--batch-size", "8", "--default-velocities", "1",
        "--default-grooves", "1", "--default-renderers", "timidity", "--synthetic-kits", "1",
        "--synthetic-val-kits", "1", "--extra-soundfonts", "", "--no-plots"]


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    """One render cache for the whole session (the first tiny train renders, later ones load)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, cache):
    """A beatsight checkpoint trained for two steps on a tiny embedded default (shape, not quality)."""
    from mlrun_music import cli

    out = tmp_path_factory.mktemp("tinyrun")
    code = cli.main(["train", "beatsight", *TINY, "--cache-dir", str(cache), "--output-dir", str(out)])
    assert code == 0
    return out / "beatsight" / "default" / "checkpoints" / "best.pt"
