"""Kelly's training options (torch-free): the defaults and option names of train.py of the original project, and
the shape of its config.json."""

from __future__ import annotations

import json
from typing import Any

import attrs

from mlrun_music.config import TrainConfig, option, trainer_default
from mlrun_music.errors import UserError

from .models.specs import MODEL_NAMES, find

#: Option names of train.py of the original project, added to inherited fields (Task.option_aliases).
OPTION_ALIASES = {
    "output_dir": ("--output", "-o"),
    "epochs": ("-e",),
    "batch_size": ("-b",),
    "device": ("-d",),
    "learning_rate": ("-lr",),
    "val_fraction": ("--validation-split", "-v"),
}

#: The models the music21 corpus dataset serves (data/corpus.py, MODELS_SERVED).
CORPUS_MODELS = ("EmotionRecognizer", "MelodyTransformer", "HarmonyPredictor")
#: A real dataset's folder is read only when real data is wanted: --use-synthetic (and, for the three corpus
#: models, any --dataset) makes it unused.
_REAL = ("use_synthetic",)
_REAL_UNLESS_CORPUS = ("use_synthetic", "dataset")


@attrs.define(kw_only=True)
class KellyConfig(TrainConfig):
    """The trainer's options with the original's defaults (Adam 1e-3, 50 epochs, batch 64, split 0.2 seed 42,
    patience 10, min_delta 0.001), plus where the datasets are."""

    model: str = option("", "Train only this model (EmotionRecognizer, MelodyTransformer, HarmonyPredictor, "
                            "DynamicsEngine, GroovePredictor; case-insensitive); empty = all five in sequence.")
    dataset: str = option("", "Empty = each model's real dataset when present, else the music21 corpus dataset "
                              "(EmotionRecognizer, MelodyTransformer, HarmonyPredictor) when it is prepared in the "
                              "cache, else synthetic data (announced); 'corpus' = the corpus dataset for those three "
                              "(prepared first when missing), the others as with empty; 'drum-parts' = the drum-parts "
                              "dataset for GroovePredictor, the others as with empty; 'synthetic' = the same as "
                              "--use-synthetic.",
                          choices=("", "synthetic", "corpus", "drum-parts"))
    seed: int = trainer_default("seed", 42, "Random seed for data order, splits, initialisation and synthetic data.")
    device: str = trainer_default("device", "cpu")
    epochs: int = trainer_default("epochs", 50, "Number of epochs (per model).")
    batch_size: int = trainer_default("batch_size", 64)
    learning_rate: float = trainer_default("learning_rate", 1e-3)
    val_fraction: float = trainer_default("val_fraction", 0.2, "Share of each dataset held out for validation.")
    early_stopping_patience: int = trainer_default("early_stopping_patience", 10)
    min_delta: float = trainer_default("min_delta", 0.001)
    onnx: bool = option(True, "Also export each trained model to ONNX (verified with onnxruntime).")
    rtneural: bool = option(True, "Export each trained model to RTNeural JSON (<run>/models/<name>.json).")
    datasets_dir: str = option("", "Folder holding deam/, lakh_midi/, maestro/, groove_midi/ and "
                                   "chords/chord_progressions.json (any subset).", unless=_REAL)
    use_synthetic: bool = option(False, "Train every model on its synthetic dataset, even where real data exists.")
    synthetic_samples: int = option(2048, "Samples in each synthetic training set.", min=16, max=10_000_000)
    deam_path: str = option("", "DEAM folder (default <datasets-dir>/deam).", models=("EmotionRecognizer",),
                            unless=_REAL_UNLESS_CORPUS)
    deam_annotations_file: str = option("", "DEAM annotations CSV, relative to the DEAM folder (default: the first "
                                            "of annotations/annotations.csv, annotations.csv, "
                                            "DEAM_annotations/annotations.csv, labels.csv).",
                                        models=("EmotionRecognizer",), unless=_REAL_UNLESS_CORPUS)
    lakh_path: str = option("", "Lakh MIDI folder (default <datasets-dir>/lakh_midi).", models=("MelodyTransformer",),
                            unless=_REAL_UNLESS_CORPUS)
    maestro_path: str = option("", "MAESTRO folder (default <datasets-dir>/maestro).", models=("DynamicsEngine",),
                               unless=_REAL)
    groove_path: str = option("", "Groove MIDI folder (default <datasets-dir>/groove_midi).",
                              models=("GroovePredictor",), unless=_REAL)
    drum_parts_dirs: str = option("", "Folders of human-written drum parts (.mid with drums on channel 10, Hydrogen "
                                      ".h2song, Doom .wad music), separated by ':' (default: the songs of the Debian "
                                      "packages openttd-openmsx, hydrogen-data and freedoom); GroovePredictor's "
                                      "dataset when Groove MIDI is absent.", models=("GroovePredictor",), unless=_REAL)
    chords_path: str = option("", "Chord-progression JSON (default <datasets-dir>/chords/chord_progressions.json).",
                              models=("HarmonyPredictor",), unless=_REAL_UNLESS_CORPUS)
    audio_seconds: float = option(30.0, "Seconds of each DEAM clip used for features.", min=0.5, max=3600.0,
                                  models=("EmotionRecognizer",), unless=_REAL_UNLESS_CORPUS)
    corpus_pieces: int = option(300, "Bach chorales of the music21 corpus dataset (each rendered six times: three "
                                     "tempi, two textures; about 4 s per piece to prepare).", min=10, max=410,
                                models=CORPUS_MODELS, unless=_REAL)
    corpus_dir: str = option("", "Folder of the prepared corpus dataset (default: the kelly cache folder).",
                             models=CORPUS_MODELS, unless=_REAL)
    corpus_textures: str = option("all", "Corpus variants a model trains and is scored on: all (the four-part chorales and "
                                         "their sparse textures) or full (the four-part chorales only).",
                                  choices=("all", "full"), models=CORPUS_MODELS, unless=_REAL)
    max_files: int = option(0, "Read at most this many files per real dataset (0 = all).", min=0,
                            models=("EmotionRecognizer", "MelodyTransformer", "DynamicsEngine", "GroovePredictor"),
                            unless=_REAL)
    model_settings: str = option("", "Deprecated: use --model.NAME.OPTION VALUE or a [per_model.NAME] table. "
                                     "Per-model options as JSON {model: {option: value}}.")

    def validate(self) -> None:
        if self.model and find(self.model) is None:
            raise UserError(f"--model: unknown model '{self.model}'; models: {', '.join(MODEL_NAMES)}")
        if self.dataset == "drum-parts" and self.groove_path:
            raise UserError("--groove-path is unused when --dataset drum-parts is given")
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


#: config.json of the original project: its keys -> option names.
_SECTIONS = ("training", "models", "datasets")
_TRAINING = {"default_epochs": "epochs", "default_batch_size": "batch_size", "default_learning_rate": "learning_rate",
             "default_validation_split": "val_fraction", "epochs": "epochs", "batch_size": "batch_size",
             "learning_rate": "learning_rate", "validation_split": "val_fraction", "device": "device", "seed": "seed"}
_STOPPING = {"patience": "early_stopping_patience", "min_delta": "min_delta", "mode": "monitor_mode"}
_CHECKPOINTING = {"save_best": "keep_best", "save_latest": "", "save_interval": "checkpoint_every"}
_MODEL = {"learning_rate": "learning_rate", "epochs": "epochs", "batch_size": "batch_size",
          "early_stopping_patience": "early_stopping_patience", "input_size": "", "output_size": "",
          "estimated_params": "", "loss": "", "dataset": ""}
_DATASETS = {"deam": {"path": "deam_path", "annotations_file": "deam_annotations_file"},
             "lakh": {"path": "lakh_path"}, "lakh_midi": {"path": "lakh_path"}, "maestro": {"path": "maestro_path"},
             "groove": {"path": "groove_path"}, "groove_midi": {"path": "groove_path"},
             "chords": {"path": "chords_path", "file": "chords_path"}}
_LOSS_NAMES = {"mse": "mse", "bce": "bce", "kl": "kl_div", "kl_div": "kl_div", "kldiv": "kl_div",
               "kl_divergence": "kl_div"}


def adapt_config_file(data: dict[str, Any]) -> dict[str, Any]:
    """Map config.json of the original project ({training, models, datasets}) onto option names; its ``models``
    table becomes the ``per_model`` table. A flat TOML/JSON of option names passes through unchanged."""
    if not any(k in data for k in _SECTIONS):
        return data
    out = {k: v for k, v in data.items() if k not in _SECTIONS}
    training = _table(data, "training")
    out |= _renamed({k: v for k, v in training.items() if k not in ("early_stopping", "checkpointing")}, _TRAINING,
                    "training")
    out |= _renamed(_table(training, "early_stopping", "training."), _STOPPING, "training.early_stopping")
    checkpointing = _renamed(_table(training, "checkpointing", "training."), _CHECKPOINTING, "training.checkpointing")
    if checkpointing.pop("", True) is not True:
        # The latest checkpoint is the resume point: the trainer always writes it.
        raise UserError("training.checkpointing.save_latest: the latest checkpoint is always written (it is the "
                        "resume point); remove the key or set it to true")
    out |= {k: (int(bool(v)) if k == "keep_best" else v) for k, v in checkpointing.items()}
    per_model: dict[str, Any] = {}
    for name, entry in _table(data, "models").items():
        spec = find(name)
        if spec is None:
            raise UserError(f"models: unknown model '{name}'; models: {', '.join(MODEL_NAMES)}")
        where = f"models.{name}"
        own = _renamed(_table(data["models"], name, "models."), _MODEL, where)
        own.pop("", None)
        facts = {"input_size": (spec.input_size, f"takes {spec.input_size} inputs"),
                 "output_size": (spec.output_size, f"gives {spec.output_size} outputs"),
                 "estimated_params": (spec.parameters, f"has {spec.parameters} parameters")}
        for key, (want, says) in facts.items():
            if key in entry and entry[key] != want:
                raise UserError(f"{where}.{key} is {entry[key]!r} but {spec.name} {says}")
        if "loss" in entry and _LOSS_NAMES.get(str(entry["loss"]).lower()) != spec.loss:
            raise UserError(f"{where}.loss is {entry['loss']!r} but {spec.name} is trained with {spec.loss}")
        dataset = str(entry.get("dataset", spec.dataset)).lower()
        if dataset not in (spec.dataset, "synthetic"):
            raise UserError(f"{where}.dataset is {entry['dataset']!r}; {spec.name} trains on '{spec.dataset}' or "
                            f"'synthetic'")
        own |= {"dataset": "synthetic"} if dataset == "synthetic" else {}
        if own:
            per_model[spec.name] = own
    if per_model:
        out["per_model"] = {**per_model, **out.get("per_model", {})}
    for name, entry in _table(data, "datasets").items():
        if name not in _DATASETS:
            raise UserError(f"datasets: unknown dataset '{name}' ({', '.join(sorted(_DATASETS))})")
        out |= _renamed(_table(data["datasets"], name, "datasets."), _DATASETS[name], f"datasets.{name}")
    return out


def _renamed(table: dict[str, Any], names: dict[str, str], where: str) -> dict[str, Any]:
    """``table`` with its keys renamed by ``names`` (a UserError names an unknown key and the known ones)."""
    unknown = [k for k in table if k not in names]
    if unknown:
        raise UserError(f"{where}: unknown key '{unknown[0]}' ({', '.join(names)})")
    return {names[k]: v for k, v in table.items()}


def _table(parent: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = parent.get(key, {})
    if not isinstance(value, dict):
        raise UserError(f"{where}{key} must be a table/object")
    return value
