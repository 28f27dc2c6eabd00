"""--augment-eq-db / --augment-reverb: a seeded random timbre on training items only."""

from __future__ import annotations

import numpy as np
import torch

from tests.phase.conftest import TINY


def _sine(freq: float, n: int = 16000) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(n) / 16000).astype(np.float32)


def test_random_eq_applies_its_curve_and_is_deterministic():
    from mlrun_music_phase.data.timbre import DRAWS, eq_curve_db, random_timbre

    draws = np.random.default_rng(3).random(DRAWS)
    low, high = _sine(100.0), _sine(4000.0)
    mix = low + high
    out = random_timbre(mix, draws, 12.0, 0.0)
    assert np.array_equal(out, random_timbre(mix, draws, 12.0, 0.0))  # same draws, same output
    other = random_timbre(mix, np.random.default_rng(4).random(DRAWS), 12.0, 0.0)
    assert not np.allclose(out, other)
    # Each sine comes out scaled by the curve at its frequency (then the whole item back to the input's RMS).
    spec = np.abs(np.fft.rfft(out))
    gain = np.asarray(eq_curve_db(np.array([100.0, 4000.0]), draws, 12.0))
    measured = 20 * np.log10(spec[4000] / spec[100])  # 1 s of audio: bin k = k Hz
    assert abs(measured - (gain[1] - gain[0])) < 0.1
    assert abs(np.sqrt(np.mean(out ** 2)) - np.sqrt(np.mean(mix ** 2))) < 1e-4
    assert np.all(np.abs(gain) <= 24.0 + 1e-9)  # bands +-12 dB plus a tilt of at most +-6 dB at the ends


def test_reverb_is_causal_and_leaves_a_tail():
    from mlrun_music_phase.data.timbre import DRAWS, random_timbre

    click = np.zeros(16000, dtype=np.float32)
    click[8000] = 1.0
    draws = np.full(DRAWS, 0.9)
    out = random_timbre(click, draws, 0.0, 1.0)
    assert np.allclose(out[:8000], 0.0, atol=1e-5)  # nothing before the onset: downbeats never move earlier
    assert np.abs(out[8000]) > 0.5 and np.sqrt(np.mean(out[8100:9000] ** 2)) > 1e-3  # direct sound, then a tail


def test_timbre_augmentation_touches_training_items_only(mlrun, tmp_path, corpus):
    """Training items differ from the chunk and repeat under the same seed; validation items are the chunks."""
    from mlrun_music_phase.data.chunks import load_dataset
    from mlrun_music_phase.config import PhaseConfig

    cfg = PhaseConfig(chunks_path=str(corpus.chunks), augment_eq_db=10.0, augment_reverb=0.5, val_fraction=0.3,
                      warmup_seconds=1.0)
    splits = load_dataset(cfg, None)
    plain = load_dataset(PhaseConfig(chunks_path=str(corpus.chunks), warmup_seconds=1.0), None).train
    k = splits.train.indices[0]
    raw = torch.from_numpy(np.asarray(plain.chunks.audio[k], dtype=np.float32) / 32767.0)
    torch.manual_seed(7)
    a1, l1, _ = splits.train[0]
    torch.manual_seed(7)
    a2, l2, _ = splits.train[0]
    torch.manual_seed(8)
    a3, _, _ = splits.train[0]
    assert torch.equal(a1, a2) and torch.equal(l1, l2)  # seeded: the trainer's per-item seeds repeat runs
    assert not torch.allclose(a1, a3) and not torch.allclose(a1, raw, atol=1e-3)
    assert torch.equal(l1, torch.from_numpy(np.array(plain.chunks.labels[k], dtype=np.float32)))  # labels kept
    assert splits.val is not None
    v = splits.val.indices[0]
    va, _, _ = splits.val[0]
    assert torch.equal(va, torch.from_numpy(np.asarray(splits.val.chunks.audio[v], dtype=np.float32) / 32767.0))
    # Through the CLI: the options train and are recorded in the checkpoint's config.
    r = mlrun("train", "phase", "--chunks-path", corpus.chunks, "--tag", "timbre",
              "--num-epochs", "1", "--augment-eq-db", "10", "--augment-reverb", "0.5", *TINY)
    assert r.code == 0, r.err
    # The core's run layout by default: runs/phase/<tag>/checkpoints with best, final and latest only.
    checkpoints = tmp_path / "runs/phase/timbre/checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best.pt", "final.pt", "latest.pt"]
    state = torch.load(checkpoints / "final.pt", weights_only=False)
    text = repr(state.get("config", state))
    assert "augment_eq_db" in text and "10.0" in text
    r = mlrun("train", "phase", "--chunks-path", corpus.chunks, "--checkpoints-path", "ck", "--tag", "bad",
              "--augment-eq-db", "-1", *TINY)
    assert r.code != 0 and "'--augment-eq-db' must be" in r.err and "Traceback" not in r.err
