"""phase_tcn_mel: a causal dilated TCN on a log-mel front end, with the anticipation as an input; and its loss."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mlrun_music.audio import LogMel
from mlrun_music.training import OnnxSpec, StepOutput

from ..config import FPS, HOP, SAMPLE_RATE

FMIN, FMAX = 27.5, 8000.0


class CausalBlock(nn.Module):
    """Two times [causal Conv1d(k=3, dilation d), LayerNorm, GELU], plus the skip."""

    def __init__(self, channels: int, dilation: int, kernel: int = 3) -> None:
        super().__init__()
        self.dilation, self.kernel = dilation, kernel
        self.conv1 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.norm1 = nn.LayerNorm(channels)
        self.conv2 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.norm2 = nn.LayerNorm(channels)

    def _conv(self, conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
        # x: [B, T, C]; left padding keeps it causal and the length unchanged.
        y = conv(F.pad(x.transpose(1, 2), ((self.kernel - 1) * self.dilation, 0)))
        return y.transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.gelu(self.norm1(self._conv(self.conv1, x)))
        h = F.gelu(self.norm2(self._conv(self.conv2, h)))
        return x + h


#: softplus^-1(0.5): the rate head starts at half a bar per second (a 2 s bar).
RATE_BIAS = math.log(math.expm1(0.5))


class PhaseTCNMel(nn.Module):
    """``frames [B, T, 320], anticipation [B] -> phase_sincos [B, T, 2]`` (sin, cos of 2*pi*phase, unnormalised).

    With ``rate_head`` the last layer also predicts the phase rate r (bars per second, softplus) and the (sin, cos)
    of the current phase is rotated by 2*pi*a*r: the phase a seconds ahead for a steady tempo, which the network
    then only has to correct. Without it, the anticipation only enters as the 65th input feature (the original).
    """

    def __init__(self, n_mels: int = 64, channels: int = 64, blocks: int = 8, rate_head: bool = True) -> None:
        super().__init__()
        self.frontend = LogMel(SAMPLE_RATE, HOP, HOP, n_mels, FMIN, FMAX)
        self.inp = nn.Linear(n_mels + 1, channels)
        self.blocks = nn.ModuleList(CausalBlock(channels, 2 ** i) for i in range(blocks))
        self.rate_head = rate_head
        self.head = nn.Linear(channels, 3 if rate_head else 2)
        if rate_head:
            with torch.no_grad():
                self.head.bias[2] = RATE_BIAS

    def output(self, h: torch.Tensor, anticipation: torch.Tensor) -> torch.Tensor:
        """The head: ``[..., channels] -> [..., 2]`` (sin, cos), rotated ahead by the predicted rate."""
        y = self.head(h)
        if not self.rate_head:
            return y
        s, c = y[..., 0], y[..., 1]
        a = anticipation.reshape((-1,) + (1,) * (y.dim() - 2)).to(y.dtype) if y.dim() > 1 else anticipation
        theta = 2 * math.pi * a * F.softplus(y[..., 2])
        cos_t, sin_t = torch.cos(theta), torch.sin(theta)
        return torch.stack([s * cos_t + c * sin_t, c * cos_t - s * sin_t], dim=-1)

    @property
    def receptive_field(self) -> int:
        """Frames of past context each output sees (itself included)."""
        return 1 + sum(2 * (b.kernel - 1) * b.dilation for b in self.blocks)

    def features(self, frames: torch.Tensor, anticipation: torch.Tensor) -> torch.Tensor:
        mel = self.frontend.forward_frames(frames)
        a = anticipation.reshape(-1, 1, 1).to(mel.dtype).expand(mel.shape[0], mel.shape[1], 1)
        return self.inp(torch.cat([mel, a], dim=-1))

    def forward(self, frames: torch.Tensor, anticipation: torch.Tensor) -> torch.Tensor:
        if frames.dim() == 2:  # raw audio [B, samples]: cut into frames (training goes this way, also under DDP)
            frames = self.frontend.frames(frames)
        x = self.features(frames, anticipation)
        for block in self.blocks:
            x = block(x)
        return self.output(x, anticipation)

    def forward_audio(self, audio: torch.Tensor, anticipation: torch.Tensor) -> torch.Tensor:
        """``audio [B, samples]`` (16 kHz) -> ``[B, samples // 320, 2]``."""
        return self(audio, anticipation)


class StreamStep(nn.Module):
    """One 20 ms frame of a :class:`PhaseTCNMel`, for streaming: ``frame [1, 320], anticipation [1],
    past [2 * convolutions, channels] -> phase_sincos [1, 2], inputs [convolutions, channels]``.

    ``past`` holds, for each causal convolution in order, its inputs ``2 * dilation`` and ``dilation`` frames ago
    (zeros before the start, as the offline pass pads); ``inputs`` is what each convolution got this frame, for
    the caller's ring buffers (:class:`~mlrun_music_phase.apply.PhaseStream`). Outputs equal the offline pass
    frame for frame. Exported to ONNX by :func:`stream_step_onnx`.
    """

    def __init__(self, model: PhaseTCNMel) -> None:
        super().__init__()
        self.model = model
        self.dilations = [b.dilation for b in model.blocks for _ in range(2)]
        convs = [c for b in model.blocks for c in (b.conv1, b.conv2)]
        # Taps t - 2d and t - d of every convolution in one batched product [K, 1, 2C] @ [K, 2C, C] (they are all
        # known before the frame arrives); tap t is one [C, C] product per convolution.
        self.w_past = nn.Parameter(torch.stack([torch.cat([c.weight[:, :, 0], c.weight[:, :, 1]], 1).t()
                                                for c in convs]).detach().contiguous(), requires_grad=False)
        self.b_past = nn.Parameter(torch.stack([c.bias for c in convs]).detach(), requires_grad=False)
        self.w_now = nn.ParameterList(nn.Parameter(c.weight[:, :, 2].t().detach().contiguous(), requires_grad=False)
                                      for c in convs)

    def forward(self, frame: torch.Tensor, anticipation: torch.Tensor, past: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.model
        x = m.features(frame[:, None, :], anticipation)[:, 0]  # [1, C]
        k = len(self.dilations)
        pre = (past.reshape(k, 1, -1) @ self.w_past)[:, 0] + self.b_past  # [K, C]
        inputs = []
        k = 0
        for block in m.blocks:
            h = x
            for norm in (block.norm1, block.norm2):
                inputs.append(h)
                h = F.gelu(norm(h @ self.w_now[k] + pre[k:k + 1]))
                k += 1
            x = x + h
        return m.output(x, anticipation), torch.cat(inputs, 0)


def stream_step_onnx(model: PhaseTCNMel) -> bytes:
    """The :class:`StreamStep` of ``model`` as ONNX bytes (opset 17, the TorchScript exporter as the core's
    export)."""
    import contextlib
    import io
    import warnings

    step = StreamStep(model.eval().cpu()).eval()
    args = (torch.zeros(1, HOP), torch.zeros(1), torch.zeros(2 * len(step.dilations), model.inp.out_features))
    buf = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(step, args, buf, input_names=["frame", "anticipation", "past"],
                          output_names=["phase_sincos", "inputs"], opset_version=20, dynamo=False)
    return buf.getvalue()


def build(config: Any, info: dict[str, Any]) -> nn.Module:
    """The model factory (rebuildable from the config alone)."""
    return PhaseTCNMel(n_mels=config.n_mels, channels=config.channels, blocks=config.blocks,
                       rate_head=getattr(config, "rate_head", False))


def sincos_to_phase(out: torch.Tensor) -> torch.Tensor:
    """``[..., 2]`` (sin, cos) -> phase in [0, 1)."""
    return torch.remainder(torch.atan2(out[..., 0], out[..., 1]) / (2 * math.pi), 1.0)


def target_phase(labels: torch.Tensor, anticipation: torch.Tensor, frames: int) -> torch.Tensor:
    """Phase at frame ``i + a * 50`` for ``i < frames``, interpolated on the unit circle. labels: ``[B, L]``."""
    pos = torch.arange(frames, device=labels.device, dtype=torch.float32)[None, :] \
        + anticipation.reshape(-1, 1).float() * FPS
    i0 = pos.floor().long().clamp(0, labels.shape[1] - 1)
    i1 = (i0 + 1).clamp(max=labels.shape[1] - 1)
    frac = pos - pos.floor()
    a0 = 2 * math.pi * labels.gather(1, i0)
    a1 = 2 * math.pi * labels.gather(1, i1)
    s = (1 - frac) * torch.sin(a0) + frac * torch.sin(a1)
    c = (1 - frac) * torch.cos(a0) + frac * torch.cos(a1)
    return torch.remainder(torch.atan2(s, c) / (2 * math.pi), 1.0)


def circular_error(pred_phase: torch.Tensor, true_phase: torch.Tensor) -> torch.Tensor:
    d = torch.remainder(pred_phase - true_phase, 1.0)
    return torch.minimum(d, 1.0 - d)


def loss(model: nn.Module, batch: Any, config: Any) -> StepOutput:
    """MSE between the L2-normalised prediction and (sin, cos) of the target, frames after the warmup only."""
    audio, labels, anticipation = batch
    out = model(audio, anticipation)
    frames = out.shape[1]
    target = target_phase(labels, anticipation, frames)
    warm = min(int(round(config.warmup_seconds * FPS)), frames - 1)
    pred = F.normalize(out[:, warm:], dim=-1, eps=1e-6)
    angle = 2 * math.pi * target[:, warm:]
    value = F.mse_loss(pred, torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1))
    with torch.no_grad():
        err = circular_error(sincos_to_phase(out[:, warm:]), target[:, warm:])
        metrics = {"circ_mae": err.mean(), "within_0.05": (err <= 0.05).float().mean()}
    return StepOutput(value, metrics)


def onnx_spec(model: nn.Module, config: Any, info: dict[str, Any]) -> OnnxSpec:
    """Inputs ``frames [batch, frames, 320]`` and ``anticipation [batch]``; output ``phase_sincos``."""
    g = torch.Generator().manual_seed(0)
    frames = 0.1 * torch.randn(1, 250, HOP, generator=g)
    return OnnxSpec(args=(frames, torch.tensor([0.25])), input_names=["frames", "anticipation"],
                    output_names=["phase_sincos"],
                    dynamic_axes={"frames": {0: "batch", 1: "frames"}, "anticipation": {0: "batch"},
                                  "phase_sincos": {0: "batch", 1: "frames"}}, opset=17, tolerance=1e-4)
