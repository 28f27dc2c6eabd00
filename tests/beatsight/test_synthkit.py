"""The procedural drum kits used for domain randomisation, and the guards around the training kits."""

from __future__ import annotations

import json

import numpy as np
from tests.beatsight.conftest import TINY

from mlrun_music_beatsight.kits import synthkit
from mlrun_music_beatsight.kits.classes import COMPONENTS
from mlrun_music_beatsight.transcribe.features import SAMPLE_RATE, SEGMENT_PRE_SAMPLES, SEGMENT_SAMPLES


def _band_share(x: np.ndarray, lo: float, hi: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)
    return float(spec[(f >= lo) & (f < hi)].sum() / spec.sum())


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 16))
    f = np.fft.rfftfreq(1 << 16, 1 / SAMPLE_RATE)
    band = (f > 40) & (f < 400)
    return float(f[band][np.argmax(spec[band])])


def test_synthetic_hits_cover_every_class_and_are_seeded():
    segs, labels = synthkit.synthetic_hits(3, 1, seed=7)
    assert segs.shape == (36, SEGMENT_SAMPLES) and segs.dtype == np.float32
    assert np.bincount(labels, minlength=12).tolist() == [3] * 12
    assert np.isfinite(segs).all() and np.allclose(np.abs(segs).max(axis=1), 0.5, atol=1e-3)
    # Silence before the hit (context aside, the onset is where the stored segments expect it).
    again, _ = synthkit.synthetic_hits(3, 1, seed=7)
    assert np.array_equal(segs, again)
    other, _ = synthkit.synthetic_hits(3, 1, seed=8)
    assert not np.allclose(segs, other)


def test_kits_differ_and_classes_sound_like_themselves():
    kicks, hats = [], []
    for k in range(4):
        rng = np.random.default_rng(k)
        kit = synthkit.random_kit(rng)
        kick = synthkit.hit(kit, "kick", 1.0, rng)
        hat = synthkit.hit(kit, "hihat_open", 1.0, rng)
        assert _band_share(kick, 20, 300) > 0.6      # a kick is low
        assert _band_share(hat, 3000, 22050) > 0.6   # a hi-hat is high
        kicks.append(_peak_hz(kick))
        hats.append(kit.params["hihat_open"]["decay"])
        # Toms keep their GM order inside a kit: floor below mid below high.
        toms = [_peak_hz(synthkit.hit(kit, t, 1.0, rng)) for t in ("tom_low", "tom_mid", "tom_high")]
        assert toms[0] < toms[1] < toms[2], toms
    assert len({round(k) for k in kicks}) == 4 and len(set(hats)) == 4  # every kit sounds different


def test_cymbal_brightness_spans_the_real_training_kits():
    """Hi-hats and ride bells are as bright as the real training kits' (their spectral centroid above 1 kHz, the
    measure kit-relative naming uses): hi-hats mostly 5.6-9.6 kHz, bells 1.4-7.2 kHz with a median of 4.4 kHz
    (docs/experiments/beatsight.md, synthetic cymbal brightness); hi-hats at 13-15 kHz would sit above nearly
    every real one."""
    from mlrun_music_beatsight.kits.kit_relative import measure

    bright: dict[str, list[float]] = {"hihat_closed": [], "hihat_open": [], "ride_bell": []}
    for k in range(24):
        rng = np.random.default_rng(k)
        kit = synthkit.random_kit(rng)
        for comp, values in bright.items():
            x = np.concatenate([np.zeros(SAMPLE_RATE // 2), synthkit.hit(kit, comp, 0.7, rng), np.zeros(SAMPLE_RATE)])
            values.append(measure(x, SAMPLE_RATE, 0.5, "brightness"))
    for comp in ("hihat_closed", "hihat_open"):
        assert 6000 < np.median(bright[comp]) < 10000 and np.percentile(bright[comp], 10) < 7000, comp
    assert 3000 < np.median(bright["ride_bell"]) < 5500 and np.percentile(bright["ride_bell"], 90) > 4500


def test_onset_is_at_the_segment_onset():
    rng = np.random.default_rng(3)
    kit = synthkit.random_kit(rng)
    seg = synthkit.training_segment(kit, "snare", rng, context_probability=0.0)
    before = np.abs(seg[: SEGMENT_PRE_SAMPLES - 64]).max()
    after = np.abs(seg[SEGMENT_PRE_SAMPLES: SEGMENT_PRE_SAMPLES + 2000]).max()
    assert after > 20 * before


def test_training_uses_synthetic_kits_and_skips_missing_extra_soundfont(mlrun, tmp_path, cache):
    args = [a for a in TINY]
    i = args.index("--synthetic-kits")
    args[i + 1] = "2"
    j = args.index("--extra-soundfonts")
    args[j + 1] = str(tmp_path / "nope.sf2")
    r = mlrun("train", "beatsight", *args, "--cache-dir", tmp_path / "c")
    assert r.code == 0, r.text
    assert "nope.sf2 is not installed; skipped" in r.err and "synthetic kits" in r.err
    report = json.loads((tmp_path / "runs" / "beatsight" / "default" / "data_report.json").read_text())
    assert report["train_sources"]["synthetic"] == 2 * len(COMPONENTS)
    assert sum(report["val_counts"].values()) >= len(COMPONENTS)  # the held-out synthetic kit is in validation


def test_training_on_the_test_kit_is_refused(mlrun):
    for opt in ("--extra-soundfonts", "--soundfont"):
        r = mlrun("train", "beatsight", opt, "/usr/share/sounds/sf3/MuseScore_General.sf3", "--epochs", "1")
        assert r.code != 0 and "held-out test kit" in r.err and len(r.err.strip().splitlines()) == 1
