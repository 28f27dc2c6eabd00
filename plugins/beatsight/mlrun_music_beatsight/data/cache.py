"""The render cache of both tasks: rendered audio is kept as .npz files under the core's cache folder
(``mlrun_music.cache``, subfolder ``beatsight``) or ``--cache-dir``, keyed by a hash of everything it depends on."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.cache import cache_dir as core_cache_dir
from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path

from ..kits.soundfonts import is_hydrogen_kit


def cache_dir(config: Any) -> Path:
    """Where rendered audio is cached."""
    return core_cache_dir("beatsight", config.cache_dir)


def cache_key(parts: dict[str, Any]) -> str:
    """A short hash of everything a cached render depends on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def soundfont_id(path: str) -> dict[str, Any]:
    """A soundfont's identity for cache keys (a missing or unreadable file is a one-line error)."""
    from mlrun_music.audio.render import check_soundfont

    if is_hydrogen_kit(path):
        from ..kits.hydrogen import load

        p = load(path).path  # a UserError naming a kit that cannot be read
    else:
        p = check_soundfont(path)
    return {"path": str(p.resolve()), "size": p.stat().st_size}


def cached(path: Path, make: Any, log: Any, what: str) -> dict[str, np.ndarray]:
    """The arrays cached at ``path``, else ``make()``'s, written there atomically (announced as ``what``)."""
    if path.is_file():
        try:
            with np.load(path) as z:
                data = {k: z[k] for k in z.files}
            log.info("beatsight: %s loaded from the cache %s", what, path)
            return data
        except (OSError, ValueError):
            log.warning("beatsight: cache file %s is unreadable; rendering again", path)
    log.info("beatsight: rendering %s (cached afterwards in %s)...", what, path)
    data = make()
    try:
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **data)
    except UserError as exc:
        log.warning("beatsight: could not cache the rendered audio (%s)", exc)
    return data
