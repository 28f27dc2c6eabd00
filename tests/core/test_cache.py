"""The one cache folder every plugin shares."""

from __future__ import annotations

from pathlib import Path

from mlrun_music.cache import cache_dir, cache_root


def test_env_wins_then_the_platform_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(tmp_path))
    assert cache_dir("phase") == tmp_path / "phase"
    assert cache_dir("phase", tmp_path / "mine") == tmp_path / "mine"  # a plugin's --cache-dir
    monkeypatch.delenv("MLRUN_MUSIC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "mlrun-music"


def test_plugins_ask_the_core_for_their_cache(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from mlrun_music_beatsight.data.cache import cache_dir as beatsight_cache
    from mlrun_music_phase.data.default import default_root

    monkeypatch.setenv("MLRUN_MUSIC_CACHE", str(tmp_path))
    assert beatsight_cache(SimpleNamespace(cache_dir="")) == tmp_path / "beatsight"
    assert default_root(SimpleNamespace(default_data_path="")) == tmp_path / "phase"
    assert Path(beatsight_cache(SimpleNamespace(cache_dir=str(tmp_path / "x")))) == tmp_path / "x"
