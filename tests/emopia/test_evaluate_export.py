"""`mlrun evaluate emopia` and `mlrun export emopia --format onnx` on the tiny trained checkpoint."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort

from mlrun_music import api

REPO = Path(__file__).resolve().parents[2]


def test_evaluate_reports_loss_metrics_controllability_and_a_plot(mlrun, trained, tmp_path):
    out = tmp_path / "eval"
    r = mlrun("evaluate", "emopia", trained / "checkpoints" / "final.pt", "--samples-per-emotion", "2",
              "--duration", "8", "--output", out)
    assert r.code == 0, r.err
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["split"] == "test" and m["clips"] > 0
    assert math.isclose(m["perplexity"], math.exp(m["loss"]), rel_tol=1e-9)
    # a trained model beats the token-frequency baseline on held-out clips
    assert m["perplexity"] < m["baseline_unigram_perplexity"]
    clf = m["classifier"]
    assert set(clf["generated_per_quadrant"]) == {"Q1", "Q2", "Q3", "Q4"}
    assert clf["real_accuracy"] >= 0.75  # the synthetic quadrants differ clearly; the classifier must see it
    assert m["duration_control"]["samples"] == 8 and m["duration_control"]["within_10_percent"] == 1.0
    table = m["metrics_per_emotion"]
    assert set(table) == {"Q1 (happy)", "Q2 (tense)", "Q3 (sad)", "Q4 (calm)"}
    real = {k: v["real"] for k, v in table.items()}
    assert real["Q1 (happy)"]["tempo"] > real["Q3 (sad)"]["tempo"]
    assert real["Q1 (happy)"]["major_minor"] > real["Q3 (sad)"]["major_minor"]
    assert all("generated" in v and v["generated"]["note_density"] > 0 for v in table.values())
    assert (out / "comparison.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(list((out / "samples").glob("*.mid"))) == 8


def test_onnx_export_matches_pytorch(mlrun, trained, tmp_path):
    out = tmp_path / "model.onnx"
    r = mlrun("export", "emopia", trained / "checkpoints" / "final.pt", "--format", "onnx", "--output", out)
    assert r.code == 0, r.err
    check = json.loads(out.with_name("model.onnx.check.json").read_text())
    assert check["max_abs_diff"] <= 1e-3 and check["inputs"]["tokens"][1] == 64
    loaded = api.load_model("emopia", trained / "checkpoints" / "final.pt")
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    tokens = np.random.default_rng(0).integers(0, loaded.info["vocab_size"], (3, 64))
    feeds = {"tokens": tokens, "emotion": np.array([0, 1, 3]), "duration": np.array([0.2, 0.5, 0.9], np.float32)}
    got = sess.run(None, feeds)[0]
    import torch

    with torch.no_grad():
        want = loaded.model(torch.from_numpy(tokens), torch.tensor([0, 1, 3]), torch.tensor([0.2, 0.5, 0.9])).numpy()
    assert np.abs(got - want).max() < 1e-3


def test_demo_config_is_small_and_valid(mlrun):
    values = tomllib.loads((REPO / "plugins" / "emopia" / "demo.toml").read_text())
    config = api.make_config("emopia", values)
    assert config.d_model <= 64 and config.n_layers <= 2


def test_evaluate_on_another_emopia_folder(mlrun, trained, tmp_path):
    from .conftest import make_tree

    base = make_tree(tmp_path / "other", songs=12, seed=9)
    out = tmp_path / "eval_other"
    r = mlrun("evaluate", "emopia", trained / "checkpoints" / "final.pt", "--data", base, "--samples-per-emotion",
              "1", "--duration", "4", "--output", out)
    assert r.code == 0, r.err
    m = json.loads((out / "metrics.json").read_text())["metrics"]
    assert m["data"] == f"EMOPIA layout at {base}" and m["clips"] > 0
    assert m["duration_control"]["within_10_percent"] == 1.0
