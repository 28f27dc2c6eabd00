"""Task configuration: attrs classes whose fields are the command-line options.

Every field carries its help, its allowed values and optional aliases in metadata. The same validation runs for
command-line flags, config files (TOML or JSON) and the Python API, and names the offending key.
"""

from __future__ import annotations

import json
import ntpath
import os
import string
import tomllib
import typing
from pathlib import Path
from typing import Any, Iterable, Mapping

import attrs

from .errors import UserError, did_you_mean

_MISSING = object()


def option(default: Any, help: str, **rules: Any) -> Any:
    """Declare a config field that becomes ``--kebab-case`` on the command line (``rules``: see
    :func:`option_metadata`)."""
    return attrs.field(default=default, metadata=option_metadata(help, **rules))


def option_metadata(help: str, *, choices: Iterable[Any] | None = None, min: float | None = None,
                    max: float | None = None, aliases: Iterable[str] = (), run_control: bool = False,
                    datasets: Iterable[str] = (), models: Iterable[str] = (), unless: Iterable[str] = (),
                    when: Iterable[str] = (), models_except: Iterable[str] = ()) -> dict[str, Any]:
    """The metadata of an option: its help, allowed values (``choices``, ``min``, ``max``) and extra names.

    ``run_control`` marks fields that steer one invocation (resume, restart, ...) rather than describe the run;
    they are not compared when resuming. ``datasets`` / ``models``: the option is used only when the run trains on
    one of these datasets / trains one of these models; ``unless``: it is unused when any of these fields is set
    (differs from its default); ``when``: it is used only when one of these fields is set (``--augment-gain`` only
    with ``--augment-speed`` above 0); ``models_except``: unused when the run trains only these models (an option
    every model but a counted baseline reads). Giving an option the run does not use is an error
    (:func:`unused_options`).
    """
    return {"help": help, "choices": tuple(choices) if choices is not None else None, "min": min, "max": max,
            "aliases": tuple(aliases), "run_control": run_control, "datasets": tuple(datasets),
            "models": tuple(models), "unless": tuple(unless), "when": tuple(when),
            "models_except": tuple(models_except)}


#: The choices of the trainer's optimizer, schedule and precision options (training/optim.py builds them).
OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULERS = ("none", "reduce_on_plateau", "step", "cosine", "exponential")
PRECISIONS = ("fp32", "bf16", "fp16")


@attrs.define(kw_only=True)
class TrainConfig:
    """Settings every task has: the generic trainer's knobs. Tasks subclass it and change defaults or add fields."""

    # Where and what
    output_dir: str = option("runs", "Folder that holds run folders.")
    tag: str = option("default", "Name of this run; the run folder is <output-dir>/<task>/<tag> by default.")
    run_layout: str = option("{task}/{tag}", "Run folder under --output-dir; {task} and {tag} are filled in.")
    model: str = option("", "Model to train (see `mlrun info TASK`); empty = the task's first model.")
    dataset: str = option("", "Dataset to train on (see `mlrun info TASK`); empty = the embedded default.")
    loss: str = option("default", "Loss to use, by name (plugins may register more).")
    # Reproducibility and device
    seed: int = option(0, "Random seed for data order, splits, initialisation and augmentation.", min=0,
                       max=2**32 - 1)
    device: str = option("auto", "auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps.")
    precision: str = option("fp32", "fp32, or mixed precision on CUDA: bf16, fp16 (with a grad scaler).",
                            choices=PRECISIONS)
    # Optimisation
    epochs: int = option(10, "Number of epochs.", min=1, max=100000)
    batch_size: int = option(32, "Batch size per process.", min=1, max=1 << 20)
    learning_rate: float = option(1e-3, "Learning rate.", min=0.0, max=10.0)
    optimizer: str = option("adam", "Optimizer.", choices=OPTIMIZERS)
    weight_decay: float = option(0.0, "Weight decay.", min=0.0, max=1.0)
    grad_clip: float = option(0.0, "Clip the gradient norm to this value (0 = off).", min=0.0)
    grad_accum_steps: int = option(1, "Accumulate gradients over this many batches.", min=1, max=4096)
    lr_scheduler: str = option("none", "Learning-rate schedule.", choices=SCHEDULERS)
    lr_decay: float = option(0.95, "Decay factor for exponential and step schedules, per epoch or step size.",
                             min=0.0, max=1.0)
    lr_step_size: int = option(10, "Epochs between decays of the step schedule.", min=1)
    lr_plateau_patience: int = option(5, "Epochs without improvement before reduce_on_plateau lowers the rate.",
                                      min=0)
    lr_plateau_factor: float = option(0.5, "Factor applied by reduce_on_plateau.", min=0.0, max=1.0)
    # Validation and stopping
    val_fraction: float = option(0.2, "Share of the data held out for validation when the dataset has no split.",
                                 min=0.0, max=0.9)
    monitor: str = option("val_loss", "Metric that picks the best checkpoint and drives early stopping.")
    monitor_mode: str = option("min", "Whether the monitored metric should go down or up.", choices=("min", "max"))
    early_stopping_patience: int = option(0, "Stop after this many epochs without improvement (0 = off).", min=0)
    min_delta: float = option(0.0, "Smallest change of the monitored metric that counts as improvement.", min=0.0)
    # Checkpoints
    checkpoint_dir: str = option("checkpoints", "Folder for checkpoints, relative to the run folder.")
    latest_name: str = option("latest.pt", "File name of the latest checkpoint (resume point).")
    best_name: str = option("best.pt", "File name of best checkpoints; {epoch}, {metric}, {model} are filled in.")
    keep_best: int = option(1, "How many best checkpoints to keep.", min=0, max=1000)
    periodic_name: str = option("epoch_{epoch}.pt", "File name of periodic checkpoints.")
    checkpoint_every: int = option(0, "Also keep a checkpoint every N epochs (0 = off: best, final and latest only).",
                                   min=0, aliases=("--keep-every",))
    checkpoint_every_steps: int = option(0, "Also refresh the latest checkpoint every N steps (0 = epoch ends).",
                                         min=0)
    final_name: str = option("final.pt", "File name of the final checkpoint.")
    # Data loading and output
    num_workers: int = option(0, "Data-loader worker processes.", min=0, max=64)
    num_threads: int = option(0, "torch CPU threads (0 = torch's default; 1 is often fastest on a busy machine).",
                              min=0, max=1024)
    history: bool = option(True, "Write history JSON and CSV.")
    plots: bool = option(True, "Write learning-curve PNGs.")
    tensorboard: bool = option(False, "Also write TensorBoard event files (needs the tensorboard package).")
    onnx: bool = option(False, "Export to ONNX at the end of training (verified with onnxruntime).")
    init_from: str = option("", "Start from the model weights of this checkpoint, or of a shipped model of the task "
                                "named shipped:NAME (a fresh run with its own optimizer, schedule and options; "
                                "--continue-from needs an unchanged config).")
    # Run control: not part of what a run *is*
    resume: str = option("", "Resume from this checkpoint file.", run_control=True)
    continue_from: int = option(-1, "Resume from the periodic checkpoint of this epoch.", min=-1, run_control=True)
    restart: bool = option(False, "Ignore existing checkpoints in the run folder and start over.", run_control=True)
    nproc_per_node: int = option(1, "Processes (GPUs) per node: >1 relaunches under torchrun with DDP.",
                                 min=1, max=1024, run_control=True)
    max_steps: int = option(0, "Stop after this many optimizer steps in total (0 = no limit; for smoke tests).",
                            min=0, run_control=True)
    max_minutes: float = option(0.0, "Stop at the first epoch end after this many minutes of training in total, "
                                     "resumed epochs included (0 = no limit): a run sized by wall time.",
                                min=0.0, max=100000.0)
    # Tasks that train several models in one run: options of one model ({model: {option: value}})
    per_model: dict = attrs.field(factory=dict, metadata={**option_metadata(
        "Options of single models of a run that trains several: --model.NAME.OPTION VALUE on the command line, a "
        "[per_model.NAME] table in a config file."), "table": True})


#: Fields that describe a whole run, never one model of it: not allowed in ``per_model``.
RUN_LEVEL_FIELDS = frozenset({
    "output_dir", "tag", "run_layout", "model", "device", "checkpoint_dir", "latest_name", "best_name",
    "periodic_name", "final_name", "num_workers", "num_threads", "per_model", "resume", "continue_from", "restart",
    "nproc_per_node"})


def varies_per_model(field: attrs.Attribute) -> bool:
    """Whether one model of a run may set ``field`` for itself (not a whole-run setting, not run control)."""
    return field.name not in RUN_LEVEL_FIELDS and not field.metadata.get("table") \
        and not field.metadata.get("run_control")


def trainer_default(name: str, default: Any, help: str | None = None) -> Any:
    """A trainer option with a task's own default: same help, choices and range (``help`` may replace the help).

    ``lr_scheduler: str = trainer_default("lr_scheduler", "cosine")`` in a task's config class."""
    base = attrs.fields_dict(TrainConfig)[name]
    return attrs.field(default=default, metadata={**base.metadata, **({"help": help} if help else {})})


# ---------------------------------------------------------------------------------------------------------------
# Field introspection


def fields_of(cls: type) -> list[attrs.Attribute]:
    """The fields of a config class with their types resolved to real classes."""
    attrs.resolve_types(cls)
    return list(attrs.fields(cls))


def base_type(annotation: Any) -> type:
    """``int``, ``float``, ``str`` or ``bool`` for a field annotation (``X | None`` gives ``X``)."""
    if annotation in (int, float, str, bool, dict):
        return annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and args[0] in (int, float, str, bool):
        return args[0]
    raise TypeError(f"unsupported config field type {annotation!r}")


def is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def to_dict(config: Any) -> dict[str, Any]:
    """A plain dict of the config's fields."""
    return attrs.asdict(config, recurse=False)


def describe_allowed(field: attrs.Attribute) -> str:
    meta = field.metadata
    if meta.get("table"):
        return "table {model: {option: value}}"
    typ = base_type(field.type).__name__
    if meta.get("choices"):
        return "one of " + ", ".join(map(str, meta["choices"]))
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and hi is not None:
        return f"{typ} in [{lo}, {hi}]"
    if lo is not None:
        return f"{typ} >= {lo}"
    if hi is not None:
        return f"{typ} <= {hi}"
    return typ


def _check_value(field: attrs.Attribute, value: Any, where: str, as_option: bool = False) -> Any:
    typ = base_type(field.type)
    name = option_label(field.name, as_option)
    if value is None and is_optional(field.type):
        return None
    ok = (
        (typ is bool and isinstance(value, bool))
        or (typ is int and isinstance(value, int) and not isinstance(value, bool))
        or (typ is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (typ is str and isinstance(value, str))
    )
    if not ok:
        raise UserError(f"{where}'{name}' must be {describe_allowed(field)}, got {value!r}")
    if typ is float:
        value = float(value)
        if value != value:
            raise UserError(f"{where}'{name}' must be a number, got NaN")
    meta = field.metadata
    if meta.get("choices") and value not in meta["choices"]:
        raise UserError(f"{where}'{name}' must be {describe_allowed(field)}, got {value!r}")
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise UserError(f"{where}'{name}' must be {describe_allowed(field)}, got {value!r}")
    return value


# ---------------------------------------------------------------------------------------------------------------
# Names that become folders: they must stay inside --output-dir

MAX_TAG_LENGTH = 100
_SHOWN = 60


def shorten(value: Any, limit: int = _SHOWN) -> str:
    """``repr`` of ``value`` cut to about ``limit`` characters, for messages that quote user input."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} characters)"
    return repr(value)


def _parts(path: str) -> list[str]:
    return path.replace("\\", "/").split("/")


def _is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or os.path.isabs(path) or bool(ntpath.splitdrive(path)[0])


def tag_problem(value: str) -> str | None:
    """Why ``value`` cannot be a run's tag (one folder name), or None."""
    if value == "":
        return "must not be empty"
    if value in (".", ".."):
        return "must not be '.' or '..'"
    if any(c in value for c in "/\\\0"):
        return "must be one folder name (no '/', '\\' or NUL)"
    if len(value) > MAX_TAG_LENGTH:
        return f"must be at most {MAX_TAG_LENGTH} characters"
    return None


def run_layout_problem(value: str) -> str | None:
    """Why ``value`` cannot be a run layout (a relative path template using only {task} and {tag}), or None."""
    if "\0" in value:
        return "must not contain NUL"
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        return f"is not a valid template ({exc})"
    for name, spec, conv in fields:
        if name not in ("task", "tag") or spec or conv:
            shown = "{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"
            return f"may use only {{task}} and {{tag}}, not {shorten(shown)}"
    if _is_absolute(value):
        return "must be a relative path"
    if ".." in _parts(value):
        return "must not contain '..'"
    return None


def checkpoint_dir_problem(value: str) -> str | None:
    """Why ``value`` cannot be a checkpoint folder relative to the run folder, or None."""
    if "\0" in value:
        return "must not contain NUL"
    if _is_absolute(value):
        return "must be a relative path"
    if ".." in _parts(value):
        return "must not contain '..'"
    return None


def checkpoint_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a checkpoint file name template (one file name using only {epoch}, {metric} and
    {model}, each with an optional format spec such as {metric:.4f}), or None."""
    if value == "" or value in (".", ".."):
        return "must be a file name"
    if any(c in value for c in "/\\\0"):
        return "must be one file name (no '/', '\\' or NUL)"
    try:
        fields = [(name, conv) for _, name, _, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        return f"is not a valid template ({exc})"
    for name, conv in fields:
        if name not in ("epoch", "metric", "model") or conv:
            return f"may use only {{epoch}}, {{metric}} and {{model}}, not {shorten('{' + name + '}')}"
    try:
        value.format(epoch=1, metric=0.5, model="m")
    except (ValueError, TypeError) as exc:
        return f"is not a valid template ({exc})"
    return None


RUN_NAME_CHECKS = {"tag": tag_problem, "run_layout": run_layout_problem, "checkpoint_dir": checkpoint_dir_problem,
                   "latest_name": checkpoint_name_problem, "best_name": checkpoint_name_problem,
                   "periodic_name": checkpoint_name_problem, "final_name": checkpoint_name_problem}


def option_label(name: str, as_option: bool) -> str:
    """How messages name a field: ``--kebab-case`` for command-line flags, the key otherwise."""
    return "--" + name.replace("_", "-") if as_option else name


def check_run_name(name: str, value: Any, where: str = "", as_option: bool = False) -> None:
    """UserError when the field ``name`` (tag, run_layout, checkpoint_dir) would leave the output folder."""
    check = RUN_NAME_CHECKS.get(name)
    if check is None or not isinstance(value, str):
        return
    problem = check(value)
    if problem:
        raise UserError(f"{where}'{option_label(name, as_option)}' {problem}, got {shorten(value)}")


def check_run_names(config: Any, as_options: bool = True) -> None:
    """Apply :func:`check_run_name` to every run-name field of ``config`` (however it was built)."""
    for name in RUN_NAME_CHECKS:
        if hasattr(config, name):
            check_run_name(name, getattr(config, name), as_option=as_options)


def build_config(cls: type, values: Mapping[str, Any], where: str = "", as_options: Iterable[str] = (),
                 check_run_folder: bool = True) -> Any:
    """Validate ``values`` against ``cls`` and return an instance; unknown keys and bad values are UserErrors.

    ``where`` prefixes messages, e.g. ``"run.toml: "``; keys in ``as_options`` came from the command line and are
    named as options (``--learning-rate``) in messages. For :class:`TrainConfig` classes the run-name fields (tag,
    run_layout, checkpoint_dir) must keep the run folder inside the output folder (:func:`check_run_name`);
    ``check_run_folder=False`` skips that for configs that create no run folder (one stored in a checkpoint).
    """
    flags = {key.replace("-", "_") for key in as_options}
    by_name = {f.name: f for f in fields_of(cls)}
    train = check_run_folder and isinstance(cls, type) and issubclass(cls, TrainConfig)
    clean: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name not in by_name:
            raise UserError(f"{where}unknown option '{key}'{did_you_mean(name, list(by_name))}")
        if by_name[name].metadata.get("table"):
            clean[name] = _check_per_model(by_name, value, where)
            continue
        clean[name] = _check_value(by_name[name], value, where, as_option=name in flags)
        if train:
            check_run_name(name, clean[name], where, as_option=name in flags)
    config = cls(**clean)
    check = getattr(config, "validate", None)
    if callable(check):
        check()  # cross-field rules, raising UserError
    return config


def per_model_label(model: str, key: str) -> str:
    """How messages name one model's option: ``--model.NAME.OPTION``."""
    return f"--model.{model}.{key.replace('_', '-')}"


def _check_per_model(by_name: Mapping[str, attrs.Attribute], value: Any, where: str) -> dict[str, dict[str, Any]]:
    """A validated ``per_model`` table: model name -> {field: value}, each value checked like its option."""
    if not isinstance(value, Mapping):
        raise UserError(f"{where}'per_model' must be a table {{model: {{option: value}}}}, got {shorten(value)}")
    out: dict[str, dict[str, Any]] = {}
    for model, entry in value.items():
        if not isinstance(model, str) or not model.strip():
            raise UserError(f"{where}'per_model' keys must be model names, got {shorten(model)}")
        if not isinstance(entry, Mapping):
            raise UserError(f"{where}'per_model.{model}' must be a table of options, got {shorten(entry)}")
        clean: dict[str, Any] = {}
        for key, item in entry.items():
            name = str(key).replace("-", "_")
            if name not in by_name:
                raise UserError(f"{where}{per_model_label(model, name)}: unknown option"
                                f"{did_you_mean(name, list(by_name))}")
            if not varies_per_model(by_name[name]):
                raise UserError(f"{where}{per_model_label(model, name)}: --{name.replace('_', '-')} is set for "
                                f"the whole run, not per model")
            clean[name] = _check_value(by_name[name], item, f"{where}{per_model_label(model, name)}: ")
        out[model] = clean
    return out


def model_config(config: Any, model: str) -> Any:
    """The config one model of a multi-model run trains with: the run's options with ``per_model[model]`` applied
    (validated again, cross-field rules included) and no ``per_model`` table of its own."""
    own = config.per_model.get(model, {})
    if not own and not config.per_model:
        return config
    return build_config(type(config), {**to_dict(config), **own, "per_model": {}},
                        where=f"options of model {model}: ", check_run_folder=False)


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a TOML or JSON config file into a dict (its top-level table)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw.decode("utf-8"))
        else:
            data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"config file {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: "
                        f"{str(exc).splitlines()[0]}") from exc
    except RecursionError:
        raise UserError(f"config file {path} nests too deeply to be a config") from None
    if not isinstance(data, dict):
        raise UserError(f"config file {path} must hold a table of options at the top level")
    return data


def diff_configs(old: Mapping[str, Any], new: Mapping[str, Any], ignore: Iterable[str] = ()) -> list[str]:
    """Human-readable differences ``key: old -> new`` between two config dicts."""
    skip = set(ignore)
    out = []
    for key in sorted(set(old) | set(new)):
        if key in skip:
            continue
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a != b:
            fa = "(absent)" if a is _MISSING else repr(a)
            fb = "(absent)" if b is _MISSING else repr(b)
            out.append(f"{key}: {fa} -> {fb}")
    return out


def unused_options(config: Any, given: Iterable[str], dataset: str, models: Iterable[str]) -> list[str]:
    """For each given option the run does not use, one line naming it and why (empty when all are used).

    ``dataset`` and ``models`` are what the run really trains on and trains (names resolved by the registry)."""
    by_name = {f.name: f for f in fields_of(type(config))}
    trained = set(models)
    problems = []
    for key in sorted({k.replace("-", "_") for k in given}):
        f = by_name.get(key)
        if f is None:
            continue
        flag = "--" + key.replace("_", "-")
        wanted_datasets, wanted_models = f.metadata.get("datasets", ()), f.metadata.get("models", ())
        if wanted_datasets and dataset not in wanted_datasets:
            problems.append(f"{flag} is used only with --dataset {' or '.join(wanted_datasets)}; this run trains "
                            f"on '{dataset}'")
        elif wanted_models and not trained & set(wanted_models):
            problems.append(f"{flag} is used only by the model {' or '.join(wanted_models)}; this run trains "
                            f"{', '.join(sorted(trained))}")
        elif f.metadata.get("models_except") and trained and trained <= set(f.metadata["models_except"]):
            problems.append(f"{flag} is unused by the model {' and '.join(sorted(trained))}; this run trains no "
                            f"other")
        elif f.metadata.get("when") and all(getattr(config, other) == by_name[other].default
                                            for other in f.metadata["when"]):
            needed = " or ".join("--" + other.replace("_", "-") for other in f.metadata["when"])
            problems.append(f"{flag} is used only with {needed} set (it is at its default)")
        else:
            for other in f.metadata.get("unless", ()):
                value = getattr(config, other)
                if value != by_name[other].default:
                    # A switch is named as the user wrote it: --no-augment, not --augment.
                    other_flag = ("--" if value is not False else "--no-") + other.replace("_", "-")
                    problems.append(f"{flag} is unused when {other_flag} is given")
                    break
    return problems


def run_control_fields(cls: type) -> list[str]:
    """Names of fields that steer one invocation rather than define the run."""
    return [f.name for f in fields_of(cls) if f.metadata.get("run_control")]
