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
from ..beatmap.bsm import new_beatmap, sha256_of, write_bsm
from ..kits.classes import COMPONENTS, METALS
from .features import SAMPLE_RATE, SEGMENT_PRE_SAMPLES, segment_at, windows_at
from .frames import FPS
from .onsets import detect
from .tempo import estimate as hit_tempo, peak_times

ENV_MODEL = "BEATSIGHT_ML_MODEL_PATH"
ENV_USE_ML = "BEATSIGHT_USE_ML_CLASSIFIER"
#: The frame-level transcriber shipped with the plugin (a model-only checkpoint; how it was trained and what it
#: scores: BENCHMARKS.md, "Shipped model"). Used unless --ml-model or BEATSIGHT_ML_MODEL_PATH names another model,
#: so `process` transcribes with a trained model out of the box instead of the 9-class heuristic. No default path
#: in the working folder (such as models/best_drum_classifier.pt) is looked for: a checkpoint left there by an
#: earlier training run must not replace the shipped model unasked.
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "pretrained" / "transcriber.pt"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@attrs.define
class Classifier:
    """Which classifier runs, and why."""

    kind: str  # "ml" (the per-hit CNN on detected onsets), "transcriber" (frame-level model) or "heuristic"
    reason: str
    model: Any = None
    path: Path | None = None
    threshold: float = 0.5  # a transcriber's tuned peak threshold

    def describe(self) -> str:
        if self.kind == "transcriber":
            shipped = f" ({self.reason})" if self.path == SHIPPED_MODEL else ""
            return f"frame-level ML transcriber {self.path}{shipped}"
        return f"ML model {self.path}" if self.kind == "ml" else f"heuristic ({self.reason})"


def choose_classifier(ml_model: str | None, use_ml: bool | None) -> Classifier:
    """The ML model when enabled (flag, else env BEATSIGHT_USE_ML_CLASSIFIER, default on): the one named by
    --ml-model, else by env BEATSIGHT_ML_MODEL_PATH, else the shipped transcriber :data:`SHIPPED_MODEL`; otherwise
    the heuristic classifier. No default path in the working folder is consulted. A model named with --ml-model
    that is missing is an error; one named by the env that is missing falls back to the shipped model, with the
    reason shown; without the shipped model (an install without the package data) the heuristic runs."""
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
    reason = "model named"
    env = os.environ.get(ENV_MODEL)
    if ml_model:
        path = Path(ml_model)
        if not path.is_file():
            raise UserError(f"--ml-model: {path} does not exist")
    elif env and Path(env).is_file():
        path = Path(env)
    else:
        missing = f"; no ML model at {ENV_MODEL}={env}" if env else ""
        if not SHIPPED_MODEL.is_file():  # an install without the package data
            return Classifier("heuristic", f"no ML model named, none shipped{missing}")
        path, reason = SHIPPED_MODEL, f"shipped with the plugin{missing}"
    from mlrun_music.api import load_model
    from mlrun_music.training.checkpoint import load_checkpoint

    task = load_checkpoint(path).get("task")  # UserError if it is no (safe) checkpoint at all
    if task not in ("beatsight", "beatsight-transcriber"):
        raise UserError(f"{path}: a checkpoint of task '{task}', not of beatsight or beatsight-transcriber")
    loaded = load_model(task, path, "cpu")
    if task == "beatsight-transcriber":
        return Classifier("transcriber", reason, loaded.model, path, float(loaded.config.threshold))
    return Classifier("ml", reason, loaded.model, path)


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


def quantize(times: np.ndarray, bpm: float, offset: float, tolerance: float = 0.012, end: float = np.inf
             ) -> np.ndarray:
    """Move times within ``tolerance`` of the sixteenth-note grid (phase ``offset``) onto it, unless that grid point
    lies past ``end`` (the end of the audio)."""
    step = 60.0 / bpm / 4
    grid = offset + np.round((times - offset) / step) * step
    return np.where((np.abs(grid - times) <= tolerance) & (grid <= end), grid, times)


def difficulty(n_hits: int, seconds: float, n_components: int) -> float:
    """0..10 from hit density (hits per second) and variety (distinct components)."""
    density = n_hits / max(seconds, 1e-3)
    return float(np.clip(density * 0.9 + n_components * 0.35, 0.0, 10.0))


@attrs.define
class Transcription:
    """Hits of a song as ``(time s, component, score)``, its tempo, how many onsets were considered, and the
    classifier's per-class scores of each hit (``[hits, 12]``; None for the heuristic)."""

    hits: list[tuple[float, str, float]]
    bpm: float
    bpm_estimated: bool
    candidates: int
    scores: np.ndarray | None = None

    def kit_relative(self, audio: np.ndarray) -> dict[str, int]:
        """Rename toms and crashes by their order within the song (:mod:`..kits.kit_relative`); how many changed."""
        from ..kits.kit_relative import FAMILIES, rename

        times = np.array([h[0] for h in self.hits])
        renamed = rename(audio, SAMPLE_RATE, times, [h[1] for h in self.hits], self.scores)
        # Two names of one sound (tom_mid and tom_high peaks of one hit) may be one name twice after renaming: keep the
        # stronger of a name's hits within 30 ms.
        renamable = {n for family in FAMILIES for n in family.names}
        last: dict[str, int] = {}
        keep: list[int] = []
        for i in sorted(range(len(self.hits)), key=lambda i: self.hits[i][0]):
            c = renamed.components[i]
            j = last.get(c)
            if c in renamable and j is not None and self.hits[i][0] - self.hits[j][0] < 0.03:
                if self.hits[i][2] > self.hits[j][2]:
                    keep[keep.index(j)] = i
                    last[c] = i
                continue
            keep.append(i)
            last[c] = i
        self.hits = [(self.hits[i][0], renamed.components[i], self.hits[i][2]) for i in keep]
        if self.scores is not None:
            self.scores = self.scores[keep]
        return renamed.changed


def transcribe_onsets(classifier: Classifier, audio: np.ndarray, confidence: float, sensitivity: float,
                      second_hit: float) -> Transcription:
    """The onset pipeline (the original project's): spectral-flux onsets, each named by the CNN or the heuristic
    classifier; an onset is kept when (onset confidence + class confidence) / 2 reaches ``confidence``."""
    onsets = detect(audio, SAMPLE_RATE, sensitivity)
    samples = np.round(onsets.times * SAMPLE_RATE).astype(np.int64)
    hits: list[tuple[float, str, float]] = []
    if classifier.kind == "ml":
        probs = classify_ml(classifier.model, audio, samples)
        rows = []
        for i, t in enumerate(onsets.times):
            top = int(np.argmax(probs[i]))
            score = (float(onsets.confidence[i]) + float(probs[i, top])) / 2
            if score >= confidence:
                for c in classes_of_hit(probs[i], second_hit):
                    hits.append((float(t), COMPONENTS[c], score))
                    rows.append(i)
        bpm = hit_tempo([h[0] for h in hits], [h[1] for h in hits])
        return Transcription(hits, bpm or onsets.bpm, bpm is not None or onsets.bpm_estimated, len(onsets.times),
                             probs[rows])
    elif len(samples):
        segments = np.stack([segment_at(audio, int(s)) for s in samples])
        idx, conf = heuristic.classify(segments, SEGMENT_PRE_SAMPLES)
        for i, t in enumerate(onsets.times):
            score = (float(onsets.confidence[i]) + float(conf[i])) / 2
            if score >= confidence:
                hits.append((float(t), COMPONENTS[int(idx[i])], score))
    bpm = hit_tempo([h[0] for h in hits], [h[1] for h in hits])
    return Transcription(hits, bpm or onsets.bpm, bpm is not None or onsets.bpm_estimated, len(onsets.times))


def transcribe_frames(model: Any, audio: np.ndarray, threshold: float) -> Transcription:
    """The frame-level transcriber: activation peaks per class at ``threshold``; the tempo from the hits
    (:mod:`.tempo`, their times refined between frames), else from the summed activations (a drums-only onset
    strength, unlike the flux of the whole mix)."""
    from .frames import log_mel_frames
    from .onsets import estimate_tempo
    from ..models.transcriber import activations, peaks

    act = activations(model, log_mel_frames(audio))
    hits = []
    for c, times in enumerate(peaks(act, threshold)):
        hits += [(float(t), COMPONENTS[c], float(act[int(round(t * FPS)), c])) for t in times]
    hits.sort()
    frames = np.array([int(round(h[0] * FPS)) for h in hits], np.int64)
    # Each hit's scores: every class's strongest activation within a frame of its peak.
    scores = np.stack([act[np.clip(frames + d, 0, len(act) - 1)] for d in (-1, 0, 1)]).max(axis=0) if hits else None
    classes = np.array([COMPONENTS.index(h[1]) for h in hits], np.int64)
    bpm = hit_tempo(peak_times(act, frames, classes, FPS), [h[1] for h in hits]) if hits else None
    if bpm is None:
        bpm = estimate_tempo(act.sum(axis=1))
    return Transcription(hits, bpm if bpm is not None else 120.0, bpm is not None, len(hits), scores)


@attrs.define
class ProcessResult:
    path: Path
    hits: int
    bpm: float
    classifier: str
    seconds: float
    counts: dict[str, int]


def process(input_path: str | Path, output: str | Path, *, ml_model: str | None = None, use_ml: bool | None = None,
            confidence: float | None = None, sensitivity: float = 50.0, second_hit: float = 0.1,
            do_quantize: bool = True, kit_relative: bool | None = None, say: Callable[[str], None] = print
            ) -> ProcessResult:
    """Transcribe ``input_path`` into the beatmap ``output``. ``confidence`` defaults to 0.7 (the original
    project's) for the onset pipeline and to the model's tuned ``--threshold`` for a frame-level transcriber.
    ``kit_relative``: name toms and crashes by their order within the song (:mod:`..kits.kit_relative`); None (default):
    for the onset pipeline (CNN, heuristic), which names each hit from a short window and cannot hear how the kit
    is tuned, not for a frame-level transcriber, which hears the whole song and names toms and crashes better
    itself (BENCHMARKS.md, "Shipped model": absolute names score higher on songs of every training kit measured
    and on the unseen kit's 20 songs)."""
    from mlrun_music.audio import load_audio

    if confidence is not None and not 0.0 <= confidence <= 1.0:
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
    if classifier.kind == "transcriber":
        threshold = classifier.threshold if confidence is None else confidence
        found = transcribe_frames(classifier.model, audio, threshold)
    else:
        found = transcribe_onsets(classifier, audio, 0.7 if confidence is None else confidence, sensitivity,
                                  second_hit)
    if kit_relative is None:
        kit_relative = classifier.kind != "transcriber"
    if kit_relative:
        changed = found.kit_relative(audio)
        say("kit-relative names: " + ", ".join(f"{n} {k} hits renamed" for k, n in changed.items()))
    times = np.array([h[0] for h in found.hits])
    if do_quantize and len(times):
        times = quantize(times, found.bpm, float(times.min()), end=seconds)
    window = int(0.03 * SAMPLE_RATE)
    objects = []
    for (t0, component, _), t in zip(found.hits, times):
        s = min(int(round(t0 * SAMPLE_RATE)), len(audio) - 1)
        objects.append({"time": min(int(round(t * 1000)), int(seconds * 1000)), "component": component,
                        "velocity": float(np.clip(np.max(np.abs(audio[s: s + window])), 0.05, 1.0))})
    counts = {c: sum(o["component"] == c for o in objects) for c in COMPONENTS}
    used = sum(1 for v in counts.values() if v)
    model_version = {"ml": f"beatsight-cnn:{classifier.path.name if classifier.path else ''}",
                     "transcriber": f"beatsight-transcriber:{classifier.path.name if classifier.path else ''}",
                     "heuristic": "beatsight-heuristic-1"}[classifier.kind]
    editor = {"snapDivisor": 4, "visualLanes": len(COMPONENTS), "bookmarks": [],
              "aiGenerationMetadata": {
                  "modelVersion": model_version,
                  "confidence": float(round(np.mean([h[2] for h in found.hits]), 4)) if found.hits else 0.0,
                  "processedAt": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
                  "manualEdits": 0}}
    beatmap = new_beatmap(audio_file=input_path, duration_ms=seconds * 1000, sample_rate=SAMPLE_RATE, bpm=found.bpm,
                          hits=objects, difficulty=difficulty(len(objects), seconds, used),
                          audio_hash=sha256_of(input_path), editor=editor,
                          offset_ms=int(round(float(times.min()) * 1000)) if len(times) else 0)
    write_bsm(output, beatmap)
    tempo_note = "" if found.bpm_estimated else " (no clear beat: fallback)"
    what = "frame peaks" if classifier.kind == "transcriber" else "onsets"
    say(f"{len(objects)} hits from {found.candidates} {what}, tempo {found.bpm:.1f} BPM{tempo_note}; wrote {output}")
    say("hits: " + (", ".join(f"{c} {n}" for c, n in counts.items() if n) or "none"))
    return ProcessResult(Path(output), len(objects), found.bpm, classifier.kind, seconds, counts)
