"""The pipeline's input: 128 audio features read from a features file or computed from an audio file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mlrun_music.errors import UserError


def load_features(path: Path) -> np.ndarray:
    """128 features from a .json (a list, or {"features": [...]}), a .npy, or any audio file (mel features)."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".json", ".npy"):
        try:
            if suffix == ".json":
                data = json.loads(path.read_text(encoding="utf-8"))
                data = data.get("features") if isinstance(data, dict) else data
            else:
                data = np.load(path, allow_pickle=False)
            values = np.asarray(data, dtype=np.float32).reshape(-1)
        except (OSError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise UserError(f"{path}: not a features file ({str(exc).splitlines()[0]})") from None
        except RecursionError:
            raise UserError(f"{path}: not a features file (it nests too deeply)") from None
        if values.shape != (128,) or not np.all(np.isfinite(values)):
            raise UserError(f"{path}: features must be 128 finite numbers, got {values.size}")
        return values
    from ..data.features import FeatureExtractor

    return FeatureExtractor().from_file(path)
