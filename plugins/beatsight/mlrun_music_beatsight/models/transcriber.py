"""The frame-level drum transcriber: a convolutional-recurrent network that reads a whole song's log-mel frames and
gives, for every 10 ms frame and each of the 12 classes, the probability that a hit of that class starts there
(several classes may sound at once). Peaks of those activations are the transcription. Also its loss and its
ONNX spec."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mlrun_music.training import OnnxSpec, StepOutput

from ..kits.classes import COMPONENTS
from ..transcribe.frames import FPS, N_MELS

#: Matching window of the onset F-measure (mir_eval's 50 ms), in seconds.
WINDOW = 0.05


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class DrumTranscriber(nn.Module):
    """``[batch, frames, N_MELS]`` log-mel -> ``[batch, frames, classes]`` onset logits.

    Two conv blocks (two 3x3 convs each, pooling frequency by 3, never time) see each hit's sound; a 2-layer
    bidirectional GRU sees the song around it (which toms this kit has, whether the accompaniment is playing).
    Input normalisation (per-band mean and deviation of the training frames) is part of the model."""

    def __init__(self, n_mels: int = N_MELS, classes: int = len(COMPONENTS), channels: tuple[int, int] = (16, 32),
                 hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        c1, c2 = channels
        self.conv = nn.Sequential(*_conv(1, c1), *_conv(c1, c1), nn.MaxPool2d((1, 3)), nn.Dropout(dropout),
                                  *_conv(c1, c2), *_conv(c2, c2), nn.MaxPool2d((1, 3)), nn.Dropout(dropout))
        self.proj = nn.Linear(c2 * (n_mels // 9), 128)
        self.gru = nn.GRU(128, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=dropout)
        self.out = nn.Linear(2 * hidden, classes)
        self.register_buffer("band_mean", torch.zeros(n_mels))
        self.register_buffer("band_std", torch.ones(n_mels))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = ((frames - self.band_mean) / self.band_std).unsqueeze(1)
        x = self.conv(x)  # [b, c, t, f]
        b, c, t, f = x.shape
        x = F.relu(self.proj(x.permute(0, 2, 1, 3).reshape(b, t, c * f)))
        x, _ = self.gru(x)
        return self.out(x)


def build(config: Any, info: dict[str, Any]) -> nn.Module:
    """Model factory; the band statistics come from ``info`` (measured on the training frames)."""
    model = DrumTranscriber(hidden=config.hidden, dropout=config.dropout)
    if "band_mean" in info:
        model.band_mean.copy_(torch.tensor(info["band_mean"], dtype=torch.float32))
        model.band_std.copy_(torch.tensor(info["band_std"], dtype=torch.float32))
    return model


def peaks(activation: np.ndarray, threshold: float | np.ndarray, distance: int = 2) -> list[np.ndarray]:
    """Per class, the times (s) of frames whose activation reaches ``threshold`` and is the largest within
    ``distance`` frames either side (the first frame of a plateau)."""
    act = np.asarray(activation, np.float32)
    thr = np.broadcast_to(np.asarray(threshold, np.float32), (act.shape[1],))
    t = len(act)
    padded = np.pad(act, ((distance, distance), (0, 0)), constant_values=-1.0)
    local_max = np.max(np.stack([padded[i:i + t] for i in range(2 * distance + 1)]), axis=0)
    out = []
    for c in range(act.shape[1]):
        idx = np.flatnonzero((act[:, c] >= thr[c]) & (act[:, c] >= local_max[:, c]))
        keep = idx[np.concatenate([[True], np.diff(idx) > distance])] if len(idx) else idx
        out.append(keep / FPS)
    return out


def activations(model: nn.Module, frames: np.ndarray, chunk: int = 6000) -> np.ndarray:
    """Sigmoid activations ``[frames, classes]`` of a whole song; songs over ``chunk`` frames (60 s) go through in
    overlapping pieces so memory stays flat."""
    model.eval()
    out = np.zeros((len(frames), model.out.out_features), np.float32)
    hop, edge = chunk - 400, 200
    with torch.no_grad():
        for s in range(0, max(len(frames), 1), hop):
            piece = torch.from_numpy(np.ascontiguousarray(frames[s:s + chunk], np.float32))[None]
            if piece.shape[1] == 0:
                break
            act = torch.sigmoid(model(piece))[0].numpy()
            lo = 0 if s == 0 else edge  # drop each piece's first frames: its recurrent state starts cold there
            out[s + lo:s + len(act)] = act[lo:]
            if s + chunk >= len(frames):
                break
    return out


def times_by_class(events: Iterable[tuple[float, str]]) -> list[np.ndarray]:
    """Sorted times per class, in :data:`COMPONENTS` order, of ``(time, component)`` events."""
    events = list(events)
    return [np.array(sorted(t for t, name in events if name == c), float) for c in COMPONENTS]


def match_counts(estimates: list[np.ndarray], reference: list[np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(matched, estimated, reference) hit counts per class (mir_eval matching within 50 ms)."""
    import mir_eval

    k = len(reference)
    tp, ne, nr = np.zeros(k, np.int64), np.zeros(k, np.int64), np.zeros(k, np.int64)
    for c in range(k):
        ref = np.sort(np.asarray(reference[c], float))
        if len(ref) and len(estimates[c]):
            tp[c] = len(mir_eval.util.match_events(ref, estimates[c], WINDOW))
        ne[c], nr[c] = len(estimates[c]), len(ref)
    return tp, ne, nr


def onset_counts(activation: np.ndarray, reference: list[np.ndarray], threshold: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`match_counts` of the activation's :func:`peaks` at ``threshold``."""
    return match_counts(peaks(activation, threshold), reference)


def loss(model: nn.Module, batch: Any, config: Any) -> StepOutput:
    """Binary cross-entropy per frame and class, hits weighted ``--positive-weight`` times (they are rare) and by
    their class's weight (``--class-weighting``). In evaluation mode it also reports the onset F-measure of the
    batch's chunks at threshold 0.5."""
    frames, targets, reference, weights = batch
    logits = model(frames)
    pos = float(config.positive_weight) * weights.to(logits.device, logits.dtype)
    value = F.binary_cross_entropy_with_logits(logits, targets, pos_weight=pos)
    metrics: dict[str, Any] = {}
    if not model.training:
        act = torch.sigmoid(logits).detach().cpu().numpy()
        tp = ne = nr = 0
        for i in range(len(act)):
            refs = [reference[i][reference[i][:, 1] == c, 0].numpy() for c in range(act.shape[2])]
            a, b, c = onset_counts(act[i], refs, 0.5)
            tp, ne, nr = tp + a.sum(), ne + b.sum(), nr + c.sum()
        metrics["onset_f"] = torch.tensor(2.0 * tp / max(ne + nr, 1))
    return StepOutput(value, metrics)


def onnx_spec(model: nn.Module, config: Any, info: dict[str, Any]) -> OnnxSpec:
    """Input ``frames [batch, frames, 100]`` (log-mel, :func:`..transcribe.frames.log_mel_frames`); output
    ``logits [batch, frames, 12]``; both time axes dynamic."""
    example = torch.randn(1, 300, N_MELS) - 10.0
    return OnnxSpec(args=(example,), input_names=["frames"], output_names=["logits"],
                    dynamic_axes={"frames": {0: "batch", 1: "frames"}, "logits": {0: "batch", 1: "frames"}},
                    tolerance=1e-3)
