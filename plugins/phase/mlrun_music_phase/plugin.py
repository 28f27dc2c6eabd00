"""Declares the ``phase`` task (torch-free: imported by ``mlrun list``)."""

from __future__ import annotations

from mlrun_music.hookspecs import hookimpl
from mlrun_music.pretrained import PretrainedSpec
from mlrun_music.task import DatasetSpec, ModelSpec, Task

from .config import PhaseConfig, PhaseEvalConfig

PHASE = Task(
    name="phase",
    description="Causal bar phase in [0, 1) of the music a seconds ahead, from audio alone.",
    config_class=PhaseConfig,
    models=[ModelSpec("phase_tcn_mel", "mlrun_music_phase.models.tcn:build",
                      "Causal dilated TCN (8 blocks, 64 channels) on a 64-band log-mel front end; anticipation "
                      "as an input; outputs sin/cos of the phase.")],
    datasets=[DatasetSpec("default", "mlrun_music_phase.data.chunks:load_dataset",
                          "--chunks-path if given, else synthetic multi-meter songs generated, rendered with the "
                          "Debian soundfonts and chopped (cached).", embedded=True),
              DatasetSpec("scores", "mlrun_music_phase.data.chunks:load_dataset",
                          "Real pieces from music21's corpus (Bach chorales, O'Neill, Ryan and Essen folk tunes, "
                          "rags and classical movements) written as MIDI from the score (repeats expanded), "
                          "bar lines from the measures; rendered with TimGM6mb and sf_GMbank and chopped into "
                          "chunks (cached). Training takes pieces from --scores-first on, apart from the evaluation "
                          "set (`mlrun evaluate phase --dataset scores`, rendered with FluidR3Mono_GM)."),
              DatasetSpec("mixed", "mlrun_music_phase.data.chunks:load_dataset",
                          "The default's synthetic training songs (or --chunks-path) plus the scores set: songs "
                          "with drums and real drumless pieces in one training set; tested on the default's "
                          "held-out songs."),
              DatasetSpec("mixed-songs", "mlrun_music_phase.data.chunks:load_dataset",
                          "The mixed set plus the train split of the songs set (General MIDI songs with drums "
                          "from openttd-openmsx and freedoom's WADs, bars from their time signatures and tempo "
                          "maps), rendered with the scores set's training soundfonts; `mlrun evaluate phase "
                          "--dataset songs` evaluates on the test split (FluidR3Mono_GM).")],
    loss="mlrun_music_phase.models.tcn:loss",
    evaluate="mlrun_music_phase.evaluate:evaluate",
    onnx="mlrun_music_phase.models.tcn:onnx_spec",
    train="mlrun_music_phase.train:train",
    evaluate_config=PhaseEvalConfig,
)


@hookimpl
def register_tasks(register):
    register(PHASE)


@hookimpl
def register_pretrained(register):
    register("phase", PretrainedSpec(
        "tcn-mel", "mlrun_music_phase:pretrained/tcn-mel.pt",
        recipe="mlrun_music_phase:recipes/tcn-mel.toml",
        description="The default bar-phase model (synthetic songs, three training timbre families); `phase apply`, "
                    "`phase inspect`, `evaluate phase` and `export phase` use it when no checkpoint is given."))


@hookimpl
def register_commands(cli):
    from mlrun_music_phase.commands import phase_group

    cli.add_command(phase_group)
