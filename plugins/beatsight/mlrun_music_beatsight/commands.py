"""``mlrun beatsight ...``: data collection, processing songs into beatmaps, scoring. Torch-free at import."""

from __future__ import annotations

import json

import click

from mlrun_music.errors import UserError

DATA_DIR_HELP = "The collection folder (<component>/<id>.wav plus metadata.json)."


@click.group("beatsight")
def beatsight() -> None:
    """beatsight: collect labelled drum hits, turn songs into .bsm beatmaps, score beatmaps."""


@beatsight.group("collect")
def collect() -> None:
    """Collect labelled drum hits and export them for training."""


def _data_dir_option(f):
    return click.option("--data-dir", default="training_data", show_default=True, help=DATA_DIR_HELP)(f)


@collect.command("add-sample")
@click.argument("audio")
@click.argument("time", type=float)
@click.argument("component")
@_data_dir_option
def add_sample_cmd(audio: str, time: float, component: str, data_dir: str) -> None:
    """Add the hit at TIME seconds of AUDIO, labelled COMPONENT."""
    from .collection import add_sample

    report = add_sample(data_dir, audio, time, component)
    click.echo(report.line())


@collect.command("extract-beatmap")
@click.argument("beatmap")
@click.argument("audio")
@_data_dir_option
def extract_beatmap_cmd(beatmap: str, audio: str, data_dir: str) -> None:
    """Add every hit of BEATMAP (.bsm) cut from AUDIO."""
    from .collection import extract_beatmap

    report, warnings = extract_beatmap(data_dir, beatmap, audio)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(report.line())


@collect.command("stats")
@_data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats_cmd(data_dir: str, as_json: bool) -> None:
    """Samples per component, against the recommended minimum."""
    from .collection import stats

    result = stats(data_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"collection {result['data_dir']}: {result['total']} samples")
    for row in result["components"]:
        flag = "  (below the recommended minimum)" if row["below_min"] else ""
        click.echo(f"  {row['component']:<13} {row['count']:>6} / {row['recommended_min']}{flag}")


@collect.command("export")
@click.argument("out_dir", metavar="DIR")
@_data_dir_option
@click.option("--val-fraction", type=click.FloatRange(0.0, 0.9), default=0.2, show_default=True,
              help="Share of each component held out for validation.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the stratified split.")
def export_cmd(out_dir: str, data_dir: str, val_fraction: float, seed: int) -> None:
    """Export the collection to DIR: train/, val/, *_labels.json, components.json (stratified, seeded split)."""
    from .collection import export

    result = export(data_dir, out_dir, val_fraction, seed)
    click.echo(f"exported {result['train']} training and {result['val']} validation samples to {result['out_dir']}")
