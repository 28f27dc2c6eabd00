"""The five exported models wired as the C++ plugin's MultiModelProcessor does.

audio features (128) -> EmotionRecognizer -> emotion (64); emotion -> MelodyTransformer (128);
[emotion, audio[0:64]] -> HarmonyPredictor (64); emotion[0:32] -> DynamicsEngine (16); emotion -> GroovePredictor (32).
Each call starts every LSTM from a zero state (one block, as the PyTorch models were trained).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from mlrun_music.errors import UserError

from ..models.specs import BY_NAME, MODELS


def _json_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from ..rtneural.runner import JsonModel

    try:
        model = JsonModel.load(path)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UserError(f"{path}: cannot load the RTNeural JSON ({exc}); run `mlrun kelly validate` on it") from None

    def run(x: np.ndarray) -> np.ndarray:
        model.reset()
        return model.forward(x)

    run.sizes = (model.in_size, model.out_size)  # type: ignore[attr-defined]
    return run


def _onnx_runner(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise UserError(f"{path}: cannot load the ONNX model ({str(exc).splitlines()[0]})") from None
    name = session.get_inputs()[0].name

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {name: np.asarray(x, np.float32)[None]})[0][0]

    run.sizes = (session.get_inputs()[0].shape[-1], session.get_outputs()[0].shape[-1])  # type: ignore[attr-defined]
    return run


class Pipeline:
    """The five models loaded from ``models_dir`` (``<lower-case name>.json`` or ``.onnx``)."""

    def __init__(self, models_dir: Path, runner: str = "numpy") -> None:
        make, ext = (_json_runner, ".json") if runner == "numpy" else (_onnx_runner, ".onnx")
        self.models: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        for spec in MODELS:
            # ONNX files may sit beside the JSON or where the core's --onnx puts them (<run>/exports/<Name>.onnx).
            options = [models_dir / f"{spec.file_stem}{ext}", models_dir / f"{spec.name}{ext}",
                       models_dir.parent / "exports" / f"{spec.name}{ext}"]
            path = next((p for p in options if p.is_file()), options[0])
            if not path.is_file():
                raise UserError(f"{path}: missing ({spec.name}); export all five models into {models_dir}")
            run = make(path)
            if tuple(run.sizes) != (spec.input_size, spec.output_size):  # type: ignore[attr-defined]
                raise UserError(f"{path}: takes {run.sizes[0]} -> {run.sizes[1]} values, "  # type: ignore[attr-defined]
                                f"{spec.name} must take {spec.input_size} -> {spec.output_size}")
            self.models[spec.name] = run

    def __call__(self, features: np.ndarray) -> dict[str, np.ndarray]:
        audio = np.asarray(features, np.float32)
        emotion = self.models["EmotionRecognizer"](audio)
        return {
            "emotion": emotion,
            "melody": self.models["MelodyTransformer"](emotion),
            "harmony": self.models["HarmonyPredictor"](np.concatenate([emotion, audio[:64]])),
            "dynamics": self.models["DynamicsEngine"](emotion[:32]),
            "groove": self.models["GroovePredictor"](emotion),
        }


def _floats(a: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in np.asarray(a).reshape(-1)]


def run_pipeline(features: np.ndarray, models_dir: Path, runner: str = "numpy") -> dict[str, Any]:
    """Every model's output as JSON-ready values, with a few readable summaries."""
    from ..data.chords import VOCAB

    out = Pipeline(models_dir, runner)(features)
    emotion, melody, harmony = out["emotion"], out["melody"], out["harmony"]
    top_pitches = np.argsort(-melody)[:5]
    top_chords = np.argsort(-harmony)[:3]
    return {
        "valence": round(float(emotion[:32].mean()), 6),
        "arousal": round(float(emotion[32:].mean()), 6),
        "emotion_embedding": _floats(emotion),
        "melody_probabilities": _floats(melody),
        "top_pitches": [{"pitch": int(p), "probability": round(float(melody[p]), 6)} for p in top_pitches],
        "harmony_probabilities": _floats(harmony),
        "top_chords": [{"chord": VOCAB[int(c)], "probability": round(float(harmony[c]), 6)} for c in top_chords],
        "dynamics": _floats(out["dynamics"]),
        "groove": _floats(out["groove"]),
        "models": {name: BY_NAME[name].parameters for name in BY_NAME},
    }
