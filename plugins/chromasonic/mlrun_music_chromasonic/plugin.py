"""Declares the chromasonic task (entry-point module: torch-free; heavy code is named by strings)."""

from __future__ import annotations

from mlrun_music.hookspecs import hookimpl
from mlrun_music.pretrained import PretrainedSpec
from mlrun_music.task import DatasetSpec, ModelSpec, Task

from .config import SHIPPED, ChromasonicConfig, EvaluateConfig

_PKG = "mlrun_music_chromasonic"

CHROMASONIC = Task(
    name="chromasonic",
    description="Melody models (LSTM, causal Transformer, Markov baseline) on folk tunes: pitch, rest and duration.",
    config_class=ChromasonicConfig,
    models=[
        ModelSpec("lstm", f"{_PKG}.models.neural:build_lstm",
                  "Embedding -> 2-layer LSTM -> next event, every position."),
        ModelSpec("transformer", f"{_PKG}.models.neural:build_transformer",
                  "Causal Transformer (ALiBi or learned positions, pre-norm blocks) -> next event."),
        ModelSpec("markov", f"{_PKG}.models.neural:build_markov",
                  "Order-k Markov chain with Witten-Bell smoothing, fitted by counting (the baseline)."),
    ],
    datasets=[
        DatasetSpec("folk", f"{_PKG}.data.splits:load_folk",
                    "O'Neill's 1850 + Ryan's Mammoth (ABC, shipped in music21's corpus; offline).", embedded=True),
        DatasetSpec("nottingham", f"{_PKG}.data.splits:load_nottingham",
                    "Nottingham Music Database in ABC: --data-dir, or downloaded once (SHA-256 checked)."),
        DatasetSpec("folder", f"{_PKG}.data.splits:load_folder",
                    "Your own tunes: ABC, MIDI and MusicXML files below --data-dir (any depth); what --data-dir "
                    "means without --dataset.", accepts_path=True),
        DatasetSpec("synthetic", f"{_PKG}.data.splits:load_synthetic",
                    "Random walks (the original project's synthetic data; not music)."),
    ],
    loss=f"{_PKG}.models.neural:loss",
    evaluate=f"{_PKG}.evaluate.heldout:evaluate",
    onnx=f"{_PKG}.models.neural:onnx_spec",
    train=f"{_PKG}.train:train",
    models_in_run=f"{_PKG}.config:models_in_run",
    evaluate_config=EvaluateConfig,
)


@hookimpl
def register_tasks(register):
    register(CHROMASONIC)


@hookimpl
def register_pretrained(register):
    for name, description in SHIPPED:
        register("chromasonic", PretrainedSpec(name, f"{_PKG}:pretrained/{name}.pt",
                                               recipe=f"{_PKG}:recipes/{name}.toml", description=description))


@hookimpl
def register_commands(cli):
    from .commands import group

    cli.add_command(group)
