"""EmotionRecognizer's input: 128 log-mel bands averaged over time (the core's torch mel front end)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import torch

from mlrun_music.audio import AudioError, LogMel, load_audio, resample

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
        not audio, silent, DC only, ...), when it is shorter than one analysis frame, or when it is a WAV file cut
        short (its header promises more samples than it holds)."""
        cut = wav_truncation(Path(path))
        if cut:
            raise AudioError(f"{path}: the WAV file is truncated ({cut}); re-export or copy it again")
        return self.from_audio(read_checked(Path(path)))


def read_checked(path: Path) -> np.ndarray:
    """Mono audio at 22.05 kHz, checked by the core at the file's own rate: resampled first, a constant (DC)
    signal rings at its edges and would pass the silence and DC checks."""
    import soundfile as sf

    try:
        rate = sf.info(str(path)).samplerate
    except Exception:  # not audio, a folder, missing...: load_audio names the problem
        rate = SAMPLE_RATE
    return resample(load_audio(path, rate, min_seconds=MIN_SECONDS), rate, SAMPLE_RATE)


def wav_truncation(path: Path) -> str:
    """For a RIFF/WAVE file whose data chunk declares more bytes than the file holds, how many it declares and
    holds; '' for a complete WAV and for anything else (other formats are left to the audio reader)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return ""
            pos = 12
            while pos + 8 <= size:
                f.seek(pos)
                kind, length = struct.unpack("<4sI", f.read(8))
                if kind == b"data":
                    # A streaming writer may leave 0 or 0xFFFFFFFF for "unknown"; those are not cut short.
                    held = size - pos - 8
                    if 0 < length < 0xFFFFFFFF and held < length:
                        return f"its header declares {length} bytes of samples, the file holds {held}"
                    return ""
                pos += 8 + length + (length & 1)
    except OSError:
        return ""  # unreadable files are reported by the audio reader
    return ""
