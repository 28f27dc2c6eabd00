"""The objects passed between the trainer and a task's hooks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import attrs


@attrs.define
class DataSplits:
    """What a dataset factory returns.

    ``train`` (and ``val``/``test`` when the dataset has its own splits) are ``torch.utils.data.Dataset`` objects.
    When ``val`` is None the trainer holds out ``config.val_fraction`` of ``train`` with a seeded split.
    ``info`` is JSON-serialisable and passed to the model factory; it is stored in checkpoints so a model can be
    rebuilt without the data (vocabulary size, feature sizes, class names...).
    ``report`` (JSON-serialisable) is written into the run folder as ``data_report.json`` (skips, counts, sources).
    """

    train: Any
    val: Any = None
    test: Any = None
    collate_fn: Callable[[list[Any]], Any] | None = None
    info: dict[str, Any] = attrs.field(factory=dict)
    report: dict[str, Any] = attrs.field(factory=dict)
    #: Give each item its own seed from (seed, epoch, index): set it when items use randomness (augmentation), so
    #: resumed runs match uninterrupted ones exactly with any number of data-loader workers.
    seeded_items: bool = False


@attrs.define
class StepOutput:
    """A loss function's result: the loss to minimise and metrics (batch means) weighted by ``count``."""

    loss: Any
    metrics: dict[str, Any] = attrs.field(factory=dict)
    count: int | None = None


@attrs.define
class RunContext:
    """Where a run lives and which process this is."""

    task: str
    plugin: str
    plugin_version: str
    run_dir: Path
    device: Any  # torch.device
    rank: int = 0
    world_size: int = 1
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("mlrun_music"))

    @property
    def is_main(self) -> bool:
        """Only the main process writes files."""
        return self.rank == 0


@attrs.define
class EvalContext:
    """What an evaluate hook receives."""

    task: str
    model: Any  # torch.nn.Module in eval mode on ``device``
    config: Any
    info: dict[str, Any]
    checkpoint_path: Path
    out_dir: Path
    device: Any
    split: str = "test"
    data: str | None = None
    options: Any = None  # instance of the task's evaluate_config, if any
    run_dir: Path | None = None  # the training run's folder, when it still exists
    log: logging.Logger = attrs.field(factory=lambda: logging.getLogger("mlrun_music"))


@attrs.define
class OnnxSpec:
    """How to export a model to ONNX: sample inputs, names and dynamic axes."""

    args: tuple[Any, ...]
    input_names: Sequence[str]
    output_names: Sequence[str]
    dynamic_axes: dict[str, dict[int, str]] = attrs.field(factory=dict)
    opset: int = 17
    tolerance: float = 1e-4
    module: Any = None  # export this module instead of the model (e.g. a wrapper); None = the model
