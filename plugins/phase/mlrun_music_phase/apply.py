"""Inference: offline (torch or onnxruntime) and streaming, frame by frame, with the same values."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import refuse_overwrite_of_inputs, write_text

from .config import FPS, HOP, SAMPLE_RATE
from .models.tcn import PhaseTCNMel
from .tracker import DEFAULT_GAIN, DEFAULT_RATE_GAIN, check_tracker, make_tracker, track

DEFAULT_WARMUP = 8.0


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf  # imported once by Python, cheap afterwards

    return erf(x)


def check_anticipation(anticipation: float, config: Any = None) -> None:
    if not (0.0 <= anticipation <= 1.0):
        raise UserError(f"--anticipation must be in [0, 1] seconds, got {anticipation:g}")
    if config is not None and not (config.anticipation_min - 1e-9 <= anticipation <= config.anticipation_max + 1e-9):
        logging.getLogger("mlrun_music").warning(
            "--anticipation %g is outside the trained range [%g, %g]", anticipation, config.anticipation_min,
            config.anticipation_max)


def to_frames(audio: np.ndarray) -> np.ndarray:
    """``[samples] -> [frames, 320]`` (a trailing partial frame is dropped)."""
    n = len(audio) // HOP
    return np.ascontiguousarray(audio[: n * HOP].reshape(n, HOP), dtype=np.float32)


@torch.no_grad()
def predict_sincos(model: PhaseTCNMel, audio: np.ndarray, anticipation: float, device: Any = "cpu") -> np.ndarray:
    """Offline pass: ``[frames, 2]`` raw (sin, cos) outputs for mono 16 kHz ``audio``."""
    frames = torch.from_numpy(to_frames(audio))[None].to(device)
    out = model(frames, torch.tensor([anticipation], dtype=torch.float32, device=device))
    return out[0].float().cpu().numpy()


def predict_phase(model: PhaseTCNMel, audio: np.ndarray, anticipation: float, device: Any = "cpu") -> np.ndarray:
    """Offline pass: phase in [0, 1) per 20 ms frame."""
    return sincos_to_numpy_phase(predict_sincos(model, audio, anticipation, device))


def sincos_to_numpy_phase(sincos: np.ndarray) -> np.ndarray:
    return np.mod(np.arctan2(sincos[..., 0], sincos[..., 1]) / (2 * np.pi), 1.0)


class OnnxPhase:
    """An exported phase model run by onnxruntime (``threads`` = intra-op threads; 0 = onnxruntime's choice)."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise UserError(f"--onnx-model: {path} does not exist")
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own error types for bad files
            raise UserError(f"--onnx-model: {path} is not a loadable ONNX model ({str(exc).splitlines()[0][:150]})") \
                from None
        names = sorted(i.name for i in self.session.get_inputs())
        if names != ["anticipation", "frames"]:
            raise UserError(f"--onnx-model: {path} is not a phase model (inputs {names}, expected frames and "
                            f"anticipation)")

    def sincos(self, audio: np.ndarray, anticipation: float) -> np.ndarray:
        feeds = {"frames": to_frames(audio)[None], "anticipation": np.array([anticipation], dtype=np.float32)}
        return self.session.run(["phase_sincos"], feeds)[0][0]


class PhaseStream:
    """Streaming inference: push audio blocks of any size, get the phase of every newly completed frame.

    ``backend="onnxruntime"`` (default): the model's one-frame step (:class:`~.models.tcn.StreamStep`: front end,
    causal convolutions, head) exported to ONNX once when the stream starts and run by onnxruntime on one thread,
    one call per frame. Each convolution's last ``2 * dilation`` inputs stay here in one NumPy ring buffer (zeros
    at the start, as the offline pass pads); per frame the step gets the two past rows each convolution reads and
    returns the row each one wrote, so nothing larger than a few kB crosses into onnxruntime.
    ``backend="numpy"``: :class:`NumpyPhaseStream`. Both equal the offline pass frame for frame (within float32
    rounding).
    """

    BACKENDS = ("onnxruntime", "numpy")

    def __init__(self, model: PhaseTCNMel, anticipation: float, backend: str = "onnxruntime") -> None:
        if backend not in self.BACKENDS:
            raise UserError(f"--stream-backend must be one of {', '.join(self.BACKENDS)}, got '{backend}'")
        self.backend = backend
        self.pending = np.zeros(0, dtype=np.float32)
        if backend == "numpy":
            self.inner = NumpyPhaseStream(model, anticipation)
            return
        import onnxruntime as ort

        from .models.tcn import stream_step_onnx

        onnx_bytes = stream_step_onnx(model)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
        self.feeds = {"anticipation": np.array([anticipation], dtype=np.float32)}
        # Ring k occupies rows offset_k .. offset_k + 2 d_k - 1; at frame t its row (t mod 2d) holds the input
        # of frame t - 2d (read, then overwritten with frame t's) and row ((t + d) mod 2d) that of frame t - d.
        dil = np.array([b.dilation for b in model.blocks for _ in range(2)], dtype=np.int64)
        self.ring_len = 2 * dil
        self.ring_off = np.concatenate([[0], np.cumsum(self.ring_len)[:-1]])
        self.read_shift = np.stack([np.zeros_like(dil), dil], 1).reshape(-1)  # per read row: 0 or d
        self.read_len = np.repeat(self.ring_len, 2)
        self.read_off = np.repeat(self.ring_off, 2)
        self.ring = np.zeros((int(self.ring_len.sum()), model.inp.out_features), dtype=np.float32)
        self.t = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed mono 16 kHz samples; returns the phases of the frames they completed (maybe none)."""
        if self.backend == "numpy":
            return self.inner.push(samples)
        self.pending = np.concatenate([self.pending, np.asarray(samples, dtype=np.float32)])
        n = len(self.pending) // HOP
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        frames = self.pending[: n * HOP].reshape(n, 1, HOP)
        self.pending = self.pending[n * HOP:]
        out = np.empty((n, 2), dtype=np.float32)
        run, feeds, ring = self.session.run, self.feeds, self.ring
        for i in range(n):
            t = self.t
            feeds["frame"] = frames[i]
            feeds["past"] = ring[self.read_off + (t + self.read_shift) % self.read_len]
            sincos, inputs = run(None, feeds)
            ring[self.ring_off + t % self.ring_len] = inputs
            self.t = t + 1
            out[i] = sincos[0]
        return sincos_to_numpy_phase(out)


class NumpyPhaseStream:
    """Streaming inference with the per-frame recurrence in NumPy (float32) and the front end in torch: the
    ``numpy`` backend of :class:`PhaseStream`, slower than the ``onnxruntime`` one (benchmarks/phase/stream.py).

    Each causal convolution keeps a ring buffer of its last ``2 * dilation`` inputs (zeros at the start, as the
    offline pass pads), so outputs equal the offline pass frame for frame.
    """

    def __init__(self, model: PhaseTCNMel, anticipation: float) -> None:
        self.model = model.eval().cpu()
        self.anticipation = torch.tensor([anticipation], dtype=torch.float32)
        self.pending = np.zeros(0, dtype=np.float32)
        self.layers = []
        for block in self.model.blocks:
            convs = []
            for conv, norm in ((block.conv1, block.norm1), (block.conv2, block.norm2)):
                w = conv.weight.detach().numpy()  # [out, in, 3]: taps at t - 2d, t - d, t
                convs.append({"w": np.ascontiguousarray(np.concatenate([w[:, :, 0], w[:, :, 1], w[:, :, 2]],
                                                                        axis=1).T),
                              "b": conv.bias.detach().numpy().copy(), "g": norm.weight.detach().numpy().copy(),
                              "beta": norm.bias.detach().numpy().copy(), "eps": norm.eps, "d": block.dilation,
                              "ring": np.zeros((2 * block.dilation, w.shape[1]), dtype=np.float32), "pos": 0})
            self.layers.append(convs)
        self.head_w = self.model.head.weight.detach().numpy().T.copy()
        self.head_b = self.model.head.bias.detach().numpy().copy()
        self.a = np.float32(anticipation)

    @staticmethod
    def _conv_step(c: dict, x: np.ndarray) -> np.ndarray:
        ring, pos, d = c["ring"], c["pos"], c["d"]
        y = np.concatenate([ring[pos], ring[(pos + d) % (2 * d)], x]) @ c["w"] + c["b"]
        ring[pos] = x
        c["pos"] = (pos + 1) % (2 * d)
        y = y - y.sum() / y.size
        y = y / np.sqrt(np.dot(y, y) / y.size + c["eps"]) * c["g"] + c["beta"]
        return (0.5 * y * (1.0 + _erf(y * np.float32(0.7071067811865476)))).astype(np.float32)  # exact GELU

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feed mono 16 kHz samples; returns the phases of the frames they completed (maybe none)."""
        self.pending = np.concatenate([self.pending, np.asarray(samples, dtype=np.float32)])
        n = len(self.pending) // HOP
        if n == 0:
            return np.zeros(0, dtype=np.float64)
        frames = torch.from_numpy(self.pending[: n * HOP].reshape(1, n, HOP).copy())
        self.pending = self.pending[n * HOP:]
        with torch.no_grad():
            feats = self.model.features(frames, self.anticipation)[0].numpy()  # per frame, no time mixing
        out = np.empty((n, 2), dtype=np.float32)
        for t in range(n):
            x = feats[t]
            for c1, c2 in self.layers:
                x = x + self._conv_step(c2, self._conv_step(c1, x))
            y = x @ self.head_w + self.head_b
            if self.model.rate_head:  # rotate ahead by 2*pi*a*softplus(rate), as PhaseTCNMel.output
                theta = 2 * np.pi * self.a * np.logaddexp(0.0, y[2])
                ct, st = np.cos(theta), np.sin(theta)
                y = np.array([y[0] * ct + y[1] * st, y[1] * ct - y[0] * st], dtype=np.float32)
            out[t] = y[:2]
        return sincos_to_numpy_phase(out)


def stream_phase(model: PhaseTCNMel, audio: np.ndarray, anticipation: float, block: int,
                 backend: str = "onnxruntime", tracker: str = "none", tracker_gain: float = DEFAULT_GAIN,
                 tracker_rate_gain: float = DEFAULT_RATE_GAIN) -> np.ndarray:
    """Run ``audio`` through :class:`PhaseStream` in blocks of ``block`` samples, each block's phases through the
    ``tracker`` (:mod:`.tracker`) as they come."""
    clock = make_tracker(tracker, tracker_gain, tracker_rate_gain)
    stream = PhaseStream(model, anticipation, backend)
    parts = []
    for i in range(0, len(audio), block):
        phases = stream.push(audio[i:i + block])
        parts.append(phases if clock is None else clock.run(phases))
    return np.concatenate(parts) if parts else np.zeros(0)


def phase_text(phase: np.ndarray, anticipation: float, csv: bool = False) -> str:
    """The phase track as text: one phase per line, or with ``csv`` a CSV with a header and the time of each frame
    (``time_seconds``, the audio heard so far) and of the phase it predicts (``target_seconds``, ``anticipation``
    later)."""
    if not csv:
        return "".join(f"{v:.6f}\n" for v in phase)
    t = np.arange(len(phase)) / FPS
    return "time_seconds,target_seconds,phase\n" + "".join(
        f"{a:.2f},{a + anticipation:.2f},{v:.6f}\n" for a, v in zip(t, phase))


def add_clicks(audio: np.ndarray, times: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """``audio`` with a short 1.5 kHz click (30 ms, decaying) at each time in seconds, peak-normalised to 0.9."""
    n = int(0.03 * sample_rate)
    t = np.arange(n) / sample_rate
    click = (np.sin(2 * np.pi * 1500.0 * t) * np.exp(-t / 0.006)).astype(np.float32)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    out = np.asarray(audio, dtype=np.float32) * (0.6 / peak if peak > 0 else 1.0)
    for sec in times:
        i = int(round(sec * sample_rate))
        if 0 <= i < len(out):
            m = min(n, len(out) - i)
            out[i:i + m] += 0.5 * click[:m]
    top = float(np.max(np.abs(out))) if len(out) else 0.0
    return out * (0.9 / top) if top > 0.9 else out


def apply_file(*, checkpoint: str | None, audio: str, anticipation: float, device: str = "cpu",
               onnx_model: str | None = None, streaming: bool = False, block_ms: float = 20.0,
               output: str | None = None, warmup_seconds: float = -1.0, shipped: str | None = None,
               downbeats: str | None = None, click: str | None = None,
               stream_backend: str | None = None, tracker: str = "none", tracker_gain: float = DEFAULT_GAIN,
               tracker_rate_gain: float = DEFAULT_RATE_GAIN) -> dict[str, Any]:
    """Predict the phase for ``audio`` and write ``<audio>.phase_prediction`` (one value per 20 ms frame; an
    ``output`` ending in ``.csv`` gets a header and time columns, :func:`phase_text`).

    No ``checkpoint`` and no ``onnx_model``: the shipped model (``shipped`` names one other than the default).
    ``stream_backend``: with ``streaming``, the :class:`PhaseStream` backend (default onnxruntime).
    ``downbeats``: also a CSV of the predicted downbeats (wraps of the phase after the warmup, hysteresis detector of
    the evaluation, shifted by the anticipation). ``click``: also the audio (16 kHz mono) with a click on each.
    ``tracker``: the phase written and the downbeats are those of this causal tracker (:mod:`.tracker`) fed the
    network's phase; ``none`` = the network's phase itself.
    """
    from mlrun_music.audio import load_audio

    from .data.labels import wrap_times

    if onnx_model and streaming:
        raise UserError("--streaming runs the PyTorch checkpoint; it cannot be combined with --onnx-model")
    if block_ms <= 0:
        raise UserError("--block-ms must be > 0")
    if stream_backend and not streaming:
        raise UserError("--stream-backend applies to --streaming only")
    check_tracker(tracker, tracker_gain, tracker_rate_gain)
    refuse_overwrite_of_inputs(output, audio, checkpoint, onnx_model)
    for extra in (downbeats, click):
        if extra:
            refuse_overwrite_of_inputs(extra, audio, checkpoint, onnx_model)
    config = None
    if onnx_model:
        runner = OnnxPhase(onnx_model)
        warmup = DEFAULT_WARMUP
    else:
        from mlrun_music.api import load_model
        from mlrun_music.training.run import pick_device

        dev = pick_device(device)
        loaded = load_model("phase", checkpoint, str(dev), shipped=shipped)
        config = loaded.config
        warmup = config.warmup_seconds
    if warmup_seconds >= 0:
        warmup = warmup_seconds
    check_anticipation(anticipation, config)
    # Audio shorter than the warmup would give only phases the model was never trained to produce.
    signal = load_audio(audio, SAMPLE_RATE, min_seconds=max(warmup, HOP / SAMPLE_RATE))
    if onnx_model:
        phase = track(sincos_to_numpy_phase(runner.sincos(signal, anticipation)), tracker, tracker_gain,
                      tracker_rate_gain)
    elif streaming:  # the tracker runs inside the stream, block by block
        phase = stream_phase(loaded.model, signal, anticipation, max(1, int(round(block_ms * SAMPLE_RATE / 1000))),
                             stream_backend or "onnxruntime", tracker, tracker_gain, tracker_rate_gain)
    else:
        phase = track(predict_phase(loaded.model, signal, anticipation, dev), tracker, tracker_gain,
                      tracker_rate_gain)
    out = Path(output) if output else Path(str(audio) + ".phase_prediction")
    write_text(out, phase_text(phase, anticipation, csv=out.suffix.lower() == ".csv"))
    result: dict[str, Any] = {"path": str(out), "frames": len(phase), "fps": FPS}
    if downbeats or click:
        times = wrap_times(np.where(np.arange(len(phase)) / FPS >= warmup, phase, np.nan), FPS, anticipation)
        result["downbeats"] = len(times)
        if downbeats:
            write_text(downbeats, "downbeat_seconds\n" + "".join(f"{t:.3f}\n" for t in times))
            result["downbeats_path"] = str(downbeats)
        if click:
            import soundfile as sf

            from mlrun_music.fileio import atomic_path

            with atomic_path(click, suffix=".wav") as tmp:
                sf.write(str(tmp), add_clicks(signal, times), SAMPLE_RATE, format="WAV", subtype="PCM_16")
            result["click_path"] = str(click)
    return result
