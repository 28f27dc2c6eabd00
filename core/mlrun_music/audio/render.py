"""Rendering MIDI to audio with a real synthesizer (timidity or fluidsynth) run as a subprocess (no shell).

timidity is started with ``-c`` pointing at a tiny config of our own that names only the soundfont. timidity still
reads Debian's /etc/timidity/timidity.cfg first, which sources fluidr3_gm.cfg (shipped only with the 145 MB
fluid-soundfont-gm); when that file is missing every call sleeps 1 s. ``scripts/setup.sh`` creates it empty (as
root); otherwise :func:`timidity_stall` names the file and we warn once.
Both renderers write WAV; we read it back with soundfile, mix to mono and resample, so callers choose the format.

Besides SoundFonts, timidity plays GUS patch sets described by a timidity config (``.cfg``, e.g. Debian's freepats at
/etc/timidity/freepats.cfg): a third family of timbres for training data. Such a config goes wherever a soundfont
path does, with the timidity renderer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UserError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
RENDERERS = ("timidity", "fluidsynth")
_INSTALL = {
    "timidity": "apt-get install -y --no-install-recommends timidity timgm6mb-soundfont",
    "fluidsynth": "apt-get install -y --no-install-recommends fluidsynth timgm6mb-soundfont",
}


_warned = False


def timidity_stall() -> Path | None:
    """The missing file that makes Debian's timidity sleep 1 s per call, or None when there is none."""
    cfg = Path("/etc/timidity/timidity.cfg")
    try:
        lines = cfg.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) == 2 and parts[0] == "source" and not Path(parts[1]).exists():
            return Path(parts[1])
    return None


class RenderError(UserError):
    """A MIDI file the renderer could not turn into audio (the message names the file)."""


def check_renderer(renderer: str) -> str:
    """Path of the renderer program, or a UserError naming the package to install."""
    if renderer not in RENDERERS:
        raise UserError(f"--renderer must be one of {', '.join(RENDERERS)}, got '{renderer}'")
    exe = shutil.which(renderer)
    if exe is None:
        raise UserError(f"{renderer} is not installed; install it with: {_INSTALL[renderer]}")
    return exe


#: Directives that make a text file a timidity instrument config (patch set) rather than something else.
_TIMIDITY_DIRECTIVES = ("dir", "bank", "drumset", "soundfont", "source")


def is_patch_set(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a timidity patch-set config (``.cfg``) rather than a SoundFont."""
    return Path(path).suffix.lower() == ".cfg"


def check_soundfont(path: str | os.PathLike[str]) -> Path:
    """A readable SoundFont 2/3 file (RIFF sfbk) or timidity patch-set config, or a UserError naming it."""
    path = Path(path)
    if not path.is_file():
        hint = f" (install one with: {_INSTALL['timidity']})" if path == DEFAULT_SOUNDFONT else ""
        raise UserError(f"soundfont {path} does not exist{hint}")
    if is_patch_set(path):
        try:
            words = {line.split()[0] for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
                     if line.split() and not line.lstrip().startswith("#")}
        except OSError as exc:
            raise UserError(f"soundfont {path}: cannot read it ({exc.strerror})") from None
        if not words & set(_TIMIDITY_DIRECTIVES):
            raise UserError(f"soundfont {path} is not a timidity patch-set config (no dir/bank/drumset/soundfont "
                            f"line)")
        return path
    with open(path, "rb") as fh:
        head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise UserError(f"soundfont {path} is not a SoundFont (.sf2/.sf3) file")
    return path


def check_pairing(renderer: str, soundfont: str | os.PathLike[str]) -> None:
    """A UserError when ``renderer`` cannot play ``soundfont``: timidity and SF3, fluidsynth and a patch set."""
    path = Path(soundfont)
    if renderer == "timidity" and path.suffix.lower() == ".sf3":
        # timidity cannot decode SF3's Ogg-compressed samples yet exits 0 with noise: refuse instead.
        raise UserError(f"soundfont {path} is SF3 (compressed), which timidity cannot play; use --renderer fluidsynth")
    if renderer != "timidity" and is_patch_set(path):
        raise UserError(f"{path} is a timidity patch-set config, which only timidity plays; use --renderer timidity")


def render_midi(midi_path: str | os.PathLike[str], soundfont: str | os.PathLike[str], sample_rate: int = 16000,
                renderer: str = "timidity", timeout: float = 600.0) -> np.ndarray:
    """Render ``midi_path`` with ``soundfont``; returns float32 mono audio at ``sample_rate``."""
    import soundfile as sf

    from .io import resample

    exe = check_renderer(renderer)
    sf_path = check_soundfont(soundfont).resolve()
    check_pairing(renderer, sf_path)
    midi_path = Path(midi_path).resolve()
    with tempfile.TemporaryDirectory(prefix="mlrun-render-") as tmp:
        wav = Path(tmp) / "out.wav"
        if renderer == "timidity":
            _warn_stall()
            cfg = sf_path
            if not is_patch_set(sf_path):
                cfg = Path(tmp) / "timidity.cfg"
                cfg.write_text(f'soundfont "{sf_path}"\n', encoding="utf-8")
            cmd = [exe, "-c", str(cfg), "-s", str(sample_rate), "-OwM", "--preserve-silence", "-o", str(wav),
                   str(midi_path)]
        else:
            cmd = [exe, "-ni", "-g", "0.8", "-r", str(sample_rate), "-F", str(wav), str(sf_path), str(midi_path)]
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RenderError(f"{midi_path}: {renderer} took longer than {timeout:g} s") from None
        if proc.returncode != 0 or not wav.is_file() or wav.stat().st_size <= 44:
            tail = proc.stdout.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
            raise RenderError(f"{midi_path}: {renderer} failed (exit {proc.returncode}: {tail[0][:200]})")
        audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    return resample(audio.mean(axis=1), rate, sample_rate)


def _warn_stall() -> None:
    global _warned
    missing = timidity_stall()
    if missing is not None and not _warned:
        _warned = True
        import logging

        logging.getLogger("mlrun_music").warning(
            "timidity sleeps 1 s per file because %s is missing; fix: sudo touch %s (or use --renderer fluidsynth)",
            missing, missing)


#: Longest MIDI file `render` accepts, in seconds of music (bounded work for a hostile file).
MAX_RENDER_SECONDS = 4 * 3600.0
#: RMS below which rendered audio counts as silence (about -80 dBFS).
SILENCE_RMS = 1e-4


def midi_summary(path: str | os.PathLike[str]) -> tuple[float, int]:
    """Length in seconds and number of sounding notes of a MIDI file, or a one-line UserError naming it."""
    from ..midi import read_midi

    mid = read_midi(path, smpte=True)  # timidity and fluidsynth play SMPTE-timed files
    try:
        length = float(mid.length)
    except Exception as exc:  # noqa: BLE001 - mido raises many types on malformed files
        raise UserError(f"{path} is not a readable MIDI file ({type(exc).__name__}: {str(exc)[:80]})") from None
    notes = sum(1 for track in mid.tracks for msg in track if msg.type == "note_on" and msg.velocity > 0)
    return length, notes


def renderer_for(soundfont: str | os.PathLike[str], renderer: str = "auto") -> str:
    """``auto``: timidity for patch sets and SF2, fluidsynth for SF3 (which timidity cannot decode)."""
    if renderer != "auto":
        return renderer
    return "fluidsynth" if Path(soundfont).suffix.lower() == ".sf3" else "timidity"


def render_file(midi_path: str | os.PathLike[str], out_path: str | os.PathLike[str] | None = None,
                soundfont: str | os.PathLike[str] = DEFAULT_SOUNDFONT, renderer: str = "auto",
                sample_rate: int = 44100) -> dict[str, float | str]:
    """Render a MIDI file to an audio file (WAV unless ``out_path`` says FLAC or OGG), atomically.

    One-line UserErrors, with nothing written: not a MIDI file, no notes, longer than :data:`MAX_RENDER_SECONDS`,
    a missing soundfont or renderer, output equal to the input, or audio that came out silent.
    """
    import numpy as np
    import soundfile as sf

    from ..fileio import atomic_path

    midi_path = Path(midi_path)
    out = Path(out_path) if out_path else midi_path.with_suffix(".wav")
    length, notes = midi_summary(midi_path)
    if notes == 0:
        raise UserError(f"{midi_path} holds no notes; nothing to render")
    if length > MAX_RENDER_SECONDS:
        raise UserError(f"{midi_path} lasts {length / 3600:.1f} h; render takes at most "
                        f"{MAX_RENDER_SECONDS / 3600:.0f} h")
    if out.resolve() == midi_path.resolve():
        raise UserError(f"--output {out} is the MIDI file itself; choose another file")
    if out.is_dir():
        raise UserError(f"--output {out} is a folder; name a file")
    if out.suffix.lower() not in (".wav", ".flac", ".ogg"):
        raise UserError(f"--output {out}: use a .wav, .flac or .ogg file name")
    check_soundfont(soundfont)
    audio = render_midi(midi_path, soundfont, sample_rate=sample_rate, renderer=renderer_for(soundfont, renderer))
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if rms < SILENCE_RMS:
        raise RenderError(f"{midi_path}: the rendered audio is silent (RMS {rms:.1e}); does {soundfont} hold the "
                          f"instruments this file uses?")
    audio = trim_tail(audio, sample_rate, length)
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:  # synthesizers can clip on dense files; scale rather than wrap
        audio = audio / peak
    with atomic_path(out, suffix=out.suffix) as tmp:
        sf.write(str(tmp), audio, sample_rate, subtype="PCM_16" if out.suffix.lower() != ".ogg" else None)
    return {"path": str(out), "seconds": len(audio) / sample_rate, "midi_seconds": length, "rms": rms}


#: Release kept after the MIDI's last event, in seconds (synthesizers ring on for a second or two).
RELEASE_SECONDS = 0.5


def trim_tail(audio: np.ndarray, sample_rate: int, midi_seconds: float) -> np.ndarray:
    """Cut the renderer's ringing tail to :data:`RELEASE_SECONDS` after the music ends, with a 20 ms fade."""
    import numpy as np
    end = int((midi_seconds + RELEASE_SECONDS) * sample_rate)
    if len(audio) <= end:
        return audio
    audio = audio[:end].copy()
    fade = min(len(audio), int(0.02 * sample_rate))
    audio[len(audio) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=audio.dtype)
    return audio


#: Help of the ``--render`` flag every command that writes MIDI offers.
RENDER_HELP = "Also render each MIDI file written to a WAV beside it (mlrun render's default soundfont)."


def render_beside(midi_paths: list[Path], echo: Any = print) -> list[Path]:
    """Render each written MIDI file to ``<file>.wav`` (for ``--render``), saying where each went."""
    written = []
    for midi in midi_paths:
        result = render_file(midi)
        echo(f"rendered {result['path']} ({result['seconds']:.1f} s)")
        written.append(Path(str(result["path"])))
    return written
