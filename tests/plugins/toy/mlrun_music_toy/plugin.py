"""Declares the toy task (torch-free, like every plugin's entry module)."""

from __future__ import annotations

import attrs

from mlrun_music.config import TrainConfig, option
from mlrun_music.hookspecs import hookimpl
from mlrun_music.pretrained import PretrainedSpec
from mlrun_music.task import DatasetSpec, ModelSpec, Task


@attrs.define(kw_only=True)
class ToyConfig(TrainConfig):
    samples: int = option(256, "Number of synthetic samples.", min=8, max=1_000_000)
    hidden: int = option(16, "Hidden width of the MLP.", min=1, max=4096, models=("mlp",))
    noise: float = option(0.05, "Noise added to targets.", min=0.0, max=10.0)
    augment: float = option(0.0, "Random input jitter during training (tests seeded items).", min=0.0, max=1.0)
    nan_at_step: int = option(-1, "Make the loss NaN after this many training steps (tests).", min=-1)
    kill_at_step: int = option(-1, "SIGKILL this process after this many training steps (resume tests).", min=-1,
                               run_control=True)
    epochs: int = option(5, "Number of epochs.", min=1, max=100000)
    batch_size: int = option(16, "Batch size per process.", min=1, max=1 << 20)


TOY = Task(
    name="toy",
    description="Tiny regression task for trainer tests.",
    config_class=ToyConfig,
    models=[ModelSpec("mlp", "mlrun_music_toy.impl:build_model", "Two-layer MLP."),
            ModelSpec("linear", "mlrun_music_toy.impl:build_linear", "A single linear layer.")],
    datasets=[DatasetSpec("synthetic", "mlrun_music_toy.impl:load_data", "Random linear data.", embedded=True),
              DatasetSpec("npz", "mlrun_music_toy.impl:load_npz", "x and y arrays from an .npz file given as "
                          "--dataset PATH.", accepts_path=True)],
    loss="mlrun_music_toy.impl:loss",
    evaluate="mlrun_music_toy.impl:evaluate",
    onnx="mlrun_music_toy.impl:onnx_spec",
)


#: The same data and models, both trained in one run (tests the core's multi-model runs and --model.NAME.OPTION).
TOY_PAIR = Task(
    name="toy-pair",
    description="The toy task's two models trained one after the other in one run.",
    config_class=ToyConfig,
    models=TOY.models,
    datasets=TOY.datasets[:1],
    loss="mlrun_music_toy.impl:loss",
    evaluate="mlrun_music_toy.impl:evaluate",
    train="mlrun_music_toy.impl:train_pair",
    models_in_run="mlrun_music_toy.impl:models_in_run",
)


@hookimpl
def register_tasks(register):
    register(TOY)
    register(TOY_PAIR)


@hookimpl
def register_pretrained(register):
    register("toy", PretrainedSpec("mlp", "mlrun_music_toy:pretrained/mlp.pt",
                                   recipe="mlrun_music_toy:recipes/mlp.toml",
                                   description="The two-stage recipe's MLP."))
