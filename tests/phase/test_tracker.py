"""The causal tracker after the network (`--tracker pll`): one downbeat per bar from a jittery phase, the same values
offline and streaming, through `mlrun phase apply` and `mlrun evaluate phase`; bad settings are one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.phase.conftest import WARMUP, downbeat_f, read_json


def _downbeats(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert lines[0] == "downbeat_seconds"
    return np.array([float(x) for x in lines[1:]])


def test_the_clock_wraps_once_per_bar_where_the_phase_jitters():
    from mlrun_music_phase.data.labels import wrap_times
    from mlrun_music_phase.tracker import BarClock, track

    fps, bar = 50, 1.6
    t = np.arange(int(60 * fps)) / fps
    truth = np.mod(t / bar, 1.0)
    rng = np.random.default_rng(0)
    jittery = np.mod(truth + rng.normal(0, 0.02, len(t)), 1.0)  # 32 ms
    wild = rng.random(len(t)) < 0.04  # 4 % of frames anywhere on the circle
    jittery[wild] = rng.random(int(wild.sum()))
    true_bars = np.arange(1, int(60 / bar) + 1) * bar
    true_bars = true_bars[(true_bars >= WARMUP) & (true_bars < 59.9)]
    raw = wrap_times(np.where(t >= WARMUP, jittery, np.nan), fps)
    tracked_phase = track(jittery, "pll")
    tracked = wrap_times(np.where(t >= WARMUP, tracked_phase, np.nan), fps)
    assert len(raw) > 1.25 * len(true_bars)  # the raw phase's wraps: extra downbeats
    assert abs(len(tracked) - len(true_bars)) <= 1 and np.all(np.diff(tracked) > 0.8 * bar)
    assert downbeat_f(true_bars, tracked) >= max(0.7, downbeat_f(true_bars, raw))
    # Frame by frame or in blocks of any size: the same clock.
    clock = BarClock()
    blocks = np.concatenate([clock.run(jittery[i:i + 7]) for i in range(0, len(t), 7)])
    assert np.array_equal(blocks, tracked_phase)
    # A phase that stands still (silence) does not stop the clock: it keeps a plausible bar.
    still = track(np.full(len(t), 0.3), "pll")
    wraps = wrap_times(still, fps)
    assert len(wraps) >= 5 and np.all(np.diff(wraps) <= 2 * 4.5)


def test_apply_with_the_tracker_offline_and_streaming(mlrun, tmp_path, song):
    from mlrun_music_phase.data.labels import read_bars

    audio = song / "TimGM6mb.ogg"
    bars = read_bars(song / "bars.csv")
    r = mlrun("phase", "apply", audio, "--tracker", "pll", "--output", "off.phase", "--downbeats", "off.csv")
    assert r.code == 0, r.err
    r = mlrun("phase", "apply", audio, "--tracker", "pll", "--streaming", "--block-ms", "100", "--output",
              "str.phase", "--downbeats", "str.csv")
    assert r.code == 0, r.err
    off, streamed = np.loadtxt(tmp_path / "off.phase"), np.loadtxt(tmp_path / "str.phase")
    assert len(off) == len(streamed) == len(sf.read(audio)[0]) // 320
    gap = np.abs(np.mod(off - streamed + 0.5, 1.0) - 0.5)
    assert gap.max() < 1e-3, gap.max()
    est, est_stream = _downbeats(tmp_path / "off.csv"), _downbeats(tmp_path / "str.csv")
    assert len(est) == len(est_stream) and np.allclose(est, est_stream, atol=0.005)
    # One downbeat per bar: as many as the song has bars after the warmup, never two in one bar.
    true_bars = bars[(bars >= WARMUP) & (bars < len(off) / 50)]
    assert abs(len(est) - len(true_bars)) <= 1 and np.diff(est).min() > 0.6 * np.diff(bars).min()
    assert downbeat_f(bars, est) >= 0.6
    assert np.all((off >= 0) & (off < 1))
    # Without --tracker the network's phase, which differs.
    r = mlrun("phase", "apply", audio, "--output", "raw.phase")
    assert r.code == 0, r.err
    assert np.abs(np.mod(np.loadtxt(tmp_path / "raw.phase") - off + 0.5, 1.0) - 0.5).max() > 1e-3


def test_evaluate_reports_tracker_and_raw_network(mlrun, tmp_path, song):
    r = mlrun("evaluate", "phase", "--data", song.parent, "--output", "ev", "--anticipations", "0",
              "--tracker", "pll", "--tracker-gain", "0.4", "--no-baselines")
    assert r.code == 0, r.err
    m = read_json(tmp_path / "ev" / "metrics.json")["metrics"]
    assert m["tracker"] == {"name": "pll", "gain": 0.4, "rate_gain": 0.002}
    rows = m["by_anticipation"]["anticipation_0"]
    assert set(rows) == {"model", "raw_model"}
    assert rows["model"]["downbeat_f"] >= 0.6 and abs(rows["model"]["downbeats_per_true_downbeat"] - 1) <= 0.2
    assert rows["model"]["downbeat_f"] != rows["raw_model"]["downbeat_f"] or \
        rows["model"]["circ_mae_bars"] != rows["raw_model"]["circ_mae_bars"]


@pytest.mark.parametrize("args, message", [
    (["--tracker", "kalman"], "Invalid value for '--tracker'"),
    (["--tracker", "pll", "--tracker-gain", "0"], "--tracker-gain must be in (0, 1], got 0"),
    (["--tracker", "pll", "--tracker-gain", "1.5"], "--tracker-gain must be in (0, 1], got 1.5"),
    (["--tracker", "pll", "--tracker-rate-gain", "-0.1"], "--tracker-rate-gain must be in [0, 0.1], got -0.1"),
    (["--tracker-gain", "0.3"], "--tracker-gain and --tracker-rate-gain apply to --tracker pll only"),
    (["--tracker", "pll", "--tracker-gain", "nan"], "--tracker-gain must be in (0, 1], got nan"),
])
def test_bad_tracker_settings_are_one_line_errors(mlrun, tmp_path, args, message):
    audio = tmp_path / "noise.wav"
    sf.write(audio, 0.1 * np.random.default_rng(0).standard_normal(16000 * 10).astype(np.float32), 16000)
    r = mlrun("phase", "apply", audio, *args, "--output", "out.phase")
    assert r.code != 0
    assert len(r.err.strip().splitlines()) == 1 and message in r.err, r.err
    assert not (tmp_path / "out.phase").exists()


def test_evaluate_refuses_tracker_settings_it_would_not_use(mlrun, tmp_path, song):
    r = mlrun("evaluate", "phase", "--data", song.parent, "--output", "ev", "--tracker-gain", "0.45")
    errors = [line for line in r.err.splitlines() if not line.startswith("using the shipped model")]
    assert r.code == 2 and errors == ["error: --tracker-gain and --tracker-rate-gain apply to --tracker pll only"], \
        r.err
    r = mlrun("evaluate", "phase", "--data", song.parent, "--output", "ev", "--tracker", "hmm")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "--tracker" in r.err, r.err
    assert not (tmp_path / "ev" / "metrics.json").exists()
