"""``mlrun kelly validate``, ``pipeline``, ``export`` and ``prepare-corpus`` (torch-free module; heavy imports inside
the commands). With no models named, validate, pipeline and export use the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlrun_music.errors import UserError


@click.group("kelly")
def kelly_group() -> None:
    """Kelly MIDI Companion tools: validate RTNeural JSON exports, run the five-model pipeline."""


def shipped_dir() -> Path:
    """The folder of the shipped models: model-only checkpoints and their cards."""
    return Path(__file__).resolve().parent / "pretrained"


def shipped_files(suffix: str) -> list[Path]:
    """The five shipped models' files ending in ``suffix`` (``.pt``, ``.json`` or ``.onnx``), in pipeline order.

    The package ships the checkpoints only (the RTNeural JSON of all five is 15 MB): their JSON and ONNX files,
    cards in their metadata, are exported once into the cache folder (:func:`shipped_exports`). A missing
    checkpoint is a one-line error."""
    from .models.specs import MODELS

    checkpoints = [shipped_dir() / f"{spec.file_stem}.pt" for spec in MODELS]
    missing = [str(f) for f in checkpoints if not f.is_file()]
    if missing:
        raise UserError(f"the shipped kelly models are incomplete: {', '.join(missing)} missing (reinstall "
                        f"mlrun-music-kelly, or name the files)")
    if suffix == ".pt":
        return checkpoints
    folder = shipped_exports(checkpoints)
    return [folder / f"{spec.file_stem}{suffix}" for spec in MODELS]


def shipped_exports(checkpoints: list[Path]) -> Path:
    """``<cache>/kelly/shipped-<hash>/``: the RTNeural JSON and ONNX of the shipped checkpoints, written the first
    time they are needed (the hash follows the checkpoints and their cards, which the exports carry, so a release
    that changes either exports anew)."""
    import hashlib

    from mlrun_music.cache import cache_dir

    from .models.specs import MODELS

    sources = [f for c in checkpoints for f in (c, c.with_suffix(".card.json")) if f.is_file()]
    digest = hashlib.sha256(b"".join(hashlib.sha256(f.read_bytes()).digest() for f in sources)).hexdigest()
    folder = cache_dir("kelly") / f"shipped-{digest[:16]}"
    wanted = [folder / f"{spec.file_stem}{ext}" for spec in MODELS for ext in (".json", ".onnx")]
    if not all(f.is_file() for f in wanted):
        from mlrun_music import api

        click.echo(f"exporting the shipped kelly models to RTNeural JSON and ONNX once, into {folder}", err=True)
        for spec, checkpoint in zip(MODELS, checkpoints):
            for fmt, ext in (("rtneural", ".json"), ("onnx", ".onnx")):
                api.export("kelly", checkpoint, fmt, str(folder / f"{spec.file_stem}{ext}"))
    return folder


def _announce(fmt: str = "") -> None:
    """One line on stderr: the shipped models are in use (``fmt``: the format exported from their checkpoints)."""
    source = f"{fmt} exported from the checkpoints" if fmt else "the checkpoints"
    click.echo(f"using the shipped kelly models ({source} in {shipped_dir()}); `mlrun info kelly` shows their "
               f"cards", err=True)


@kelly_group.command("validate")
@click.argument("files", nargs=-1, type=click.Path())  # a folder among them is reported like any bad file
@click.option("--check-specs", is_flag=True, help="Also compare each file exactly with its model's spec.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to compare numbers with (one file only; default: found from the JSON).")
@click.option("--numeric/--no-numeric", default=True, show_default=True,
              help="Run the JSON with the NumPy RTNeural runner and compare with the PyTorch checkpoint.")
@click.option("--verbose", "-v", is_flag=True, help="Print every layer.")
def validate_cmd(files: tuple[str, ...], check_specs: bool, checkpoint: str | None, numeric: bool,
                 verbose: bool) -> None:
    """Validate RTNeural JSON files (exit 1 if any fails, with the reason per file); none named = the shipped ones."""
    from .rtneural.validate import validate_file

    if not files:
        files = tuple(str(f) for f in shipped_files(".json"))
        _announce("RTNeural JSON")
    if checkpoint and len(files) > 1:
        raise UserError("--checkpoint applies to one JSON file; give one file or leave it out")
    failed = 0
    for name in files:
        res = validate_file(Path(name), check_specs=check_specs, checkpoint=Path(checkpoint) if checkpoint else None,
                            numeric=numeric)
        if res.ok:
            extra = f", max abs difference {res.max_abs_diff:.2e} vs {res.checkpoint}" \
                if res.max_abs_diff is not None else ""
            click.echo(f"OK   {name}: {res.model_name or '?'}, {res.parameters:,} parameters{extra}")
        else:
            failed += 1
            click.echo(f"FAIL {name}: {'; '.join(res.problems)}")
        if verbose:
            for line in res.details:
                click.echo(line)
    click.echo(f"{len(files) - failed} of {len(files)} file(s) valid")
    if failed:
        raise UserError(f"{failed} of {len(files)} file(s) failed validation", exit_code=1)


@kelly_group.command("pipeline")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--models", "models_dir", default=None, type=click.Path(file_okay=False),
              help="Folder with the five exported JSON models (<run>/models); default: the shipped models.")
@click.option("--runner", type=click.Choice(["numpy", "onnx"]), default="numpy", show_default=True,
              help="numpy runs the RTNeural JSON files; onnx runs the .onnx files beside them.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON here instead of printing it.")
def pipeline_cmd(source: str, models_dir: str | None, runner: str, output: str | None) -> None:
    """Run the five models on AUDIO (or a features file: .json list / .npy of 128 values) as the plugin does."""
    from mlrun_music.fileio import refuse_overwrite_of_inputs, write_json

    from .pipeline.inputs import load_features
    from .pipeline.run import run_pipeline

    if models_dir is None:
        models_dir = str(shipped_files(".json" if runner == "numpy" else ".onnx")[0].parent)
        _announce("RTNeural JSON" if runner == "numpy" else "ONNX")
    refuse_overwrite_of_inputs(output, source, models_dir)
    features = load_features(Path(source))
    result = run_pipeline(features, Path(models_dir), runner=runner)
    result = {"source": source, "runner": runner, **result}
    if output:
        write_json(output, result)
        click.echo(f"pipeline output written to {output}")
    else:
        click.echo(json.dumps(result, indent=2))


@kelly_group.command("export")
@click.argument("checkpoints", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--format", "formats", type=click.Choice(["rtneural", "onnx"]), multiple=True,
              help="Formats to write (repeat the option; default: both).")
@click.option("--output-dir", "-o", required=True, type=click.Path(file_okay=False),
              help="Folder for <model>.json and <model>.onnx.")
def export_cmd(checkpoints: tuple[str, ...], formats: tuple[str, ...], output_dir: str) -> None:
    """Export checkpoints to RTNeural JSON and ONNX in one folder; none named = the five shipped models (their
    cards go into the files' metadata)."""
    from mlrun_music import api
    from mlrun_music.pretrained import resolve_checkpoint

    from .models.specs import BY_NAME

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if checkpoints:
        paths = [Path(c) for c in checkpoints]
    else:
        shipped_files(".pt")
        _announce()
        # A shipped checkpoint named by its path still carries its card into every export.
        paths = [resolve_checkpoint("kelly", None, name, quiet=True) for name in SHIPPED_NAMES.values()]
    for checkpoint in paths:
        loaded = api.load_model("kelly", checkpoint, quiet=True)
        spec = BY_NAME[loaded.model.model_name]
        for fmt in formats or ("rtneural", "onnx"):
            target = out / f"{spec.file_stem}.{'json' if fmt == 'rtneural' else 'onnx'}"
            api.export("kelly", checkpoint, fmt, str(target))
            click.echo(f"{spec.name}: {target}")


@kelly_group.command("prepare-corpus")
@click.option("--pieces", type=click.IntRange(10, 410), default=300, show_default=True,
              help="Bach chorales to prepare (each rendered six times: three tempi, two textures; about 4 s "
                   "per piece).")
@click.option("--corpus-dir", default="", help="Folder to prepare into (default: the kelly cache folder).")
def prepare_corpus_cmd(pieces: int, corpus_dir: str) -> None:
    """Render and analyse Bach chorales of the music21 corpus for EmotionRecognizer, MelodyTransformer and
    HarmonyPredictor (proxy labels; see the README); pieces prepared before are reused."""
    import logging

    from .data import corpus

    log = logging.getLogger("mlrun_music")
    folder = corpus.prepare(corpus_dir, pieces, log)
    records = corpus.read_records(folder, pieces)
    click.echo(f"corpus dataset: {len(records)} rendered variants of {len({r['piece'] for r in records})} pieces "
               f"in {folder}")


#: Shipped model names (mlrun's --shipped) by model, in pipeline order; the first is kelly's default.
SHIPPED_NAMES = {"EmotionRecognizer": "emotion-recognizer", "MelodyTransformer": "melody-transformer",
                 "HarmonyPredictor": "harmony-predictor", "DynamicsEngine": "dynamics-engine",
                 "GroovePredictor": "groove-predictor"}
