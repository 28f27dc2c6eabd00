"""Declares the `emopia` task (torch-free entry point): emotion-conditioned piano generation with duration control."""

from __future__ import annotations

from mlrun_music.hookspecs import hookimpl
from mlrun_music.pretrained import PretrainedSpec
from mlrun_music.task import DatasetSpec, ModelSpec, Task

from .config import EmopiaConfig, EmopiaEvalConfig

EMOPIA = Task(
    name="emopia",
    description="Emotion-conditioned piano generation with duration control (EMOPIA quadrants).",
    config_class=EmopiaConfig,
    models=[ModelSpec("transformer", "mlrun_music_emopia.models.transformer:build",
                      "Decoder-only transformer with emotion embedding and duration conditioning, KV cache.")],
    datasets=[DatasetSpec("default", "mlrun_music_emopia.data.loader:load",
                          "An embedded SYNTHETIC corpus in the EMOPIA 1.0 layout, generated in the run folder "
                          "(announced): the quadrants differ in mode, tempo, register, density and dynamics.",
                          embedded=True),
              DatasetSpec("emopia", "mlrun_music_emopia.data.loader:load",
                          "EMOPIA 1.0 (1,078 piano clips of 387 songs, listener-annotated quadrants) from a local "
                          "copy at --data-dir; --data-dir alone selects it."),
              DatasetSpec("scores", "mlrun_music_emopia.data.loader:load",
                          "Real scores from music21's corpus (quartet movements, piano pieces, Bach chorales, fiddle "
                          "tunes) reduced to piano and cut into 20-50 s clips; PROXY quadrant labels (valence = "
                          "mode, arousal = onsets per second); parsed once into the emopia cache folder.")],
    loss="mlrun_music_emopia.models.transformer:loss",
    evaluate="mlrun_music_emopia.evaluate:evaluate",
    onnx="mlrun_music_emopia.models.transformer:onnx_spec",
    evaluate_config=EmopiaEvalConfig,
)


@hookimpl
def register_tasks(register):
    register(EMOPIA)


@hookimpl
def register_pretrained(register):
    register("emopia", PretrainedSpec(
        "scores-transformer", "mlrun_music_emopia:pretrained/scores-transformer.pt",
        recipe="mlrun_music_emopia:recipes/scores-transformer.toml",
        description="Trained on real music21 corpus scores with PROXY quadrant labels; `emopia generate` uses it."))


@hookimpl
def register_commands(cli):
    from .commands import group

    cli.add_command(group)
