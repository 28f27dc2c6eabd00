"""Rendered-song folders and the corpus loop that render and chop share.

A rendered song is a folder ``<artist>/<song>/`` holding ``events.csv``, ``bars.csv``, one audio file and
``render.json``, written last as the mark of a finished song.
"""

from __future__ import annotations

import hashlib
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.fileio import atomic_path

from ..config import SAMPLE_RATE

DONE_MARKER = "render.json"


def song_seed(seed: int, key: str) -> int:
    """A per-song seed from the run seed and the song's relative path: independent of order and processes."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def normalise(audio: np.ndarray, target_rms_db: float = -20.0) -> np.ndarray:
    """Loudness-normalise to an RMS level, then limit peaks to -0.1 dBFS (gain, no clipping)."""
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2)))
    if rms > 0:
        audio = audio * (10 ** (target_rms_db / 20) / rms)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0.989:
        audio = audio * (0.989 / peak)
    return audio.astype(np.float32)


#: Samples handed to libsndfile per write call: its Vorbis encoder crashes (stack overflow) when one call holds
#: minutes of audio.
WRITE_BLOCK = 1 << 16


def write_audio(path: Path, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> None:
    """Atomically write mono audio; the format follows the suffix (.ogg = Vorbis, .flac, .wav)."""
    import soundfile as sf

    fmt = {".ogg": ("OGG", "VORBIS"), ".flac": ("FLAC", "PCM_16"), ".wav": ("WAV", "PCM_16")}[path.suffix.lower()]
    with atomic_path(path, suffix=path.suffix) as tmp:
        with sf.SoundFile(str(tmp), "w", sample_rate, 1, format=fmt[0], subtype=fmt[1]) as out:
            for i in range(0, len(audio), WRITE_BLOCK):
                out.write(audio[i:i + WRITE_BLOCK])


def is_utf8(name: str) -> bool:
    """Whether a file name (as Python decodes it from the file system) is valid UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: Path | str) -> str:
    """A path as text that can be printed and written to JSON (undecodable bytes as \\xNN)."""
    return str(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def song_audio(song_dir: Path) -> Path | None:
    """The audio file of a rendered song folder (the one its render.json names, else the first .ogg/.flac/.wav)."""
    marker = song_dir / DONE_MARKER
    if marker.is_file():
        try:
            name = json.loads(marker.read_text(encoding="utf-8")).get("audio")
        except (OSError, ValueError):
            name = None
        if name and (song_dir / name).is_file():
            return song_dir / name
    for ext in (".ogg", ".flac", ".wav"):
        found = sorted(song_dir.glob(f"*{ext}"))
        if found:
            return found[0]
    return None


def run_parallel(fn: Any, jobs: list[Any], max_processes: int, progress: bool, desc: str) -> list[Any]:
    """``fn`` over ``jobs`` in up to ``max_processes`` processes, with a progress bar on a terminal."""
    from tqdm import tqdm

    show = progress and sys.stderr.isatty()
    bar = tqdm(total=len(jobs), desc=desc, unit="song", disable=not show, leave=False)
    results = []
    try:
        if max_processes <= 1 or len(jobs) <= 1:
            for job in jobs:
                results.append(fn(job))
                bar.update(1)
        else:
            workers = min(max_processes, len(jobs))
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for r in pool.map(fn, jobs, chunksize=1):
                    results.append(r)
                    bar.update(1)
    finally:
        bar.close()
    return results
