"""The one cache folder: ``$MLRUN_MUSIC_CACHE``, else the platform's user cache folder for ``mlrun-music``
(``~/.cache/mlrun-music`` on Linux, via platformdirs). Each plugin keeps its files in a subfolder named after it."""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE = "MLRUN_MUSIC_CACHE"


def cache_root() -> Path:
    """The cache folder every plugin shares."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("mlrun-music", appauthor=False))


def cache_dir(plugin: str, override: str | os.PathLike[str] = "") -> Path:
    """``override`` when given (a plugin's ``--cache-dir``), else ``<cache root>/<plugin>``."""
    return Path(override) if str(override) else cache_root() / plugin
