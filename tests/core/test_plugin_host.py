"""The plugin host: discovery through entry points, broken plugins, clashes, the plugin filter, start-up cost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from tests.conftest import REPO, run_mlrun_subprocess
from mlrun_music.config import TrainConfig
from mlrun_music.hookspecs import hookimpl
from mlrun_music.plugins import load_registry
from mlrun_music.task import DatasetSpec, ModelSpec, Task


@pytest.fixture(scope="module")
def misbehaving_site(tmp_path_factory) -> Path:
    """The broken and clashing test distributions, really pip-installed into a folder of their own."""
    target = tmp_path_factory.mktemp("site")
    for name in ("broken", "clash"):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(REPO / "tests" / "plugins" / name)], check=True,
                       capture_output=True)
    return target


def test_broken_plugins_are_listed_and_others_keep_working(misbehaving_site, tmp_path):
    env = {"PYTHONPATH": str(misbehaving_site)}
    r = run_mlrun_subprocess("list", "--json", env=env)
    assert r.code == 0, r.text
    data = json.loads(r.out)
    broken = {b["plugin"]: b for b in data["broken"]}
    assert broken["broken"]["distribution"] == "mlrun-music-broken"
    assert broken["broken"]["error"] == "ImportError: simulated failure: libdrums 2.0 is required"
    assert broken["clash"]["error"] == ("register_datasets: _Conflict: dataset 'synthetic' is registered by both "
                                        "mlrun-music-toy and mlrun-music-clash")
    assert broken["raiser"]["error"] == "register_datasets: RuntimeError: dataset index is corrupt"
    toy = next(t for t in data["tasks"] if t["name"] == "toy")
    assert toy["distribution"] == "mlrun-music-toy" and toy["description"].startswith("Tiny regression")

    text = run_mlrun_subprocess("list", env=env)
    assert "BROKEN broken (mlrun-music-broken): ImportError: simulated failure" in text.out
    r = run_mlrun_subprocess("train", "toy", "--epochs", "1", "--output-dir", tmp_path, env=env)
    assert r.code == 0, r.text
    assert (tmp_path / "toy" / "default" / "checkpoints" / "final.pt").is_file()
    r = run_mlrun_subprocess("train", "broken", env=env)
    assert r.code != 0 and r.err.strip() == ("error: task 'broken' is broken: ImportError: simulated failure: "
                                             "libdrums 2.0 is required")


def test_plugin_filter_env_var(misbehaving_site):
    env = {"PYTHONPATH": str(misbehaving_site), "MLRUN_MUSIC_PLUGINS": ""}
    data = json.loads(run_mlrun_subprocess("list", "--json", env=env).out)
    assert data == {"tasks": [], "broken": []}
    env["MLRUN_MUSIC_PLUGINS"] = "toy,mlrun-music-broken"
    data = json.loads(run_mlrun_subprocess("list", "--json", env=env).out)
    assert [t["name"] for t in data["tasks"]] == ["toy", "toy-pair"]
    assert [b["plugin"] for b in data["broken"]] == ["broken"]


@attrs.define(kw_only=True)
class _Cfg(TrainConfig):
    pass


_TASK = Task(name="demo", description="d", config_class=_Cfg)
_DATA = DatasetSpec("extra", "x:y", "extra data")


class _Owner:
    @hookimpl
    def register_tasks(self, register):
        register(_TASK)
        register(_TASK)  # the same object twice is harmless


class _Adder:
    @hookimpl
    def register_datasets(self, register):
        register("demo", _DATA)

    @hookimpl
    def register_models(self, register):
        register("demo", ModelSpec("big", "x:z", "a bigger model"))


class _Duplicate:
    @hookimpl
    def register_datasets(self, register):
        register("demo", DatasetSpec("extra", "other:thing", "a different dataset, same name"))


class _Impostor:
    @hookimpl
    def register_tasks(self, register):
        register(Task(name="demo", description="another demo", config_class=_Cfg))


class _NoArgs:
    @hookimpl
    def register_tasks(self):  # asks for nothing: pluggy passes nothing
        pass


def test_registration_rules_in_process():
    reg = load_registry(extra_plugins=[("owner", _Owner()), ("adder", _Adder()), ("noargs", _NoArgs()),
                                       ("dup", _Duplicate())])
    demo = reg.tasks["demo"]
    assert demo.datasets["extra"][0] is _DATA and demo.datasets["extra"][1].distribution == "adder"
    assert demo.models["big"][1].plugin == "adder"
    broken = {b.plugin: b.error for b in reg.broken}
    assert broken["dup"] == "register_datasets: _Conflict: dataset 'extra' is registered by both adder and dup"
    assert "owner" not in broken and "noargs" not in broken

    reg = load_registry(extra_plugins=[("owner", _Owner()), ("impostor", _Impostor())])
    assert "demo" not in reg.tasks  # withdrawn: neither implementation runs under a contested name
    with pytest.raises(Exception, match="task 'demo' is registered by both owner and impostor; uninstall one"):
        reg.get("demo")


def test_listing_does_not_import_torch():
    code = ("import sys; from mlrun_music import cli, api; cli.add_plugin_commands(); tasks = api.list_tasks(); "
            "api.describe_config(api.task(tasks[0]['name']).task.config_class); "
            "print(len(tasks), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 1 and out[1] == "False"
    for args in (["--help"], ["list"], ["info", "toy"], ["train", "toy", "--help"]):
        code = ("import sys; from mlrun_music.cli import main; main(%r); "
                "sys.stderr.write('TORCH=' + str('torch' in sys.modules))" % (args,))
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert "TORCH=False" in p.stderr, (args, p.stderr)
