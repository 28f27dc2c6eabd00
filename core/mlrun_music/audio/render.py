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

import numpy as np

from ..errors import UserError

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
