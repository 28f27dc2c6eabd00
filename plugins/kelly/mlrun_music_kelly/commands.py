"""``mlrun kelly validate`` and ``mlrun kelly pipeline`` (torch-free module; heavy imports inside the commands)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlrun_music.errors import UserError


@click.group("kelly")
def kelly_group() -> None:
    """Kelly MIDI Companion tools: validate RTNeural JSON exports, run the five-model pipeline."""


@kelly_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--check-specs", is_flag=True, help="Also compare each file exactly with its model's spec.")
@click.option("--checkpoint", type=click.Path(dir_okay=False), default=None,
              help="Checkpoint to compare numbers with (one file only; default: found from the JSON).")
@click.option("--numeric/--no-numeric", default=True, show_default=True,
              help="Run the JSON with the NumPy RTNeural runner and compare with the PyTorch checkpoint.")
@click.option("--verbose", "-v", is_flag=True, help="Print every layer.")
def validate_cmd(files: tuple[str, ...], check_specs: bool, checkpoint: str | None, numeric: bool,
                 verbose: bool) -> None:
    """Validate RTNeural JSON files (exit 1 if any fails, with the reason per file)."""
    from .validate import validate_file

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
@click.option("--models", "models_dir", required=True, type=click.Path(file_okay=False),
              help="Folder with the five exported JSON models (<run>/models).")
@click.option("--runner", type=click.Choice(["numpy", "onnx"]), default="numpy", show_default=True,
              help="numpy runs the RTNeural JSON files; onnx runs the .onnx files beside them.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON here instead of printing it.")
def pipeline_cmd(source: str, models_dir: str, runner: str, output: str | None) -> None:
    """Run the five models on AUDIO (or a features file: .json list / .npy of 128 values) as the plugin does."""
    from mlrun_music.fileio import refuse_overwrite_of_inputs, write_json

    from .pipeline import load_features, run_pipeline

    refuse_overwrite_of_inputs(output, source, models_dir)
    features = load_features(Path(source))
    result = run_pipeline(features, Path(models_dir), runner=runner)
    result = {"source": source, "runner": runner, **result}
    if output:
        write_json(output, result)
        click.echo(f"pipeline output written to {output}")
    else:
        click.echo(json.dumps(result, indent=2))
