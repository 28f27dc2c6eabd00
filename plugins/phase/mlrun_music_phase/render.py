"""Rendering a MIDI corpus to audio with bar and drum-event labels (render_midi.py of the original project).

Per song: ``<out>/<artist>/<song>/{events.csv, bars.csv, <soundfont>.ogg|flac, render.json}``; ``render.json`` is
written last and marks the song finished, so a re-run skips it (``--overwrite`` redoes it). Skipped songs are
counted by reason in ``<out>/render_report.json``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json, write_text

from .config import SAMPLE_RATE
from .data.midi_analysis import SkipSong, jitter_drums, read_song
from .data.songs import DONE_MARKER, is_utf8, normalise, printable, run_parallel, song_seed, write_audio

REPORT = "render_report.json"
AUDIO_FORMATS = ("ogg", "flac")


@attrs.frozen
class RenderJob:
    midi: str
    out_dir: str
    soundfont: str
    renderer: str
    jitter: float
    seed: int
    audio_format: str
    overwrite: bool


def pick_renderer(renderer: str, soundfont: Path) -> str:
    """``auto`` = timidity for .sf2 and patch sets (.cfg), fluidsynth for .sf3 (timidity cannot decode compressed
    SF3 samples); an explicit renderer that cannot play the soundfont is refused before any song is rendered."""
    from mlrun_music.audio.render import check_pairing

    if renderer == "auto":
        return "fluidsynth" if soundfont.suffix.lower() == ".sf3" else "timidity"
    check_pairing(renderer, soundfont)
    return renderer


def render_song(job: RenderJob) -> dict[str, Any]:
    """Render one song; returns ``{"status": "done"|"skipped"|"exists", ...}``. Never raises for bad input."""
    try:
        return _render_song(job)
    except UserError:
        raise  # a problem with the whole run (renderer or soundfont missing): stop with its message
    except Exception as exc:  # noqa: BLE001 - one odd file must not stop a corpus: count it and go on
        return {"status": "skipped", "midi": job.midi, "reason": "unexpected error",
                "detail": f"{type(exc).__name__}: {str(exc)[:150]}"}


def _render_song(job: RenderJob) -> dict[str, Any]:
    from mlrun_music.audio.render import RenderError, render_midi

    out_dir = Path(job.out_dir)
    if (out_dir / DONE_MARKER).is_file() and not job.overwrite:
        return {"status": "exists", "midi": job.midi}
    rng = np.random.default_rng(job.seed)
    try:
        song = read_song(job.midi)
        bars = song.bar_seconds()
        if len(bars) < 3:
            raise SkipSong("too few bars", f"{len(bars)} bar bounds after the first drum note")
        jitter_drums(song, job.jitter, rng)
        soundfont = Path(job.soundfont)
        with tempfile.TemporaryDirectory(prefix="mlrun-phase-") as tmp:
            midi_path = Path(tmp) / "song.mid"
            song.midi.save(str(midi_path))
            start = time.perf_counter()
            try:
                audio = render_midi(midi_path, soundfont, SAMPLE_RATE, job.renderer)
            except RenderError as exc:
                raise SkipSong("renderer failure", str(exc).split(": ", 1)[-1][:200]) from None
            render_s = time.perf_counter() - start
        if audio.size == 0 or float(np.max(np.abs(audio))) < 1e-5:
            raise SkipSong("renderer failure", "the rendered audio is silent")
    except SkipSong as skip:
        return {"status": "skipped", "midi": job.midi, "reason": skip.reason, "detail": skip.detail}
    audio = normalise(audio)
    name = f"{soundfont.stem}.{job.audio_format}"
    write_audio(out_dir / name, audio)
    tm = song.tempo_map
    events = "".join(f"{tm.to_seconds(e.tick):.6f},{e.note},{e.volume:.6f}\n" for e in song.drums)
    write_text(out_dir / "events.csv", events)
    write_text(out_dir / "bars.csv", "".join(f"{b:.6f}\n" for b in bars))
    seconds = len(audio) / SAMPLE_RATE
    info = {"midi": job.midi, "audio": name, "soundfont": str(soundfont), "renderer": job.renderer,
            "sample_rate": SAMPLE_RATE, "seconds": seconds, "render_seconds": render_s,
            "jitter_max_seconds": job.jitter, "seed": job.seed, "meters": song.meters,
            "bars": len(bars) - 1, "drum_events": len(song.drums)}
    write_json(out_dir / DONE_MARKER, info)
    return {"status": "done", **info}


def _not_utf8(path: Path) -> dict[str, Any]:
    return {"status": "skipped", "midi": printable(path), "reason": "file name not UTF-8",
            "detail": "the name holds bytes that are not UTF-8; rename the file to render it"}


def find_midi(midi_path: Path) -> list[Path]:
    """MIDI files of a Lakh-style tree (any depth), sorted."""
    if not midi_path.is_dir():
        raise UserError(f"--midi-path: {midi_path} is not a folder")
    files = sorted(p for p in midi_path.rglob("*") if p.is_file() and p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise UserError(f"--midi-path: no .mid files under {midi_path}")
    return files


def find_soundfonts(soundfont_path: str | None, single_soundfont: str | None) -> list[Path]:
    """The soundfonts to spread songs over, each checked to be a real SoundFont."""
    from mlrun_music.audio.render import DEFAULT_SOUNDFONT, check_soundfont

    if soundfont_path and single_soundfont:
        raise UserError("give either --soundfont-path or --single-soundfont, not both")
    if single_soundfont:
        return [check_soundfont(single_soundfont)]
    if soundfont_path:
        folder = Path(soundfont_path)
        if not folder.is_dir():
            raise UserError(f"--soundfont-path: {folder} is not a folder")
        fonts = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".sf2", ".sf3"))
        if not fonts:
            raise UserError(f"--soundfont-path: no .sf2/.sf3 files in {folder}")
        return [check_soundfont(p) for p in fonts]
    return [check_soundfont(DEFAULT_SOUNDFONT)]


def render_corpus(*, out_path: str | Path, midi_path: str | Path | None = None, single_file: str | Path | None = None,
                  soundfonts: list[Path], renderer: str = "auto", jitter: float = 0.0, max_processes: int = 1,
                  overwrite: bool = False, seed: int = 0, audio_format: str = "ogg",
                  progress: bool = True, log: Any = None) -> dict[str, Any]:
    """Render a tree (``midi_path``) or one file (``single_file``, written into ``out_path`` itself)."""
    from mlrun_music.audio.render import check_renderer

    if audio_format not in AUDIO_FORMATS:
        raise UserError(f"--audio-format must be one of {', '.join(AUDIO_FORMATS)}")
    if jitter < 0:
        raise UserError("--midi-jitter-max-seconds must be >= 0")
    if (midi_path is None) == (single_file is None):
        raise UserError("give exactly one of --midi-path or --single-file")
    out = Path(out_path)
    renderers = [pick_renderer(renderer, sf) for sf in soundfonts]
    for r in sorted(set(renderers)):
        check_renderer(r)
    jobs = []
    # Files named with bytes that are not UTF-8 are counted as skipped, not rendered: their names could not be
    # written into the reports and labels that name every song.
    unnamed: list[dict[str, Any]] = []
    if single_file is not None:
        f = Path(single_file)
        if not f.is_file():
            raise UserError(f"--single-file: {printable(f)} does not exist")
        if is_utf8(f.name):
            jobs.append(RenderJob(str(f), str(out), str(soundfonts[0]), renderers[0], jitter,
                                  song_seed(seed, f.name), audio_format, overwrite))
        else:
            unnamed.append(_not_utf8(f))
    else:
        root = Path(midi_path)  # type: ignore[arg-type]
        for i, f in enumerate(find_midi(root)):
            rel = f.relative_to(root).with_suffix("")
            if not is_utf8(rel.as_posix()):
                unnamed.append(_not_utf8(f))
                continue
            k = i % len(soundfonts)
            jobs.append(RenderJob(str(f), str(out / rel), str(soundfonts[k]), renderers[k], jitter,
                                  song_seed(seed, rel.as_posix()), audio_format, overwrite))
    report_dir = out
    results = unnamed + run_parallel(render_song, jobs, max_processes, progress, "render")
    counts = {"done": 0, "exists": 0, "skipped": 0}
    reasons: dict[str, int] = {}
    skipped = []
    audio_s = render_s = 0.0
    for r in results:
        counts[r["status"]] += 1
        if r["status"] == "skipped":
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
            skipped.append({"midi": r["midi"], "reason": r["reason"], "detail": r.get("detail", "")})
        elif r["status"] == "done":
            audio_s += r["seconds"]
            render_s += r["render_seconds"]
    total = len(results)
    report = {"songs": total, "rendered": counts["done"], "already_done": counts["exists"],
              "skipped": counts["skipped"], "skipped_ratio": counts["skipped"] / total if total else 0.0,
              "skipped_by_reason": dict(sorted(reasons.items())), "skipped_files": skipped,
              "audio_seconds": audio_s, "renderer_seconds": render_s,
              "audio_seconds_per_renderer_second": audio_s / render_s if render_s else None}
    write_json(report_dir / REPORT, report)
    return report


def summary_line(report: dict[str, Any]) -> str:
    """The closing one-line summary of a render run."""
    reasons = ", ".join(f"{k}: {v}" for k, v in report["skipped_by_reason"].items()) or "none"
    return (f"rendered {report['rendered']}, already done {report['already_done']}, skipped {report['skipped']} of "
            f"{report['songs']} songs (skipped ratio {report['skipped_ratio']:.1%}; reasons: {reasons})")
