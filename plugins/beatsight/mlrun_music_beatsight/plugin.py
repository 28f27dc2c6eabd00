"""Entry-point module of the beatsight plugin: the two tasks, the shipped model and the CLI hook. No logic."""

from __future__ import annotations

from mlrun_music.hookspecs import hookimpl
from mlrun_music.pretrained import PretrainedSpec
from mlrun_music.task import DatasetSpec, ModelSpec, Task

from .config import BeatsightConfig, BeatsightEvalConfig, TranscriberConfig, TranscriberEvalConfig


BEATSIGHT = Task(
    name="beatsight",
    description="Drum-hit classification (12 classes) for beatmap transcription.",
    config_class=BeatsightConfig,
    models=[ModelSpec("cnn", "mlrun_music_beatsight.models.classifier:build",
                      "The original project's CNN (4 conv blocks 1-32-64-128-256, 391,884 parameters) on a "
                      "128x128 log-mel window (25 ms before to 100 ms after the onset).")],
    datasets=[DatasetSpec("default", "mlrun_music_beatsight.data.classifier:load_default",
                          "General MIDI drum hits and grooves rendered with the Debian soundfont (cached); test "
                          "split = a second, unseen soundfont.", embedded=True),
              DatasetSpec("folder", "mlrun_music_beatsight.data.classifier:load_folder",
                          "A folder written by `mlrun beatsight collect export` (--dataset DIR, or --dataset folder "
                          "--data-dir DIR).", accepts_path=True)],
    loss="mlrun_music_beatsight.models.classifier:loss",
    evaluate="mlrun_music_beatsight.evaluate.classifier:evaluate",
    onnx="mlrun_music_beatsight.models.classifier:onnx_spec",
    evaluate_config=BeatsightEvalConfig,
    option_aliases={"learning_rate": ("--lr",)},
)


TRANSCRIBER = Task(
    name="beatsight-transcriber",
    description="Frame-level drum transcription (12 classes, several at once) of whole songs, for `beatsight process`.",
    config_class=TranscriberConfig,
    models=[ModelSpec("crnn", "mlrun_music_beatsight.models.transcriber:build",
                      "Conv blocks over 100 log-mel bands (20 Hz-16 kHz, 100 frames/s) + a 2-layer bidirectional "
                      "GRU; an onset probability per frame and class.")],
    datasets=[DatasetSpec("default", "mlrun_music_beatsight.data.transcriber:load_default",
                          "Random grooves on the training kits and on synthetic kits, with rendered accompaniment "
                          "(cached); evaluation songs use the unseen test kit.", embedded=True)],
    loss="mlrun_music_beatsight.models.transcriber:loss",
    evaluate="mlrun_music_beatsight.evaluate.transcriber:evaluate",
    onnx="mlrun_music_beatsight.models.transcriber:onnx_spec",
    evaluate_config=TranscriberEvalConfig,
    option_aliases={"learning_rate": ("--lr",)},
)


@hookimpl
def register_tasks(register):
    register(BEATSIGHT)
    register(TRANSCRIBER)


@hookimpl
def register_pretrained(register):
    register("beatsight-transcriber", PretrainedSpec(
        "transcriber", "mlrun_music_beatsight:pretrained/transcriber.pt",
        recipe="mlrun_music_beatsight:recipes/transcriber.toml",
        description="The default 12-epoch transcriber; `beatsight process` uses it."))


@hookimpl
def register_commands(cli):
    from .commands import beatsight

    cli.add_command(beatsight)
