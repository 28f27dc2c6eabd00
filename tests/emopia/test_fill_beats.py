"""`mlrun emopia generate --fill-beats` (the default): no whole beat of a generated piece is left silent."""

from __future__ import annotations

import json

from mlrun_music.symbolic_features import midi_features


def _silent_rates(folder) -> list[float]:
    rates = [midi_features(f)["empty_beat_rate"] for f in sorted(folder.glob("*.mid"))]
    assert len(rates) == 6, folder
    return rates


def test_no_beat_is_left_silent_unless_asked(mlrun, trained, tmp_path):
    ckpt = trained / "checkpoints" / "final.pt"
    common = ["--emotion", "calm", "--duration", "16", "--num-samples", "6", "--seed", "3", "--no-steer",
              "--temperature", "1.5", "--guidance", "1"]
    free, filled = tmp_path / "free", tmp_path / "filled"
    r = mlrun("emopia", "generate", ckpt, *common, "--no-fill-beats", "--out", free)
    assert r.code == 0, r.err
    r = mlrun("emopia", "generate", ckpt, *common, "--out", filled)
    assert r.code == 0, r.err
    assert json.loads((filled / "calm_Q4_seed3.json").read_text())["fill_beats"] is True
    assert json.loads((free / "calm_Q4_seed3.json").read_text())["fill_beats"] is False
    # The barely trained model, sampled hot, leaves beats silent on its own; the rule leaves none, and the pieces
    # still last the requested time.
    assert max(_silent_rates(free)) > 0
    assert _silent_rates(filled) == [0.0] * 6
    manifest = json.loads((filled / "calm_Q4_seed3.json").read_text())
    assert all(abs(s["seconds"] - 16) <= 1.6 for s in manifest["samples"])
