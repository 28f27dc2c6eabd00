"""Entry point of the kelly plugin (torch-free): declares the task, its five models, datasets and commands."""

from __future__ import annotations

from mlrun_music.hookspecs import hookimpl
from mlrun_music.task import DatasetSpec, ModelSpec, PretrainedSpec, Task

from .config import OPTION_ALIASES, KellyConfig

_PKG = "mlrun_music_kelly"

KELLY = Task(
    name="kelly",
    description="Kelly MIDI Companion: five real-time models (emotion, melody, harmony, dynamics, groove) "
                "exported to RTNeural JSON.",
    config_class=KellyConfig,
    models=[
        ModelSpec("EmotionRecognizer", f"{_PKG}.models.networks:build_emotion_recognizer",
                  "128 mel bands -> 64-d emotion embedding (dense, dense, LSTM, dense; 403,264 parameters)."),
        ModelSpec("MelodyTransformer", f"{_PKG}.models.networks:build_melody_transformer",
                  "Emotion (64) -> 128 pitch probabilities (dense, LSTM, dense, dense; 641,664 parameters)."),
        ModelSpec("HarmonyPredictor", f"{_PKG}.models.networks:build_harmony_predictor",
                  "Emotion + audio (128) -> 64 chord probabilities (3 dense; 74,176 parameters)."),
        ModelSpec("DynamicsEngine", f"{_PKG}.models.networks:build_dynamics_engine",
                  "Context (32) -> 16 expression values (3 dense; 13,520 parameters)."),
        ModelSpec("GroovePredictor", f"{_PKG}.models.networks:build_groove_predictor",
                  "Emotion (64) -> 32 groove parameters (3 dense; 18,656 parameters)."),
    ],
    datasets=[
        DatasetSpec("synthetic", f"{_PKG}.data.select:synthetic_splits",
                    "Generated per model: a fixed learnable function of random inputs plus noise.", embedded=True),
        DatasetSpec("corpus", f"{_PKG}.data.select:corpus_splits",
                    "Bach chorales of the music21 corpus rendered to audio, proxy labels (EmotionRecognizer, "
                    "MelodyTransformer, HarmonyPredictor); prepared into the cache on first use."),
        DatasetSpec("deam", f"{_PKG}.data.select:deam_splits", "DEAM audio + valence/arousal CSV (EmotionRecognizer)."),
        DatasetSpec("lakh", f"{_PKG}.data.select:lakh_splits", "Lakh MIDI files (MelodyTransformer)."),
        DatasetSpec("chords", f"{_PKG}.data.select:chords_splits", "Chord-progression JSON (HarmonyPredictor)."),
        DatasetSpec("maestro", f"{_PKG}.data.select:maestro_splits", "MAESTRO MIDI (DynamicsEngine)."),
        DatasetSpec("groove", f"{_PKG}.data.select:groove_splits", "Groove MIDI (GroovePredictor)."),
        DatasetSpec("drum-parts", f"{_PKG}.data.select:drum_parts_splits",
                    "Human-written drum parts (GM MIDI channel 10, Hydrogen songs, Doom WAD music; by default those of "
                    "the Debian packages openttd-openmsx, hydrogen-data and freedoom) with proxy emotion inputs "
                    "(GroovePredictor)."),
    ],
    loss=f"{_PKG}.models.loss:loss",
    evaluate=f"{_PKG}.evaluate:evaluate",
    onnx=f"{_PKG}.models.networks:onnx_spec",
    exports={"rtneural": f"{_PKG}.rtneural.export:export_rtneural"},
    train=f"{_PKG}.train:train",
    models_in_run=f"{_PKG}.config:models_in_run",
    option_aliases=OPTION_ALIASES,
    config_file_adapter=f"{_PKG}.config:adapt_config_file",
)


@hookimpl
def register_tasks(register):
    """Register the kelly task."""
    register(KELLY)


#: The shipped models, EmotionRecognizer first (kelly's default): (name, file stem, description).
SHIPPED = (
    ("emotion-recognizer", "emotionrecognizer", "Audio features (128 log-mel) -> emotion (valence dims 0-31, "
                                                "arousal dims 32-63); trained on rendered Bach chorales."),
    ("melody-transformer", "melodytransformer", "Emotion -> melody pitch probabilities; chorale sopranos."),
    ("harmony-predictor", "harmonypredictor", "Emotion + audio -> chord distribution; chorale harmony."),
    ("dynamics-engine", "dynamicsengine", "Context -> expression values; synthetic data."),
    ("groove-predictor", "groovepredictor", "Emotion -> groove timing and velocity per 16th; human-written "
                                           "drum parts, proxy emotion inputs."),
)


@hookimpl
def register_pretrained(register):
    """The five shipped models: model-only checkpoints with cards, RTNeural JSON and ONNX beside them."""
    for name, stem, description in SHIPPED:
        register("kelly", PretrainedSpec(name, f"{_PKG}:pretrained/{stem}.pt", recipe=f"{_PKG}:recipes/{name}.toml",
                                         description=description))


@hookimpl
def register_commands(cli):
    """Add ``mlrun kelly validate`` and ``mlrun kelly pipeline``."""
    from .commands import kelly_group

    cli.add_command(kelly_group)
