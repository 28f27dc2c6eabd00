"""Audio helpers shared by plugins: reading any file soundfile reads, and a log-mel front end in plain torch."""

from .io import AudioError, load_audio, resample
from .mel import LogMel, mel_filterbank

__all__ = ["AudioError", "LogMel", "load_audio", "mel_filterbank", "resample"]
