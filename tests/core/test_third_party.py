"""A real third-party distribution (examples/mlrun-music-scales) extends the chromasonic task: it shows in the
listing with its source, trains through the CLI, and uninstalling it removes exactly what it added."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_mlrun_subprocess

pytest.importorskip("mlrun_music_chromasonic")
pytest.importorskip("mlrun_music_scales", reason="installed by scripts/setup.sh")


def listing() -> dict:
    r = run_mlrun_subprocess("list", "--json")
    assert r.code == 0, r.text
    return {t["name"]: t for t in json.loads(r.out)["tasks"]}


def test_listed_with_its_source(mlrun):
    data = json.loads(mlrun("list", "--json").out)
    chroma = next(t for t in data["tasks"] if t["name"] == "chromasonic")
    scales = next(d for d in chroma["datasets"] if d["name"] == "scales")
    assert scales["source"] == "mlrun-music-scales" and not scales["embedded"]
    gru = next(m for m in chroma["models"] if m["name"] == "gru")
    assert gru["source"] == "mlrun-music-scales"
    assert "scales [from mlrun-music-scales]" in mlrun("list").out


def test_train_on_the_third_party_dataset_and_model(mlrun, tmp_path):
    r = mlrun("train", "chromasonic", "--dataset", "scales", "--model", "gru", "--epochs", "4",
              "--learning-rate", "0.01", "--batch-size", "16")
    assert r.code == 0, r.text
    assert "dataset 'scales' from mlrun-music-scales" in r.err
    run = tmp_path / "runs" / "chromasonic" / "default"
    history = json.loads((run / "gru_history.json").read_text())
    assert len(history) == 4 and history[-1]["val_loss"] < history[0]["val_loss"]
    assert (run / "checkpoints" / "gru_final.pt").is_file()
    report = json.loads((run / "data_report.json").read_text())
    assert "scales" in json.dumps(report)


def test_a_third_party_dataset_declares_its_own_options(mlrun, tmp_path):
    info = mlrun("info", "chromasonic", "--all").out
    after = info.split("  scales [from mlrun-music-scales]:")[1].splitlines()
    assert after[1].startswith("      --scales-keys (int in [1, 12], default 12): Tonics from middle C")
    entry = json.loads(mlrun("info", "chromasonic", "--json").out)
    option = next(o for o in entry["options"] if o["name"] == "scales_keys")
    assert option["group"] == "dataset:scales"
    r = mlrun("train", "chromasonic", "--dataset", "scales", "--model", "gru", "--scales-keys", "13")
    assert r.code == 2 and "'--scales-keys' must be int in [1, 12], got 13" in r.err
    r = mlrun("train", "chromasonic", "--dataset", "synthetic", "--scales-keys", "3")
    assert r.code == 2 and "--scales-keys is used only with --dataset scales; this run trains on 'synthetic'" in r.err
    r = mlrun("train", "chromasonic", "--dataset", "scales", "--model", "gru", "--scales-keys", "2", "--epochs", "1",
              "--batch-size", "16", "--tag", "two-keys")
    assert r.code == 0, r.text
    report = json.loads((tmp_path / "runs/chromasonic/two-keys/data_report.json").read_text())
    assert 32 in [v for v in _numbers(report)]  # 16 exercises per tonic, two tonics


def _numbers(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)
    elif isinstance(obj, int) and not isinstance(obj, bool):
        yield obj


def test_uninstall_removes_exactly_its_additions():
    before = listing()
    pip = [sys.executable, "-m", "pip", "-q"]
    subprocess.run([*pip, "uninstall", "-y", "mlrun-music-scales"], check=True, capture_output=True)
    try:
        after = listing()
        assert set(after) == set(before)
        for name in before:
            if name != "chromasonic":
                assert after[name] == before[name]
        names = lambda t, kind: [x["name"] for x in t[kind]]  # noqa: E731
        assert names(after["chromasonic"], "datasets") == [d for d in names(before["chromasonic"], "datasets")
                                                           if d != "scales"]
        assert "gru" not in names(after["chromasonic"], "models")
    finally:
        subprocess.run([*pip, "install", "--no-deps", "--no-build-isolation", "-e",
                        str(REPO / "examples" / "mlrun-music-scales")], check=True, capture_output=True)
    assert listing() == before
