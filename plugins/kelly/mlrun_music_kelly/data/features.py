"""EmotionRecognizer's input: 128 log-mel bands averaged over time (the core's torch mel front end)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from mlrun_music.audio import LogMel, load_audio

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 512
N_MELS = 128
#: A file must hold one analysis frame of audio: a shorter clip has no spectrum to average.
MIN_SECONDS = N_FFT / SAMPLE_RATE


class FeatureExtractor:
    """Reads up to ``seconds`` of a file at 22.05 kHz and returns the time average of its 128-band log-mel."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self.mel = LogMel(SAMPLE_RATE, N_FFT, HOP, N_MELS).eval()

    @torch.no_grad()
    def from_audio(self, audio: np.ndarray) -> np.ndarray:
        """``[samples]`` mono at 22.05 kHz -> ``[128]`` float32; clips shorter than one frame are zero-padded."""
        audio = np.asarray(audio, dtype=np.float32)[: int(self.seconds * SAMPLE_RATE)]
        if len(audio) < N_FFT:
            audio = np.pad(audio, (0, N_FFT - len(audio)))
        frames = self.mel(torch.from_numpy(audio)[None])
        return frames[0].mean(dim=0).numpy().astype(np.float32)

    def from_file(self, path: str | Path) -> np.ndarray:
        """Features of an audio file: AudioError naming the file when the core's audio checks refuse it (missing,
        not audio, a truncated WAV, silent, DC only, ...) or when it is shorter than one analysis frame."""
        return self.from_audio(load_audio(Path(path), SAMPLE_RATE, min_seconds=MIN_SECONDS))
