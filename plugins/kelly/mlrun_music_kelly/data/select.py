"""Which data each model trains on (always announced): its real dataset when present; else the music21 corpus
dataset (EmotionRecognizer, MelodyTransformer, HarmonyPredictor) when it is prepared or asked for; else synthetic."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mlrun_music.errors import UserError
from mlrun_music.training import DataSplits

from ..models.specs import BY_NAME, MODEL_NAMES
from . import corpus, drums, synthetic

#: The model the drum-parts dataset serves.
DRUM_PARTS_MODEL = "GroovePredictor"
DEFAULT_PLACES = {"deam": "deam", "lakh": "lakh_midi", "maestro": "maestro", "groove": "groove_midi",
                  "chords": "chords/chord_progressions.json"}
PATH_FIELDS = {"deam": "deam_path", "lakh": "lakh_path", "maestro": "maestro_path", "groove": "groove_path",
               "chords": "chords_path"}


#: What each dataset folder must look like (for the one-line error about an unusable --datasets-dir).
LAYOUTS = ("deam/audio/*.wav|mp3|flac|ogg + deam/annotations.csv", "lakh_midi/**/*.mid",
           "chords/chord_progressions.json", "maestro/**/*.midi", "groove_midi/**/*.mid")


def check_datasets_dir(config: Any) -> None:
    """A one-line UserError when ``--datasets-dir`` is given but is not a folder or holds none of the datasets
    (unless synthetic data was asked for explicitly)."""
    if not config.datasets_dir or config.use_synthetic or config.dataset == "synthetic":
        return
    root = Path(config.datasets_dir)
    layouts = "; ".join(LAYOUTS)
    if not root.is_dir():
        raise UserError(f"--datasets-dir {root}: no such folder (expected any of {layouts}; or --use-synthetic in "
                        f"place of --datasets-dir)")
    if not any((root / place).exists() for place in DEFAULT_PLACES.values()):
        raise UserError(f"--datasets-dir {root} holds none of the datasets (expected any of {layouts}; or "
                        f"--use-synthetic in place of --datasets-dir)")


def dataset_location(config: Any, dataset: str) -> Path | None:
    """Where ``dataset`` should be: its own option, else ``<datasets-dir>/<default place>``; None if unset."""
    explicit = getattr(config, PATH_FIELDS[dataset])
    if explicit:
        return Path(explicit)
    if config.datasets_dir:
        return Path(config.datasets_dir) / DEFAULT_PLACES[dataset]
    return None


def load_real(name: str, dataset: str, location: Path, config: Any) -> tuple[Any, dict[str, Any]]:
    """Load the real ``dataset`` for model ``name`` from ``location`` (UserError when unusable)."""
    from . import chords, deam, midi

    if dataset == "deam":
        return deam.load(location, config)
    if dataset == "lakh":
        return midi.load_lakh(location, config)
    if dataset == "maestro":
        return midi.load_maestro(location, config)
    if dataset == "groove":
        return midi.load_groove(location, config)
    if dataset == "chords":
        return chords.load(location, config)
    raise ValueError(dataset)


def splits_for(name: str, config: Any, log: logging.Logger | None = None, force_synthetic: bool = False
               ) -> DataSplits:
    """The data for model ``name``: real when present (and not forced synthetic), else synthetic, announced."""
    log = log or logging.getLogger("mlrun_music")
    spec = BY_NAME[name]
    test = synthetic.held_out(name)
    base_info = {"model": name, "input_size": spec.input_size, "output_size": spec.output_size}
    if force_synthetic or config.use_synthetic or config.dataset == "synthetic":
        log.info("%s: training on synthetic data (requested)", name)
        return _synthetic(name, config, test, base_info, "requested")
    location = dataset_location(config, spec.dataset)
    if config.dataset == "corpus" and name in corpus.MODELS_SERVED:
        log.info("%s: training on the music21 corpus dataset (requested)", name)
        return _corpus(name, config, base_info, log)
    if name == DRUM_PARTS_MODEL and config.dataset == "drum-parts":
        log.info("%s: training on the drum-parts dataset (requested)", name)
        return _drum_parts(name, config, base_info, log)
    if location is None or not location.exists():
        why = (f"no {spec.dataset} dataset at {location}" if location is not None
               else "no --datasets-dir given")
        if name in corpus.MODELS_SERVED and corpus.is_prepared(config.corpus_dir, config.corpus_pieces):
            log.info("%s: %s; using the music21 corpus dataset (proxy labels)", name, why)
            return _corpus(name, config, base_info, log)
        if name == DRUM_PARTS_MODEL and (config.drum_parts_dirs or drums.available(config)):
            log.info("%s: %s; using the drum-parts dataset (human-written drum parts, proxy emotion inputs)",
                     name, why)
            return _drum_parts(name, config, base_info, log)
        hint = (" (`mlrun kelly prepare-corpus` prepares real data for it)" if name in corpus.MODELS_SERVED
                else " (install openttd-openmsx, hydrogen-data or freedoom, or name drum parts with --drum-parts-dirs)"
                if name == DRUM_PARTS_MODEL else "")
        log.info("%s: %s; falling back to synthetic data%s", name, why, hint)
        return _synthetic(name, config, test, base_info, why)
    data, report = load_real(name, spec.dataset, location, config)
    log.info("%s: %d samples from %s dataset at %s (%s)", name, len(data), spec.dataset, location,
             "; ".join(f"{n} {r}" for r, n in report.get("skipped", {}).items()) or "nothing skipped")
    unknown = report.get("unknown_chord_count")
    if unknown:
        log.info("%s: %d unknown chord name(s) left out: %s", name, unknown,
                 ", ".join(list(report["unknown_chords"])[:10]))
    outside = report.get("outside_vocabulary_count")
    if outside:
        log.info("%s: %d chord(s) outside the 64-chord vocabulary left out: %s", name, outside,
                 ", ".join(list(report["outside_vocabulary"])[:10]))
    info = {**base_info, "source": spec.dataset, "location": str(location), "samples": len(data)}
    return DataSplits(train=data, test=test, info=info,
                      report={"model": name, "source": spec.dataset, "location": str(location), **report})


def _corpus(name: str, config: Any, base_info: dict[str, Any], log: logging.Logger) -> DataSplits:
    train, val, test, report = corpus.splits(name, config, log)
    log.info("%s: corpus dataset: %d/%d/%d train/validation/test samples from %d/%d/%d pieces", name, len(train),
             report["val_samples"], report["test_samples"], report["train_pieces"], report["val_pieces"],
             report["test_pieces"])
    info = {**base_info, "source": "corpus", "location": report["location"], "samples": len(train),
            "corpus_pieces": config.corpus_pieces, "corpus_fingerprint": report["fingerprint"]}
    return DataSplits(train=train, val=val, test=test, info=info,
                      report={"model": name, "source": "corpus", **report})


def _drum_parts(name: str, config: Any, base_info: dict[str, Any], log: logging.Logger) -> DataSplits:
    train, val, test, report = drums.splits(config, log)
    log.info("%s: drum-parts dataset: %d/%d/%d train/validation/test samples from %d/%d/%d songs", name,
             len(train), report["val_samples"], report["test_samples"], report["train_songs"], report["val_songs"],
             report["test_songs"])
    info = {**base_info, "source": "drum-parts", "location": report["location"], "samples": len(train),
            "songs": report["songs_used"]}
    return DataSplits(train=train, val=val, test=test, info=info,
                      report={"model": name, "source": "drum-parts", **report})


def _synthetic(name: str, config: Any, test: Any, base_info: dict[str, Any], why: str) -> DataSplits:
    data = synthetic.make(name, config.synthetic_samples, config.seed)
    info = {**base_info, "source": "synthetic", "samples": len(data)}
    return DataSplits(train=data, test=test, info=info,
                      report={"model": name, "source": "synthetic", "reason": why, "samples": len(data)})


def _model_for(config: Any, default: str) -> str:
    from ..models.specs import find

    spec = find(config.model) if config.model else None
    return spec.name if spec else default


# DatasetSpec factories (Python API: resolve(spec.factory)(config, ctx)); training uses splits_for per model.
def synthetic_splits(config: Any, ctx: Any) -> DataSplits:
    return splits_for(_model_for(config, MODEL_NAMES[0]), config, getattr(ctx, "log", None), force_synthetic=True)


def _real(dataset: str, config: Any, ctx: Any) -> DataSplits:
    name = next(m for m in MODEL_NAMES if BY_NAME[m].dataset == dataset)
    location = dataset_location(config, dataset)
    if location is None or not location.exists():
        raise UserError(f"the {dataset} dataset is not at {location or '(no --datasets-dir)'}")
    return splits_for(name, config, getattr(ctx, "log", None))


def corpus_splits(config: Any, ctx: Any) -> DataSplits:
    import attrs

    return splits_for(_model_for(config, MODEL_NAMES[0]), attrs.evolve(config, dataset="corpus"),
                      getattr(ctx, "log", None))


def deam_splits(config: Any, ctx: Any) -> DataSplits:
    return _real("deam", config, ctx)


def lakh_splits(config: Any, ctx: Any) -> DataSplits:
    return _real("lakh", config, ctx)


def chords_splits(config: Any, ctx: Any) -> DataSplits:
    return _real("chords", config, ctx)


def maestro_splits(config: Any, ctx: Any) -> DataSplits:
    return _real("maestro", config, ctx)


def groove_splits(config: Any, ctx: Any) -> DataSplits:
    return _real("groove", config, ctx)


def drum_parts_splits(config: Any, ctx: Any) -> DataSplits:
    import attrs

    return splits_for(DRUM_PARTS_MODEL, attrs.evolve(config, dataset="drum-parts"), getattr(ctx, "log", None))
