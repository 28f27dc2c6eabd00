"""``mlrun phase ...`` commands: generate, render, chop, apply, inspect (torch-free at import)."""

from __future__ import annotations

from pathlib import Path

import click

from mlrun_music.errors import UserError

from .config import CHUNK_SECONDS, MAX_ANTICIPATION, MAX_JITTER_SECONDS, MAX_SONGS, SONG_SECONDS, TRACKERS
from .config import TRACKER_GAIN as DEFAULT_GAIN
from .config import TRACKER_RATE_GAIN as DEFAULT_RATE_GAIN


@click.group("phase")
def phase_group() -> None:
    """Bar-phase data preparation and inference: generate, render, chop, apply, inspect."""


@phase_group.command("generate")
@click.option("--out-path", required=True, help="Folder for <artist>/<song>.mid files.")
@click.option("--count", default=20, show_default=True, type=click.IntRange(1, MAX_SONGS), help="Number of songs.")
@click.option("--meters", default="2/4,3/4,4/4,5/4,6/8,7/8,12/8", show_default=True,
              help="Comma-separated meters, cycled over the songs.")
@click.option("--song-seconds", default=80.0, show_default=True, type=click.FloatRange(*SONG_SECONDS),
              help="Approximate song length.")
@click.option("--seed", default=0, show_default=True, type=int, help="Random seed (same seed, same songs).")
def generate_cmd(out_path: str, count: int, meters: str, song_seconds: float, seed: int) -> None:
    """Write synthetic multi-track MIDI songs (drums, bass, chords, melody) with known bars."""
    from .data.generate import generate_corpus

    manifest = generate_corpus(out_path, count, seed, [m.strip() for m in meters.split(",") if m.strip()],
                               song_seconds)
    total = sum(s["seconds"] for s in manifest["songs"])
    click.echo(f"wrote {count} songs ({total / 60:.1f} min) to {out_path}")


@phase_group.command("render")
@click.option("--midi-path", default=None, help="Lakh-style tree <artist>/<song>.mid.")
@click.option("--single-file", default=None, help="Render just this MIDI file into --out-path.")
@click.option("--soundfont-path", default=None, help="Folder of .sf2/.sf3 files; songs are spread over them.")
@click.option("--single-soundfont", default=None,
              help="Use this one soundfont (or a timidity patch-set .cfg such as /etc/timidity/freepats.cfg).")
@click.option("--out-path", required=True, help="Output folder (<artist>/<song>/ per song).")
@click.option("--midi-jitter-max-seconds", default=0.0, show_default=True,
              type=click.FloatRange(0.0, MAX_JITTER_SECONDS),
              help="Move each drum note by up to this many seconds (through the tempo map).")
@click.option("--max-processes", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option("--overwrite", is_flag=True, help="Redo songs that are already rendered.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the jitter.")
@click.option("--renderer", default="auto", show_default=True,
              type=click.Choice(["auto", "timidity", "fluidsynth"]),
              help="Synthesizer; auto = timidity for .sf2 and .cfg, fluidsynth for .sf3.")
@click.option("--audio-format", default="ogg", show_default=True, type=click.Choice(["ogg", "flac"]))
def render_cmd(midi_path: str | None, single_file: str | None, soundfont_path: str | None,
               single_soundfont: str | None, out_path: str, midi_jitter_max_seconds: float, max_processes: int,
               overwrite: bool, seed: int, renderer: str, audio_format: str) -> None:
    """Render MIDI to 16 kHz mono audio with events.csv and bars.csv per song (resumable)."""
    from .render import find_soundfonts, render_corpus, summary_line

    fonts = find_soundfonts(soundfont_path, single_soundfont)
    report = render_corpus(out_path=out_path, midi_path=midi_path, single_file=single_file, soundfonts=fonts,
                           renderer=renderer, jitter=midi_jitter_max_seconds, max_processes=max_processes,
                           overwrite=overwrite, seed=seed, audio_format=audio_format)
    click.echo(summary_line(report))
    click.echo(f"report: {Path(out_path) / 'render_report.json'}")
    if report["songs"] and report["skipped"] == report["songs"]:
        raise UserError(f"no song could be rendered (see {Path(out_path) / 'render_report.json'})")


@phase_group.command("chop")
@click.option("--in-path", required=True, help="Rendered songs (from mlrun phase render).")
@click.option("--out-path", required=True, help="Folder for chunks (<song>-<soundfont>-<i>.ogg + .phase).")
@click.option("--max-processes", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of positions and speed factors.")
@click.option("--chunk-seconds", default=32.0, show_default=True, type=click.FloatRange(*CHUNK_SECONDS))
@click.option("--label-extra-seconds", default=1.0, show_default=True, type=click.FloatRange(0.0, MAX_ANTICIPATION),
              help="Labels extend this far past the chunk: the largest anticipation trained with.")
@click.option("--speed-min", default=0.71, show_default=True, type=click.FloatRange(0.1, 10.0),
              help="Smallest random speed factor.")
@click.option("--speed-max", default=1.29, show_default=True, type=click.FloatRange(0.1, 10.0),
              help="Largest random speed factor (set both to 1 for no speed change).")
@click.option("--audio-format", default="ogg", show_default=True, type=click.Choice(["ogg", "flac"]))
def chop_cmd(in_path: str, out_path: str, max_processes: int, seed: int, chunk_seconds: float,
             label_extra_seconds: float, speed_min: float, speed_max: float, audio_format: str) -> None:
    """Cut rendered songs into chunks with 50 fps bar-phase labels."""
    from .data.chop import chop_corpus

    report = chop_corpus(in_path=in_path, out_path=out_path, max_processes=max_processes, seed=seed,
                         chunk_seconds=chunk_seconds, label_extra=label_extra_seconds, speed_min=speed_min,
                         speed_max=speed_max, audio_format=audio_format)
    dropped = ", ".join(f"{k}: {v}" for k, v in report["dropped_chunks"].items()) or "none"
    click.echo(f"wrote {report['chunks']} chunks from {report['songs']} songs to {out_path} "
               f"(dropped: {dropped}; songs skipped: {len(report['skipped_songs'])})")
    if report["chunks"] == 0:
        raise UserError(f"no chunk could be cut from {in_path} (see {Path(out_path) / 'chop_report.json'})")


@phase_group.command("apply")
@click.argument("paths", nargs=-1, required=True, metavar="[CHECKPOINT] AUDIO")
@click.option("--anticipation", default=0.0, show_default=True, type=float, help="Seconds ahead.")
@click.option("--device-type", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
@click.option("--shipped", default=None, metavar="NAME",
              help="Use this shipped model (`mlrun info phase` lists them); without CHECKPOINT the default one.")
@click.option("--onnx-model", default=None, help="Run this exported ONNX model with onnxruntime instead.")
@click.option("--streaming", is_flag=True, help="Feed the audio block by block through the streaming model.")
@click.option("--block-ms", default=20.0, show_default=True, type=click.FloatRange(0.0, 60000.0, min_open=True),
              help="Block size of --streaming.")
@click.option("--stream-backend", default=None, type=click.Choice(["onnxruntime", "numpy"]),
              help="--streaming: run each frame's step with onnxruntime (the default; the step exported to ONNX "
                   "when the stream starts) or the NumPy recurrence (slower; same values).")
@click.option("--warmup-seconds", default=-1.0, show_default=True, type=float,
              help="Refuse audio shorter than this, and list no downbeat before it (-1 = the checkpoint's warmup; "
                   "8 s with --onnx-model).")
@click.option("--output", default=None,
              help="Output file (default: <AUDIO>.phase_prediction, one phase per line); a name ending in .csv "
                   "gets the columns time_seconds,target_seconds,phase (target = time + anticipation).")
@click.option("--downbeats", default=None, metavar="CSV",
              help="Also write the predicted downbeats (the phase's wraps after the warmup, in seconds) as CSV.")
@click.option("--click", "click_out", default=None, metavar="WAV",
              help="Also write AUDIO with a click on every predicted downbeat, as a WAV file.")
@click.option("--tracker", default="none", show_default=True, type=click.Choice(TRACKERS),
              help="Causal tracking after the network: pll = a phase-locked loop that turns the network's phase "
                   "into a steady bar clock with one downbeat per bar (phases, downbeats and clicks are then the "
                   "clock's); none = the network's phase.")
@click.option("--tracker-gain", default=DEFAULT_GAIN, show_default=True, type=float,
              help="--tracker pll: share of the phase error corrected per frame, in (0, 1].")
@click.option("--tracker-rate-gain", default=DEFAULT_RATE_GAIN, show_default=True, type=float,
              help="--tracker pll: share of the phase error added to the bar rate per frame, in [0, 0.1].")
def apply_cmd(paths: tuple[str, ...], anticipation: float, device_type: str, shipped: str | None,
              onnx_model: str | None, streaming: bool, block_ms: float, warmup_seconds: float, output: str | None,
              downbeats: str | None, click_out: str | None, stream_backend: str | None, tracker: str,
              tracker_gain: float, tracker_rate_gain: float) -> None:
    """Predict the bar phase `anticipation` seconds ahead for every 20 ms frame of AUDIO.

    Without CHECKPOINT (and without --onnx-model) the shipped model is used, named on one line.
    """
    from .apply import apply_file

    given = click.get_current_context().get_parameter_source
    if tracker == "none" and any(given(p) == click.core.ParameterSource.COMMANDLINE
                                 for p in ("tracker_gain", "tracker_rate_gain")):
        raise UserError("--tracker-gain and --tracker-rate-gain apply to --tracker pll only")
    if onnx_model:
        if len(paths) != 1:
            raise UserError("with --onnx-model give only AUDIO")
        if shipped:
            raise UserError("give --onnx-model or --shipped, not both")
        checkpoint, audio = None, paths[0]
    elif len(paths) == 1:
        checkpoint, audio = None, paths[0]
    elif len(paths) == 2:
        checkpoint, audio = paths
    else:
        raise UserError("give AUDIO (the shipped model), CHECKPOINT AUDIO, or --onnx-model MODEL AUDIO")
    out = apply_file(checkpoint=checkpoint, audio=audio, anticipation=anticipation, device=device_type,
                     onnx_model=onnx_model, streaming=streaming, block_ms=block_ms, output=output,
                     warmup_seconds=warmup_seconds, shipped=shipped, downbeats=downbeats, click=click_out,
                     stream_backend=stream_backend, tracker=tracker, tracker_gain=tracker_gain,
                     tracker_rate_gain=tracker_rate_gain)
    click.echo(f"wrote {out['frames']} phases to {out['path']}")
    if "downbeats_path" in out:
        click.echo(f"wrote {out['downbeats']} downbeats to {out['downbeats_path']}")
    if "click_path" in out:
        click.echo(f"wrote {out['click_path']} ({out['downbeats']} clicks)")


@phase_group.command("inspect")
@click.argument("checkpoint", required=False)
@click.argument("relative", required=False)
@click.option("--dataset-path", required=True, help="Chunk folder (audio + .phase).")
@click.option("--shipped", default=None, metavar="NAME",
              help="Use this shipped model (`mlrun info phase` lists them); without CHECKPOINT the default one.")
@click.option("--anticipation", default=0.0, show_default=True, type=float)
@click.option("--count", default=4, show_default=True, type=click.IntRange(1, 1000), help="Chunks to plot.")
@click.option("--seed", default=0, show_default=True, type=int, help="Which chunks are picked.")
@click.option("--device-type", default="cpu", show_default=True)
@click.option("--output", default=None,
              help="Folder for the PNGs (default: <run folder>/inspect; runs/phase/shipped-NAME/inspect for a "
                   "shipped model).")
def inspect_cmd(checkpoint: str | None, relative: str | None, dataset_path: str, shipped: str | None,
                anticipation: float, count: int, seed: int, device_type: str, output: str | None) -> None:
    """Plot predicted against true phase for a few chunks (CHECKPOINT, or CHECKPOINTS-DIR RELATIVE as the original project;
    without either, the shipped model)."""
    from .inspect_plots import inspect_chunks

    path = None if checkpoint is None else Path(checkpoint) / relative if relative else Path(checkpoint)
    written = inspect_chunks(path, dataset_path, anticipation, count, seed, device_type, output, shipped=shipped)
    for p in written:
        click.echo(f"wrote {p}")
