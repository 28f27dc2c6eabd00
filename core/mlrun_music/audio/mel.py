"""A log-mel spectrogram in plain torch (matmuls with a DFT basis), so it exports to ONNX and runs frame by frame."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(n_fft: int, n_mels: int, sample_rate: int, fmin: float = 0.0, fmax: float | None = None,
                   area_normalize: bool = True) -> torch.Tensor:
    """Triangular mel filters as a ``[n_fft // 2 + 1, n_mels]`` matrix (HTK mel scale).

    With ``area_normalize`` every filter sums to one, so band energies do not grow with band width.
    Bands narrower than one FFT bin still get the nearest bin, so no band is ever all-zero.
    """
    fmax = sample_rate / 2 if fmax is None else fmax
    n_bins = n_fft // 2 + 1
    freqs = np.linspace(0, sample_rate / 2, n_bins)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), n_mels + 2))
    bank = np.zeros((n_bins, n_mels), dtype=np.float64)
    for m in range(n_mels):
        lo, centre, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (freqs - lo) / max(centre - lo, 1e-9)
        falling = (hi - freqs) / max(hi - centre, 1e-9)
        bank[:, m] = np.clip(np.minimum(rising, falling), 0.0, None)
        if bank[:, m].sum() <= 0:
            bank[int(np.argmin(np.abs(freqs - centre))), m] = 1.0
    if area_normalize:
        bank /= bank.sum(axis=0, keepdims=True)
    return torch.tensor(bank, dtype=torch.float32)


class LogMel(nn.Module):
    """``[batch, samples] -> [batch, frames, n_mels]`` log-mel energies.

    Frames start every ``hop`` samples, each ``n_fft`` long with a Hann window; no padding, so frame i only sees
    samples up to ``i * hop + n_fft`` (causal). ``log(mel + eps)`` at the end.
    """

    def __init__(self, sample_rate: int, n_fft: int, hop: int, n_mels: int, fmin: float = 0.0,
                 fmax: float | None = None, eps: float = 1e-6) -> None:
        super().__init__()
        self.n_fft, self.hop, self.eps = n_fft, hop, eps
        n = torch.arange(n_fft, dtype=torch.float64)
        k = torch.arange(n_fft // 2 + 1, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / n_fft)  # periodic Hann
        angle = 2 * math.pi * n[:, None] * k[None, :] / n_fft
        self.register_buffer("cos_basis", (window[:, None] * torch.cos(angle)).float(), persistent=False)
        self.register_buffer("sin_basis", (window[:, None] * torch.sin(angle)).float(), persistent=False)
        self.register_buffer("filters", mel_filterbank(n_fft, n_mels, sample_rate, fmin, fmax), persistent=False)

    def frames(self, audio: torch.Tensor) -> torch.Tensor:
        """Cut ``[batch, samples]`` into ``[batch, frames, n_fft]`` (for inspection and frame-by-frame use)."""
        return audio.unfold(-1, self.n_fft, self.hop)

    def forward_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Log-mel of already framed audio ``[..., n_fft] -> [..., n_mels]`` (streaming: one frame at a time)."""
        real = frames @ self.cos_basis
        imag = frames @ self.sin_basis
        power = real * real + imag * imag
        return torch.log(power @ self.filters + self.eps)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        # Strided convolutions with the windowed DFT basis as kernels: the frame count follows the input length,
        # so the ONNX export keeps a dynamic time axis (Tensor.unfold does not export usably).
        x = audio.unsqueeze(1)
        real = torch.nn.functional.conv1d(x, self.cos_basis.t().unsqueeze(1), stride=self.hop)
        imag = torch.nn.functional.conv1d(x, self.sin_basis.t().unsqueeze(1), stride=self.hop)
        power = (real * real + imag * imag).transpose(1, 2)
        return torch.log(power @ self.filters + self.eps)
