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
    from .beatmap.collection import add_sample

    report = add_sample(data_dir, audio, time, component)
    click.echo(report.line())


@collect.command("extract-beatmap")
@click.argument("beatmap")
@click.argument("audio")
@_data_dir_option
def extract_beatmap_cmd(beatmap: str, audio: str, data_dir: str) -> None:
    """Add every hit of BEATMAP (.bsm) cut from AUDIO."""
    from .beatmap.collection import extract_beatmap

    report, warnings = extract_beatmap(data_dir, beatmap, audio)
    for w in warnings:
        click.echo(f"warning: {w}", err=True)
    click.echo(report.line())


@collect.command("stats")
@_data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats_cmd(data_dir: str, as_json: bool) -> None:
    """Samples per component, against the recommended minimum."""
    from .beatmap.collection import stats

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
    from .beatmap.collection import export

    result = export(data_dir, out_dir, val_fraction, seed)
    skipped = result["skipped_unreadable"]
    for path in skipped:
        click.echo(f"warning: {path}: not a readable WAV; left out of the export", err=True)
    click.echo(f"exported {result['train']} training and {result['val']} validation samples to {result['out_dir']}"
               + (f"; skipped {len(skipped)} unreadable WAV{'s' if len(skipped) != 1 else ''}" if skipped else ""))


@beatsight.command("process")
@click.argument("song", required=False)
@click.option("--input", "input_path", default=None, help="The song: any audio file soundfile reads (or give it as "
                                                           "the argument SONG).")
@click.option("--output", default=None, help="The beatmap to write (.bsm) [default: the song's name with .bsm].")
@click.option("--ml-model", default=None, help="Classifier checkpoint (else $BEATSIGHT_ML_MODEL_PATH, else the "
                                               "transcriber shipped with the plugin; a models/"
                                               "best_drum_classifier.pt in the current folder is not used unless "
                                               "named here).")
@click.option("--ml/--no-ml", "use_ml", default=None,
              help="Use the ML classifier (default: $BEATSIGHT_USE_ML_CLASSIFIER, else on).")
@click.option("--confidence", type=float, default=None,
              help="Keep a hit when (onset confidence + class confidence) / 2 reaches this [default: 0.7]; with a "
                   "frame-level transcriber (--ml-model of beatsight-transcriber): the peak threshold on its "
                   "activations [default: the model's tuned --threshold].")
@click.option("--sensitivity", type=float, default=50.0, show_default=True,
              help="Onset detection sensitivity, 0 (strong hits only) to 100 (everything).")
@click.option("--second-hit", type=float, default=0.1, show_default=True,
              help="ML only: also write a second/third class of the same onset when its probability reaches "
                   "this and it is a cymbal/hi-hat under a drum or the reverse (kick + hi-hat, snare + crash).")
@click.option("--quantize/--no-quantize", default=True, show_default=True,
              help="Snap hits within 12 ms of the sixteenth-note grid onto it.")
@click.option("--kit-relative/--absolute-names", default=None,
              help="Name toms by their pitch order and the two crashes by their brightness order within the song "
                   "(the kit's positions), instead of each hit's name on its own [default: kit-relative for the "
                   "onset pipeline (CNN, heuristic), absolute for a frame-level transcriber].")
def process_cmd(song: str | None, input_path: str | None, output: str | None, ml_model: str | None,
                use_ml: bool | None, confidence: float | None, sensitivity: float, second_hit: float, quantize: bool,
                kit_relative: bool | None) -> None:
    """Transcribe a song's drums into a .bsm beatmap: mlrun beatsight process SONG [--output SONG.bsm]."""
    from pathlib import Path

    from .transcribe.pipeline import process

    if song is not None and input_path is not None and song != input_path:
        raise UserError(f"give the song once: SONG {song} or --input {input_path}")
    input_path = song or input_path
    if input_path is None:
        raise UserError("name the song: mlrun beatsight process SONG (or --input SONG)")
    output = output or str(Path(input_path).with_suffix(".bsm"))
    process(input_path, output, ml_model=ml_model, use_ml=use_ml, confidence=confidence, sensitivity=sensitivity,
            second_hit=second_hit, do_quantize=quantize, kit_relative=kit_relative, say=click.echo)


@beatsight.command("score")
@click.argument("beatmap")
@click.argument("reference")
@click.option("--window", type=float, default=0.05, show_default=True, help="Onset tolerance in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--output", default=None, help="Also write the scores to this JSON file.")
def score_cmd(beatmap: str, reference: str, window: float, as_json: bool, output: str | None) -> None:
    """Onset F-measure of BEATMAP against REFERENCE (.bsm, or the .mid it was rendered from), per class."""
    from .beatmap.score import score

    if window <= 0:
        raise UserError(f"--window must be positive, got {window}")
    from mlrun_music.fileio import refuse_overwrite_of_inputs

    refuse_overwrite_of_inputs(output, beatmap, reference)
    result = score(beatmap, reference, window)
    if output:
        from mlrun_music.fileio import write_json

        write_json(output, result)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    o = result["overall"]
    click.echo(f"overall F {o['f_measure']:.3f} (P {o['precision']:.3f}, R {o['recall']:.3f}; "
               f"{o['estimated']} estimated, {o['reference']} reference hits; window {window * 1000:g} ms); "
               f"onsets regardless of class F {result['onset_f_measure_any_class']:.3f}")
    for r in result["per_class"]:
        click.echo(f"  {r['component']:<13} F {r['f_measure']:.3f}  P {r['precision']:.3f}  R {r['recall']:.3f}  "
                   f"({r['estimated']} est / {r['reference']} ref)")
