"""``mlrun chromasonic generate`` and ``mlrun chromasonic compare`` (torch-free; the work is imported on use)."""

from __future__ import annotations

from typing import Any

import click

from mlrun_music.audio.render import RENDER_HELP
from mlrun_music.cli import config_options

from .config import SHIPPED, EvaluateConfig


@click.group("chromasonic")
def group() -> None:
    """chromasonic: generate melodies (shipped models or a checkpoint), compare trained models."""


SHIPPED_NAMES = tuple(name for name, _ in SHIPPED)


@group.command("generate")
@click.argument("checkpoint", required=False)
@click.option("--model", "--shipped", "shipped", default=None, type=click.Choice(SHIPPED_NAMES),
              help=f"Use this shipped model (default without CHECKPOINT: {SHIPPED[0][0]}, the lowest held-out "
                   "perplexity; `mlrun info chromasonic` shows the cards).")
@click.option("--seed-notes", default=None, help="Opening notes, e.g. 'C4:1 D4:0.5 r:0.5 E4' (NOTE[:QUARTERS]).")
@click.option("--seed-from", "seed_from", default=None,
              help="Open with a tune: an ABC file (its first tune) or a title from the run's dataset.")
@click.option("--seed-length", default=8, show_default=True, type=click.IntRange(1, 4096),
              help="Notes taken from --seed-from (or a held-out tune when no seed is given).")
@click.option("--length", default=64, show_default=True, type=click.IntRange(1, 100_000),
              help="Notes to generate after the opening.")
@click.option("--temperature", default=1.0, show_default=True, type=click.FloatRange(0.01, 100.0))
@click.option("--top-k", default=0, show_default=True, type=click.IntRange(0, 100_000),
              help="Sample among the k likeliest events only (0 = all).")
@click.option("--seed", "random_seed", default=0, show_default=True, type=int, help="Random seed for sampling.")
@click.option("--key", default=None, help="Key of the melody written, e.g. G, Em, F#m, Bb, ADor (default: the seed's; "
                                          "--seed-notes are read in it).")
@click.option("--meter", default=None, help="Metre of the bars written, e.g. 6/8, 3/4, 4/4 (default: the seed tune's, "
                                            "else 4/4).")
@click.option("--rhythm", default="metre", show_default=True, type=click.Choice(("metre", "free")),
              help="metre: sample only events that keep the bar (none crosses a bar line; one that starts off the "
                   "eighth grid ends by the next beat); free: the model's rhythm as sampled.")
@click.option("--bpm", default=120.0, show_default=True, type=click.FloatRange(10, 1000), help="MIDI tempo.")
@click.option("--out", "out", default="melody.mid", show_default=True, help="MIDI file to write.")
@click.option("--abc", "abc_out", default=None, help="Also write the melody as ABC text to this file.")
@click.option("--render", is_flag=True, help=RENDER_HELP)
@click.option("--device", default="cpu", show_default=True)
def generate_cmd(checkpoint: str | None, shipped: str | None, render: bool, **kwargs: Any) -> None:
    """Generate a melody and write a playable MIDI file: from CHECKPOINT (lstm, transformer or markov), else from
    a shipped model (--model; default: the one with the lowest held-out perplexity)."""
    from mlrun_music.pretrained import resolve_checkpoint

    from .data.notation import parse_key, parse_meter
    from .generate import run_generate

    if kwargs.get("key"):
        parse_key(kwargs["key"])
    if kwargs.get("meter"):
        parse_meter(kwargs["meter"])
    path = resolve_checkpoint("chromasonic", checkpoint, shipped, option="--model")
    if not kwargs.get("seed_notes") and not kwargs.get("seed_from"):
        # The dataset is rebuilt to find a held-out opening: silent minutes on a first use otherwise.
        click.echo("no seed given: opening with a held-out tune of the model's dataset (parsed into the cache on "
                   "first use, a minute or more)", err=True)
    result = run_generate(str(path), **kwargs)
    click.echo(f"wrote {result['out']}: {result['notes']} notes ({result['opening']} opening + "
               f"{result['generated']} generated) in {result['key']}, {result['meter']}, {result['seconds']:.1f} s "
               f"at {kwargs['bpm']:g} bpm"
               + (f"; ABC: {result['abc']}" if result.get("abc") else ""))
    if result["key_note"]:
        click.echo(f"note: {result['key_note']}", err=True)
    if result["unknown_opening"]:
        click.echo(f"note: {result['unknown_opening']} opening events are outside the model's vocabulary: they "
                   f"served as <unk> context and are not in the melody", err=True)
    if render:
        from pathlib import Path

        from mlrun_music.audio.render import render_beside

        render_beside([Path(result["out"])], click.echo)


def _compare_params() -> list[click.Parameter]:
    return config_options(EvaluateConfig)


@click.command("compare", params=_compare_params())
@click.argument("runs", nargs=-1, required=True)
@click.option("--output", default=None, help="Folder for the table and charts (default: <first run>/"
                                             "comparison_results).")
@click.option("--split", default="test", show_default=True, help="Held-out split: test or val.")
@click.option("--device", default="cpu", show_default=True)
def compare_cmd(runs: tuple[str, ...], output: str | None, split: str, device: str, **flags: Any) -> None:
    """Compare models on held-out tunes: RUN is a run folder (all its models) or a checkpoint file."""
    from mlrun_music.config import build_config

    from .evaluate.compare import compare

    given = {k: v for k, v in flags.items() if v is not None}
    options = build_config(EvaluateConfig, given, as_options=given)  # a bad value names the flag typed
    result = compare(list(runs), options, output=output, split=split, device=device)
    click.echo(result["markdown"])
    click.echo(f"comparison written to {result['out_dir']}")


group.add_command(compare_cmd)
