"""Kelly's training options (torch-free): the guide's defaults and names, and its JSON config-file shape."""

from __future__ import annotations

import json
from typing import Any

import attrs

from mlrun_music.config import TrainConfig, option
from mlrun_music.errors import UserError

from .models.specs import BY_NAME, MODEL_NAMES, find

#: Guide option names added to inherited fields (Task.option_aliases).
OPTION_ALIASES = {
    "output_dir": ("--output", "-o"),
    "epochs": ("-e",),
    "batch_size": ("-b",),
    "device": ("-d",),
    "learning_rate": ("-lr",),
    "val_fraction": ("--validation-split", "-v"),
}

#: Keys a per-model entry of the config file may override during training.
PER_MODEL_TRAINING_KEYS = {"learning_rate": "learning_rate", "epochs": "epochs", "batch_size": "batch_size",
                           "early_stopping_patience": "early_stopping_patience"}
_LOSS_NAMES = {"mse": "mse", "bce": "bce", "kl": "kl_div", "kl_div": "kl_div", "kldiv": "kl_div",
               "kl_divergence": "kl_div"}


@attrs.define(kw_only=True)
class KellyConfig(TrainConfig):
    """The trainer's options with the original's defaults (Adam 1e-3, 50 epochs, batch 64, split 0.2 seed 42,
    patience 10, min_delta 0.001), plus where the datasets are."""

    output_dir: str = option("trained_models", "Folder that holds run folders (the guide's --output).")
    model: str = option("", "Train only this model (EmotionRecognizer, MelodyTransformer, HarmonyPredictor, "
                            "DynamicsEngine, GroovePredictor; case-insensitive); empty = all five in sequence.")
    dataset: str = option("", "Empty = each model's real dataset when present, else the music21 corpus dataset "
                              "(EmotionRecognizer, MelodyTransformer, HarmonyPredictor) when it is prepared in the "
                              "cache, else synthetic data (announced); 'corpus' = the corpus dataset where it serves "
                              "the model (prepared first when missing), synthetic elsewhere; 'synthetic' = the same "
                              "as --use-synthetic.",
                          choices=("", "synthetic", "corpus"))
    seed: int = option(42, "Random seed for data order, splits, initialisation and synthetic data.")
    device: str = option("cpu", "cpu, cuda, cuda:N, mps or auto.")
    epochs: int = option(50, "Number of epochs (per model).", min=1, max=100000)
    batch_size: int = option(64, "Batch size.", min=1, max=1 << 20)
    learning_rate: float = option(1e-3, "Adam learning rate.", min=0.0, max=10.0)
    val_fraction: float = option(0.2, "Share of each dataset held out for validation.", min=0.0, max=0.9)
    early_stopping_patience: int = option(10, "Stop after this many epochs without improvement (0 = off).", min=0)
    min_delta: float = option(0.001, "Smallest improvement of the validation loss that counts.", min=0.0)
    onnx: bool = option(True, "Also export each trained model to ONNX (verified with onnxruntime).")
    rtneural: bool = option(True, "Export each trained model to RTNeural JSON (<run>/models/<name>.json).")
    datasets_dir: str = option("", "Folder holding deam/, lakh_midi/, maestro/, groove_midi/ and "
                                   "chords/chord_progressions.json (any subset).")
    use_synthetic: bool = option(False, "Train every model on its synthetic dataset, even where real data exists.")
    synthetic_samples: int = option(2048, "Samples in each synthetic training set.", min=16, max=10_000_000)
    deam_path: str = option("", "DEAM folder (default <datasets-dir>/deam).")
    deam_annotations_file: str = option("", "DEAM annotations CSV, relative to the DEAM folder (default: the first "
                                            "of annotations/annotations.csv, annotations.csv, "
                                            "DEAM_annotations/annotations.csv, labels.csv).")
    lakh_path: str = option("", "Lakh MIDI folder (default <datasets-dir>/lakh_midi).")
    maestro_path: str = option("", "MAESTRO folder (default <datasets-dir>/maestro).")
    groove_path: str = option("", "Groove MIDI folder (default <datasets-dir>/groove_midi).")
    chords_path: str = option("", "Chord-progression JSON (default <datasets-dir>/chords/chord_progressions.json).")
    audio_seconds: float = option(30.0, "Seconds of each DEAM clip used for features.", min=0.5, max=3600.0)
    corpus_pieces: int = option(300, "Bach chorales of the music21 corpus dataset (each rendered at three tempi; "
                                     "about 2 s per piece to prepare).", min=10, max=410)
    corpus_dir: str = option("", "Folder of the prepared corpus dataset (default: the kelly cache folder).")
    max_files: int = option(0, "Read at most this many files per real dataset (0 = all).", min=0)
    model_settings: str = option("", "Deprecated: use --model.NAME.OPTION VALUE or a [per_model.NAME] table. "
                                     "Per-model options as JSON {model: {option: value}}.")

    def validate(self) -> None:
        if self.model and find(self.model) is None:
            raise UserError(f"--model: unknown model '{self.model}'; models: {', '.join(MODEL_NAMES)}")
        if self.model_settings:
            # The deprecated JSON form becomes the per_model table (whose own entries win).
            import sys

            print("warning: --model-settings is deprecated; use --model.NAME.OPTION VALUE or a [per_model.NAME] "
                  "table", file=sys.stderr)
            from mlrun_music.config import build_config, to_dict

            merged = {name: {**values, **self.per_model.get(name, {})}
                      for name, values in parse_model_settings(self.model_settings).items()}
            checked = build_config(type(self), {**to_dict(self), "model_settings": "",
                                                "per_model": {**self.per_model, **merged}}, check_run_folder=False)
            self.per_model, self.model_settings = checked.per_model, ""


def models_in_run(config: KellyConfig, models: tuple[str, ...] = MODEL_NAMES) -> list[str]:
    """The models one run trains: ``--model``, else all five."""
    return [find(config.model).name] if config.model else list(MODEL_NAMES)


def parse_model_settings(text: str) -> dict[str, dict[str, Any]]:
    """The deprecated ``--model-settings`` JSON: ``{ModelName: {option: value}}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"--model-settings is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise UserError("--model-settings must be a JSON object {model: {option: value}}")
    out = {}
    for name, values in data.items():
        spec = find(name)
        if spec is None:
            raise UserError(f"--model-settings: unknown model '{name}'; models: {', '.join(MODEL_NAMES)}")
        if not isinstance(values, dict):
            raise UserError(f"--model-settings: the entry for '{name}' must be an object")
        out[spec.name] = values
    return out


def adapt_config_file(data: dict[str, Any]) -> dict[str, Any]:
    """Map the guide's config.json shape ({training, models, datasets}) onto option names.

    Plain option names at the top level pass through unchanged, so a flat TOML/JSON works too. The ``models``
    table becomes the core's ``per_model`` table (a flag for the whole run wins over a model's file setting).
    """
    if not any(k in data for k in ("training", "models", "datasets")):
        return data
    out = {k: v for k, v in data.items() if k not in ("training", "models", "datasets")}
    training = _table(data, "training")
    mapping = {"default_epochs": "epochs", "default_batch_size": "batch_size",
               "default_learning_rate": "learning_rate", "default_validation_split": "val_fraction",
               "epochs": "epochs", "batch_size": "batch_size", "learning_rate": "learning_rate",
               "validation_split": "val_fraction", "device": "device", "seed": "seed"}
    for key, value in training.items():
        if key in mapping:
            out[mapping[key]] = value
        elif key == "early_stopping":
            stop = _table(training, "early_stopping", "training.")
            for k, v in stop.items():
                if k == "patience":
                    out["early_stopping_patience"] = v
                elif k == "min_delta":
                    out["min_delta"] = v
                elif k == "mode":
                    out["monitor_mode"] = v
                else:
                    raise UserError(f"training.early_stopping: unknown key '{k}' (patience, min_delta, mode)")
        elif key == "checkpointing":
            ck = _table(training, "checkpointing", "training.")
            for k, v in ck.items():
                if k == "save_best":
                    out["keep_best"] = 1 if v else 0
                elif k == "save_latest":
                    if v is not True:
                        # The latest checkpoint is the resume point: the trainer always writes it.
                        raise UserError("training.checkpointing.save_latest: the latest checkpoint is always "
                                        "written (it is the resume point); remove the key or set it to true")
                elif k == "save_interval":
                    out["checkpoint_every"] = v
                else:
                    raise UserError(f"training.checkpointing: unknown key '{k}' "
                                    f"(save_best, save_latest, save_interval)")
        else:
            raise UserError(f"training: unknown key '{key}'")
    settings: dict[str, Any] = {}
    for name, entry in _table(data, "models").items():
        spec = BY_NAME.get(name) or find(name)
        if spec is None:
            raise UserError(f"models: unknown model '{name}'; models: {', '.join(MODEL_NAMES)}")
        if not isinstance(entry, dict):
            raise UserError(f"models.{name} must be a table")
        own: dict[str, Any] = {}
        for k, v in entry.items():
            where = f"models.{name}.{k}"
            if k == "input_size" and v != spec.input_size:
                raise UserError(f"{where} is {v!r} but {spec.name} takes {spec.input_size} inputs")
            elif k == "output_size" and v != spec.output_size:
                raise UserError(f"{where} is {v!r} but {spec.name} gives {spec.output_size} outputs")
            elif k == "estimated_params" and v != spec.parameters:
                raise UserError(f"{where} is {v!r} but {spec.name} has {spec.parameters} parameters")
            elif k == "loss" and _LOSS_NAMES.get(str(v).lower()) != spec.loss:
                raise UserError(f"{where} is {v!r} but {spec.name} is trained with {spec.loss}")
            elif k == "dataset" and str(v).lower() not in (spec.dataset, "synthetic"):
                raise UserError(f"{where} is {v!r}; {spec.name} trains on '{spec.dataset}' or 'synthetic'")
            elif k == "dataset" and str(v).lower() == "synthetic":
                own["dataset"] = "synthetic"
            elif k in PER_MODEL_TRAINING_KEYS:
                own[PER_MODEL_TRAINING_KEYS[k]] = v
            elif k not in ("input_size", "output_size", "estimated_params", "loss", "dataset"):
                raise UserError(f"{where}: unknown key (input_size, output_size, estimated_params, loss, "
                                f"dataset, learning_rate, epochs, batch_size, early_stopping_patience)")
        if own:
            settings[spec.name] = own
    if settings:
        out["per_model"] = {**settings, **out.get("per_model", {})}
    paths = {"deam": "deam_path", "lakh": "lakh_path", "lakh_midi": "lakh_path", "maestro": "maestro_path",
             "groove": "groove_path", "groove_midi": "groove_path", "chords": "chords_path"}
    for name, entry in _table(data, "datasets").items():
        if name not in paths:
            raise UserError(f"datasets: unknown dataset '{name}' ({', '.join(sorted(paths))})")
        if not isinstance(entry, dict):
            raise UserError(f"datasets.{name} must be a table")
        for k, v in entry.items():
            if k == "path":
                out[paths[name]] = v
            elif k == "annotations_file" and name == "deam":
                out["deam_annotations_file"] = v
            elif k == "file" and name == "chords":
                out["chords_path"] = v
            else:
                raise UserError(f"datasets.{name}: unknown key '{k}'")
    return out


def _table(parent: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"{where}{key} must be a table/object")
    return value
