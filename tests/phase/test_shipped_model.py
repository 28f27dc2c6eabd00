"""The shipped bar-phase model: it loads with its card, and `mlrun phase apply` / `inspect` use it by default and
find the bars of a song it never saw (no training here: seconds)."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
import torch

from mlrun_music.pretrained import locate
from tests.phase.conftest import WARMUP, downbeat_f, run_cli

MODEL = locate("mlrun_music_phase:pretrained/tcn-mel.pt")
CARD = MODEL.with_suffix(".card.json")
#: Downbeat F (70 ms) the shipped model must reach on the test song. Measured (BENCHMARKS.md "Shipped model"): 0.875
#: on this song (seed 11), 0.72-0.98 on seeds 12-15 alike; the untrained network 0.0 here, at most 0.08 on those.
MIN_F = 0.6
#: How far above the untrained network (same architecture, seed 0) the shipped model must be.
MIN_GAIN = 0.4


def test_the_shipped_model_loads_with_its_card():
    from mlrun_music.api import load_model

    loaded = load_model("phase", quiet=True)
    assert loaded.shipped == "tcn-mel" and loaded.path == MODEL
    card = loaded.card
    assert card == json.loads(CARD.read_text())
    assert card["task"] == "phase" and card["model"] == "phase_tcn_mel" and card["data"]["kind"] == "synthetic"
    assert card["recipe"]["command"] == "mlrun reproduce phase tcn-mel" and card["recipe"]["file"] == "tcn-mel.toml"
    assert [f["name"].rsplit(" ", 2)[-2] for f in card["figures"]] == ["0", "0.25", "0.5", "1"]
    for fig in card["figures"]:  # every anticipation clearly above the tempo-only guess
        assert fig["value"] > fig["baseline_value"] + 0.3
    assert "optimizer" not in loaded.checkpoint and MODEL.stat().st_size < 5_000_000


def test_apply_without_a_checkpoint_finds_the_bars(mlrun, tmp_path, song):
    from mlrun_music.api import load_model
    from mlrun_music_phase.apply import predict_phase
    from mlrun_music_phase.data.labels import read_bars, wrap_times
    from mlrun_music_phase.models.tcn import build

    audio = song / "TimGM6mb.ogg"
    r = mlrun("phase", "apply", audio, "--output", "song.phase", "--downbeats", "downbeats.csv",
              "--click", "click.wav")
    assert r.code == 0, r.err
    assert r.err.count("using the shipped model 'tcn-mel' of phase") == 1
    phases = np.loadtxt(tmp_path / "song.phase")
    assert len(phases) == len(sf.read(audio)[0]) // 320 and np.all((phases >= 0) & (phases < 1))
    lines = (tmp_path / "downbeats.csv").read_text().splitlines()
    assert lines[0] == "downbeat_seconds"
    est = np.array([float(x) for x in lines[1:]])
    assert len(est) and est.min() >= WARMUP
    bars = read_bars(song / "bars.csv")
    shipped_f = downbeat_f(bars, est)

    loaded = load_model("phase", quiet=True)
    torch.manual_seed(0)
    untrained = build(loaded.config, loaded.info).eval()
    signal = sf.read(audio, dtype="float32")[0]
    raw = predict_phase(untrained, signal, 0.0)
    untrained_f = downbeat_f(bars, wrap_times(np.where(np.arange(len(raw)) / 50 >= WARMUP, raw, np.nan), 50))
    assert shipped_f >= MIN_F and shipped_f >= untrained_f + MIN_GAIN, (shipped_f, untrained_f)

    clicked, rate = sf.read(tmp_path / "click.wav")
    assert rate == 16000 and len(clicked) == len(signal) and np.abs(clicked).max() <= 0.91
    # The clicks: what is left once the (scaled) song is taken out sits in 30 ms windows at the listed downbeats.
    starts = np.round(est * rate).astype(int)
    near = np.zeros(len(signal), dtype=bool)
    for i in starts:
        near[i:i + int(0.03 * rate)] = True
    gain = float(np.dot(clicked[~near], signal[~near]) / np.dot(signal[~near], signal[~near]))
    residual = clicked - gain * signal
    at_clicks = np.array([np.mean(residual[i:i + 480] ** 2) for i in starts])
    elsewhere = np.mean(residual[~near] ** 2)
    assert at_clicks.min() > 100 * elsewhere, (at_clicks.min(), elsewhere)
    assert abs(np.argmax(np.abs(residual[starts[0]:starts[0] + 480])) - 3) < 40  # the click's attack, not later


def test_apply_csv_has_time_columns(mlrun, tmp_path, song):
    r = mlrun("phase", "apply", song / "TimGM6mb.ogg", "--output", "song.csv", "--anticipation", "0.5")
    assert r.code == 0, r.err
    lines = (tmp_path / "song.csv").read_text().splitlines()
    assert lines[0] == "time_seconds,target_seconds,phase"
    rows = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
    assert np.allclose(rows[:, 0], np.arange(len(rows)) / 50) and np.allclose(rows[:, 1], rows[:, 0] + 0.5)
    assert np.all((rows[:, 2] >= 0) & (rows[:, 2] < 1))


def test_inspect_without_a_checkpoint_writes_beside_the_working_folder(mlrun, tmp_path, song):
    assert run_cli("phase", "chop", "--in-path", song.parent, "--out-path", tmp_path / "chunks",
                   "--chunk-seconds", "16", "--seed", "1") == 0
    r = mlrun("phase", "inspect", "--dataset-path", tmp_path / "chunks", "--count", "1")
    assert r.code == 0, r.err
    assert "using the shipped model 'tcn-mel'" in r.err
    pngs = list((tmp_path / "runs/phase/shipped-tcn-mel/inspect").glob("*.png"))
    assert len(pngs) == 1
