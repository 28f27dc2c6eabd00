"""Audio helpers shared by plugins: reading any file soundfile reads, a log-mel front end in plain torch, and
rendering MIDI with a General MIDI synthesizer (``audio.render``).

Importing the package imports nothing heavy, so a plugin's light modules (its commands) may import
``mlrun_music.audio.render``; the names below load their module (NumPy, torch) when first asked for.
"""

from __future__ import annotations

from typing import Any

__all__ = ["AudioError", "LogMel", "load_audio", "mel_filterbank", "resample"]
_HOME = {"AudioError": "io", "load_audio": "io", "resample": "io", "LogMel": "mel", "mel_filterbank": "mel"}


def __getattr__(name: str) -> Any:
    if name in _HOME:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
