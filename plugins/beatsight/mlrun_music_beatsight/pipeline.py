"""`mlrun beatsight process`: song -> onsets -> drum class per hit (CNN or heuristic) -> tempo -> .bsm beatmap."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any, Callable

import attrs
import numpy as np

from mlrun_music.errors import UserError

from . import heuristic
from .bsm import new_beatmap, sha256_of, write_bsm
from .classes import COMPONENTS, METALS
from .features import SAMPLE_RATE, SEGMENT_PRE_SAMPLES, segment_at, windows_at
from .onsets import detect

ENV_MODEL = "BEATSIGHT_ML_MODEL_PATH"
ENV_USE_ML = "BEATSIGHT_USE_ML_CLASSIFIER"
DEFAULT_MODEL = Path("models") / "best_drum_classifier.pt"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.define
class Classifier:
    """Which classifier runs, and why."""

    kind: str  # "ml" or "heuristic"
    reason: str
    model: Any = None
    path: Path | None = None

    def describe(self) -> str:
        return f"ML model {self.path}" if self.kind == "ml" else f"heuristic ({self.reason})"


def choose_classifier(ml_model: str | None, use_ml: bool | None) -> Classifier:
    """The ML model when enabled (flag, else env BEATSIGHT_USE_ML_CLASSIFIER, default on) and present (flag, else
    env BEATSIGHT_ML_MODEL_PATH, else models/best_drum_classifier.pt); otherwise the heuristic classifier.
    A model named with --ml-model that is missing is an error; one named by the env or the default path falls
    back to the heuristic with the reason shown."""
    if use_ml is None:
        raw = os.environ.get(ENV_USE_ML, "1").strip().lower()
        if raw not in _TRUE | _FALSE:
            raise UserError(f"{ENV_USE_ML}={raw!r}: use 1/true/yes/on or 0/false/no/off")
        use_ml = raw in _TRUE
        where = f"{ENV_USE_ML}={raw}"
    else:
        where = "--no-ml"
    if not use_ml:
        return Classifier("heuristic", f"ML disabled by {where}")
    if ml_model:
        path = Path(ml_model)
        if not path.is_file():
            raise UserError(f"--ml-model: {path} does not exist")
    else:
        env = os.environ.get(ENV_MODEL)
        path = Path(env) if env else DEFAULT_MODEL
        if not path.is_file():
            source = f"{ENV_MODEL}={env}" if env else f"default path {DEFAULT_MODEL}"
            return Classifier("heuristic", f"no ML model at {source}")
    from mlrun_music.api import load_model

    loaded = load_model("beatsight", path, "cpu")  # UserError if it is not a beatsight checkpoint
    return Classifier("ml", "model present", loaded.model, path)


def classify_ml(model: Any, audio: np.ndarray, onset_samples: np.ndarray, batch: int = 64) -> np.ndarray:
    """Softmax probabilities ``[n, 12]`` of the CNN for each onset."""
    import torch

    wins = windows_at(audio, onset_samples)
    out = []
    with torch.no_grad():
        for s in range(0, len(wins), batch):
            out.append(torch.softmax(model(torch.from_numpy(wins[s:s + batch])), dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, len(COMPONENTS)), np.float32)


def classes_of_hit(probs: np.ndarray, second_hit: float) -> list[int]:
    """The top class of one onset, plus up to two more whose probability reaches ``second_hit`` and that pair a
    cymbal/hi-hat with a drum (kick + hi-hat yes; kick + low tom, two cymbals no: those are one sound misjudged)."""
    order = np.argsort(-probs)
    top = int(order[0])
    return [top] + [int(c) for c in order[1:3] if probs[c] >= second_hit and (c in METALS) != (top in METALS)]


def quantize(times: np.ndarray, bpm: float, offset: float, tolerance: float = 0.012) -> np.ndarray:
    """Move times within ``tolerance`` of the sixteenth-note grid (phase ``offset``) onto it."""
    step = 60.0 / bpm / 4
    grid = offset + np.round((times - offset) / step) * step
    return np.where(np.abs(grid - times) <= tolerance, grid, times)


def difficulty(n_hits: int, seconds: float, n_components: int) -> float:
    """0..10 from hit density (hits per second) and variety (distinct components)."""
    density = n_hits / max(seconds, 1e-3)
    return float(np.clip(density * 0.9 + n_components * 0.35, 0.0, 10.0))


@attrs.define
class ProcessResult:
    path: Path
    hits: int
    bpm: float
    classifier: str
    seconds: float
    counts: dict[str, int]


def process(input_path: str | Path, output: str | Path, *, ml_model: str | None = None, use_ml: bool | None = None,
            confidence: float = 0.7, sensitivity: float = 50.0, second_hit: float = 0.1, do_quantize: bool = True,
            say: Callable[[str], None] = print) -> ProcessResult:
    """Transcribe ``input_path`` into the beatmap ``output``."""
    from mlrun_music.audio import load_audio

    if not 0.0 <= confidence <= 1.0:
        raise UserError(f"--confidence must be in [0, 1], got {confidence}")
    if not 0.0 <= sensitivity <= 100.0:
        raise UserError(f"--sensitivity must be in [0, 100], got {sensitivity}")
    if Path(output).suffix.lower() != ".bsm":
        raise UserError(f"--output {output}: a beatmap file must end in .bsm")
    classifier = choose_classifier(ml_model, use_ml)
    audio = load_audio(input_path, SAMPLE_RATE)
    audio = audio / float(np.max(np.abs(audio)))
    seconds = len(audio) / SAMPLE_RATE
    say(f"classifier: {classifier.describe()}")
    onsets = detect(audio, SAMPLE_RATE, sensitivity)
    samples = np.round(onsets.times * SAMPLE_RATE).astype(np.int64)
    hits: list[dict[str, Any]] = []
    kept_conf = []
    if classifier.kind == "ml":
        probs = classify_ml(classifier.model, audio, samples)
        for i, t in enumerate(onsets.times):
            top = int(np.argmax(probs[i]))
            score = (float(onsets.confidence[i]) + float(probs[i, top])) / 2
            if score < confidence:
                continue
            for c in classes_of_hit(probs[i], second_hit):
                hits.append({"t": t, "component": COMPONENTS[c], "i": i})
            kept_conf.append(score)
    else:
        segments = np.stack([segment_at(audio, int(s)) for s in samples]) if len(samples) else np.zeros((0, 1))
        idx, conf = heuristic.classify(segments, SEGMENT_PRE_SAMPLES) if len(samples) else (np.zeros(0, int), [])
        for i, t in enumerate(onsets.times):
            score = (float(onsets.confidence[i]) + float(conf[i])) / 2
            if score >= confidence:
                hits.append({"t": t, "component": COMPONENTS[int(idx[i])], "i": i})
                kept_conf.append(score)
    times = np.array([h["t"] for h in hits])
    if do_quantize and len(times):
        times = quantize(times, onsets.bpm, float(times.min()))
    peak_of = {}
    for h in hits:
        s = int(round(h["t"] * SAMPLE_RATE))
        peak_of.setdefault(h["i"], float(np.max(np.abs(audio[s: s + int(0.03 * SAMPLE_RATE)] if s < len(audio) else 0))))
    objects = [{"time": int(round(t * 1000)), "component": h["component"],
                "velocity": float(np.clip(peak_of[h["i"]], 0.05, 1.0))} for h, t in zip(hits, times)]
    counts = {c: sum(o["component"] == c for o in objects) for c in COMPONENTS}
    used = sum(1 for v in counts.values() if v)
    editor = {"snapDivisor": 4, "visualLanes": len(COMPONENTS), "bookmarks": [],
              "aiGenerationMetadata": {
                  "modelVersion": f"beatsight-cnn:{classifier.path.name}" if classifier.kind == "ml"
                  else "beatsight-heuristic-1",
                  "confidence": float(round(np.mean(kept_conf), 4)) if kept_conf else 0.0,
                  "processedAt": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
                  "manualEdits": 0}}
    beatmap = new_beatmap(audio_file=input_path, duration_ms=seconds * 1000, sample_rate=SAMPLE_RATE, bpm=onsets.bpm,
                          hits=objects, difficulty=difficulty(len(objects), seconds, used),
                          audio_hash=sha256_of(input_path), editor=editor,
                          offset_ms=int(round(float(times.min()) * 1000)) if len(times) else 0)
    write_bsm(output, beatmap)
    tempo_note = "" if onsets.bpm_estimated else " (no clear beat: fallback)"
    say(f"{len(objects)} hits from {len(onsets.times)} onsets, tempo {onsets.bpm:.1f} BPM{tempo_note}; "
        f"wrote {output}")
    return ProcessResult(Path(output), len(objects), onsets.bpm, classifier.kind, seconds, counts)
