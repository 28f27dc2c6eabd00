"""Cutting rendered songs into fixed-length chunks with per-frame bar-phase labels (chop.py of the original project).

Each chunk starts at a random position, gets a random speed factor p (played faster or slower by resampling, the
labels scaled with it) and a peak limiter. Labels: one phase per 20 ms frame for the chunk plus ``label_extra``
seconds, so a target ``a`` seconds ahead exists for every frame. Chunks with any label outside the known bars are
dropped and counted. Deterministic for a given ``--seed``.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json, write_text

from ..config import FPS, HOP, SAMPLE_RATE
from .labels import phase_at, read_bars
from .songs import is_utf8, normalise, printable, run_parallel, song_audio, song_seed, write_audio

INDEX = "chunks.json"
REPORT = "chop_report.json"


@attrs.frozen
class ChopJob:
    song_dir: str
    song_id: str
    out_dir: str
    seed: int
    chunk_seconds: float
    label_extra: float
    speed_min: float
    speed_max: float
    max_gap: float
    audio_format: str


def _speed(rng: np.random.Generator, lo: float, hi: float) -> Fraction:
    """A speed factor as an exact ratio (resample_poly needs integers): p = down / 100."""
    if hi <= lo:
        return Fraction(int(round(lo * 100)), 100)
    return Fraction(int(round(rng.uniform(lo, hi) * 100)), 100)


def chop_song(job: ChopJob) -> dict[str, Any]:
    """Chop one song; returns its chunk records and drop counts. Bad songs are reported, never raised."""
    try:
        return _chop_song(job)
    except UserError:
        raise
    except Exception as exc:  # noqa: BLE001 - one odd song must not stop a corpus
        return {"song": job.song_id, "chunks": [], "dropped": {},
                "skipped": f"unexpected error ({type(exc).__name__}: {str(exc)[:120]})"}


def _chop_song(job: ChopJob) -> dict[str, Any]:
    import soundfile as sf
    from scipy.signal import resample_poly

    song_dir = Path(job.song_dir)
    result: dict[str, Any] = {"song": job.song_id, "chunks": [], "dropped": {}, "skipped": None}
    audio_path = song_audio(song_dir)
    if audio_path is None:
        result["skipped"] = "no audio file"
        return result
    try:
        bars = read_bars(song_dir / "bars.csv")
        audio, rate = sf.read(str(audio_path), dtype="float32", always_2d=True)
    except UserError as exc:
        result["skipped"] = f"bad bars.csv ({exc})"
        return result
    except Exception as exc:  # soundfile's errors
        result["skipped"] = f"unreadable audio ({str(exc).splitlines()[0][:100]})"
        return result
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE:
        from mlrun_music.audio import resample

        audio = resample(audio, rate, SAMPLE_RATE)
    soundfont = audio_path.stem
    rng = np.random.default_rng(job.seed)
    n_out = int(round(job.chunk_seconds * SAMPLE_RATE))
    n_labels = int(round((job.chunk_seconds + job.label_extra) * FPS))
    duration = len(audio) / SAMPLE_RATE
    t = float(rng.uniform(0, job.max_gap))
    index = 0
    if duration < job.chunk_seconds * job.speed_min:
        result["skipped"] = "shorter than one chunk"
        return result
    while True:
        p = _speed(rng, job.speed_min, job.speed_max)
        pf = float(p)
        start = int(round(t * SAMPLE_RATE))
        need = int(np.ceil(n_out * pf)) + 64  # filter margin
        if start + need > len(audio):
            break
        times = t + np.arange(n_labels) * (HOP / SAMPLE_RATE) * pf
        labels = phase_at(times, bars)
        if np.isnan(labels).any():
            result["dropped"]["outside known bars"] = result["dropped"].get("outside known bars", 0) + 1
        else:
            segment = audio[start:start + need].astype(np.float64)
            # Playing p times faster: take n_out * p input samples and resample them to n_out.
            out = resample_poly(segment, p.denominator, p.numerator)[:n_out]
            if len(out) < n_out:
                break
            if float(np.max(np.abs(out))) < 1e-5:
                result["dropped"]["silent"] = result["dropped"].get("silent", 0) + 1
            else:
                name = f"{job.song_id}-{soundfont}-{index}"
                out_dir = Path(job.out_dir)
                write_audio(out_dir / f"{name}.{job.audio_format}", normalise(out.astype(np.float32), -20.0))
                write_text(out_dir / f"{name}.phase", "".join(f"{v:.6f}\n" for v in labels))
                result["chunks"].append({"name": name, "song": job.song_id, "soundfont": soundfont,
                                         "speed": pf, "start_seconds": round(t, 4),
                                         "audio": f"{name}.{job.audio_format}"})
                index += 1
        t += (n_out / SAMPLE_RATE) * pf + float(rng.uniform(0, job.max_gap))
    return result


def find_songs(in_path: Path) -> list[Path]:
    """Folders holding a ``bars.csv`` under ``in_path`` (any depth), sorted."""
    if not in_path.is_dir():
        raise UserError(f"--in-path: {in_path} is not a folder")
    songs = sorted(p.parent for p in in_path.rglob("bars.csv"))
    if not songs:
        raise UserError(f"--in-path: no rendered songs (folders with bars.csv) under {in_path}")
    return songs


def chop_corpus(*, in_path: str | Path, out_path: str | Path, max_processes: int = 1, seed: int = 0,
                chunk_seconds: float = 32.0, label_extra: float = 1.0, speed_min: float = 0.71,
                speed_max: float = 1.29, max_gap: float = 4.0, audio_format: str = "ogg",
                progress: bool = True) -> dict[str, Any]:
    """Chop every rendered song under ``in_path`` into ``out_path``; writes chunks.json and chop_report.json."""
    if chunk_seconds <= 0 or label_extra < 0:
        raise UserError("--chunk-seconds must be > 0 and --label-extra-seconds >= 0")
    if not (0.1 <= speed_min <= speed_max <= 10):
        raise UserError(f"--speed-min/--speed-max must satisfy 0.1 <= min <= max <= 10, got {speed_min}, {speed_max}")
    if audio_format not in ("ogg", "flac"):
        raise UserError("--audio-format must be ogg or flac")
    root = Path(in_path)
    out = Path(out_path)
    songs = find_songs(root)
    jobs = []
    unnamed = {}
    for song in songs:
        rel = song.relative_to(root).as_posix()
        if not is_utf8(rel):  # its name could not be written into chunks.json and the chunk file names
            unnamed[printable(rel)] = "folder name not UTF-8"
            continue
        song_id = rel.replace("/", "-") if rel != "." else song.name
        jobs.append(ChopJob(str(song), song_id, str(out), song_seed(seed, rel), chunk_seconds, label_extra,
                            speed_min, speed_max, max_gap, audio_format))
    results = run_parallel(chop_song, jobs, max_processes, progress and sys.stderr.isatty(), "chop")
    chunks, dropped, skipped = [], {}, dict(unnamed)
    for r in results:
        chunks.extend(r["chunks"])
        for k, v in r["dropped"].items():
            dropped[k] = dropped.get(k, 0) + v
        if r["skipped"]:
            skipped[r["song"]] = r["skipped"]
    chunks.sort(key=lambda c: c["name"])
    params = {"seed": seed, "chunk_seconds": chunk_seconds, "label_extra_seconds": label_extra,
              "speed_min": speed_min, "speed_max": speed_max, "sample_rate": SAMPLE_RATE, "fps": FPS}
    write_json(out / INDEX, {"params": params, "chunks": chunks})
    report = {"songs": len(songs), "chunks": len(chunks), "dropped_chunks": dropped, "skipped_songs": skipped,
              "params": params}
    write_json(out / REPORT, report)
    return report
