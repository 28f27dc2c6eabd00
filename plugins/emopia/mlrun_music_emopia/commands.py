"""`mlrun emopia ...` commands (torch-free module: heavy imports happen inside the commands)."""

from __future__ import annotations

import click

from mlrun_music.audio.render import RENDER_HELP, render_beside
from mlrun_music.errors import UserError

from .emotions import ALIASES
from .keys import KEY_HELP


@click.group("emopia")
def group() -> None:
    """Emotion-conditioned piano generation (EMOPIA)."""


@group.command("generate")
@click.argument("checkpoint", required=False)
@click.option("--emotion", required=True, help="happy/joy/Q1, tense/anger/Q2, sad/sadness/Q3, calm/Q4.")
@click.option("--duration", type=float, default=None, help="Seconds per piece (2 to 600; default 30).")
@click.option("--bars", type=int, default=None, help="Instead of --duration: bars of 4/4 per piece (1 to 256).")
@click.option("--key", default=None, help=KEY_HELP)
@click.option("--tempo", type=float, default=None,
              help="Tempo in bpm (30 to 300), written into the MIDI file (default: the model's tempo tokens).")
@click.option("--steer/--no-steer", default=False, show_default=True,
              help="Steer sampling toward the emotion's proxy cues: its mode (major Q1/Q4, minor Q2/Q3, on a tonic "
                   "drawn from --seed unless --key) and its onset density: clearer emotion, less like the real "
                   "pieces. Without it the model alone (with --guidance) writes the piece.")
@click.option("--fill-beats/--no-fill-beats", default=True, show_default=True,
              help="Refuse a bar or position that would leave a whole beat with no note sounding (real clips "
                   "of the training data leave 0.4 % of beats silent; the guided model leaves more).")
@click.option("--guidance", type=float, default=None,
              help="Classifier-free guidance for models trained with --emotion-dropout: 1 samples the model as "
                   "trained, larger values strengthen its learnt emotion response (default: 6 for such models, "
                   "1 otherwise).")
@click.option("--num-samples", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--temperature", type=float, default=1.0, show_default=True)
@click.option("--top-k", type=click.IntRange(0, 100000), default=0, show_default=True,
              help="Sample among the k most likely allowed tokens (0 = no limit).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", "out_dir", default=None, help="Output folder (default: <run folder>/generated).")
@click.option("--device", default="cpu", show_default=True)
@click.option("--no-cache", is_flag=True, help="Recompute the whole context per token (slow; for comparison).")
@click.option("--shipped", default=None, metavar="NAME", help="Use this shipped model instead of the default one.")
@click.option("--render", is_flag=True, help=RENDER_HELP)
def generate_cmd(checkpoint: str | None, emotion: str, duration: float | None, bars: int | None, key: str | None,
                 tempo: float | None, steer: bool, fill_beats: bool, guidance: float | None, num_samples: int,
                 temperature: float, top_k: int, seed: int, out_dir: str | None, device: str, no_cache: bool,
                 shipped: str | None, render: bool) -> None:
    """Generate MIDI pieces of an emotion lasting --duration seconds (or --bars bars) from a trained CHECKPOINT
    (default: the shipped model), optionally in a --key and at a --tempo."""
    from .emotions import parse_emotion
    from .generate import check_bars, check_duration, check_tempo
    from .keys import parse_key

    # Cheap checks first: a wrong option should not wait for torch and the checkpoint.
    if ALIASES.get(emotion.strip().lower()) is None:
        parse_emotion(emotion)  # raises: unknown, or an emotion no EMOPIA data has
    if bars is not None and duration is not None:
        raise UserError("--bars and --duration both set the length: give one")
    if duration is not None:
        check_duration(duration)
    parsed_key = parse_key(key) if key is not None else None
    if tempo is not None:
        check_tempo(tempo)
    if bars is not None:
        check_bars(bars, tempo)
    if not temperature > 0:
        raise UserError(f"--temperature must be > 0, got {temperature:g}")
    from .generate import run

    written = []
    for line in run(checkpoint, emotion, duration, num_samples, temperature, top_k, seed, out_dir, device,
                    not no_cache, shipped, written, key=parsed_key, tempo=tempo, bars=bars, steer=steer,
                    guidance=guidance, fill_beats=fill_beats):
        click.echo(line)
    if render:
        render_beside(written, click.echo)
