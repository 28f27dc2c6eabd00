"""DEAM: audio clips plus a valence/arousal annotations CSV -> (128 mel bands, 64-d emotion target).

Layout: ``deam/audio/<id>.wav|mp3|flac|ogg`` and the CSV at the first of the accepted places. Columns: the file
(``filename``, or ``song_id`` whose extension may be missing), ``valence`` and ``arousal`` (DEAM's own spellings
``valence_mean``/``arousal_mean`` and stray spaces accepted, case-insensitive). Values on DEAM's 1..9 scale are
mapped to [-1, 1] with (v - 5) / 4; a file whose values all lie in [-1, 1] is used as is.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from mlrun_music.errors import UserError

from .common import Pairs, SkipReport, emotion_embedding

ANNOTATION_PLACES = ("annotations/annotations.csv", "annotations.csv", "DEAM_annotations/annotations.csv",
                     "labels.csv")
AUDIO_EXTENSIONS = (".wav", ".mp3", ".flac", ".ogg")
FILE_COLUMNS = ("filename", "file", "song_id")
VALENCE_COLUMNS = ("valence", "valence_mean")
AROUSAL_COLUMNS = ("arousal", "arousal_mean")


def find_annotations(root: Path, explicit: str = "") -> Path | None:
    """The annotations CSV: ``explicit`` (relative to ``root``) or the first accepted place that exists."""
    if explicit:
        path = root / explicit
        if not path.is_file():
            raise UserError(f"DEAM annotations file {path} does not exist")
        return path
    for rel in ANNOTATION_PLACES:
        if (root / rel).is_file():
            return root / rel
    return None


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    norm = [h.strip().lower() for h in header]
    for name in names:
        if name in norm:
            return norm.index(name)
    return None


def read_annotations(path: Path, report: SkipReport) -> list[tuple[str, float, float]]:
    """``(file name or id, valence, arousal)`` rows in [-1, 1]; bad rows are skipped and counted."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot read the annotations CSV ({exc})") from None
    if not rows:
        raise UserError(f"{path}: the annotations CSV is empty")
    header = rows[0]
    cols = {"file": _column(header, FILE_COLUMNS), "valence": _column(header, VALENCE_COLUMNS),
            "arousal": _column(header, AROUSAL_COLUMNS)}
    missing = [f"{k} ({'/'.join(n)})" for k, n in
               (("file", FILE_COLUMNS), ("valence", VALENCE_COLUMNS), ("arousal", AROUSAL_COLUMNS))
               if cols[k] is None]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)}; header is {', '.join(h.strip() for h in header)}")
    parsed: list[tuple[str, float, float]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        try:
            name = row[cols["file"]].strip()
            values = (float(row[cols["valence"]]), float(row[cols["arousal"]]))
        except IndexError:
            report.skip("rows with too few columns", f"{path.name}:{line_no}")
            continue
        except ValueError:
            report.skip("rows with non-numeric valence/arousal", f"{path.name}:{line_no}")
            continue
        if not name or not all(math.isfinite(v) for v in values):
            report.skip("rows with an empty file name or non-finite values", f"{path.name}:{line_no}")
            continue
        parsed.append((name, *values))
    if parsed and max(max(abs(v), abs(a)) for _, v, a in parsed) > 1.0:
        report.notes["scale"] = "1..9 mapped to [-1, 1] with (v - 5) / 4"
        scaled = []
        for name, v, a in parsed:
            if not (1.0 <= v <= 9.0 and 1.0 <= a <= 9.0):
                report.skip("rows with values outside DEAM's 1..9 scale", name)
                continue
            scaled.append((name, (v - 5.0) / 4.0, (a - 5.0) / 4.0))
        parsed = scaled
    else:
        report.notes["scale"] = "[-1, 1] as given"
    return parsed


def find_audio(audio_dir: Path, name: str) -> Path | None:
    """The clip a CSV row names: the exact file, or ``<name>.<ext>`` for an id without extension."""
    direct = audio_dir / name
    if direct.suffix.lower() in AUDIO_EXTENSIONS and direct.is_file():
        return direct
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix.lower() in AUDIO_EXTENSIONS else name
    for ext in AUDIO_EXTENSIONS:
        candidate = audio_dir / f"{stem}{ext}"
        if candidate.is_file():
            return candidate
    return None


def load(root: Path, config: Any, log: Any = None) -> tuple[Pairs, dict[str, Any]]:
    """The DEAM dataset under ``root``: mel features of each annotated clip and its emotion target."""
    from .features import FeatureExtractor
    from mlrun_music.audio import AudioError

    report = SkipReport()
    csv_path = find_annotations(root, config.deam_annotations_file)
    if csv_path is None:
        raise UserError(f"{root}: no DEAM annotations CSV (looked for {', '.join(ANNOTATION_PLACES)})")
    audio_dir = root / "audio"
    if not audio_dir.is_dir():
        raise UserError(f"{root}: no audio/ folder")
    rows = read_annotations(csv_path, report)
    if config.max_files:
        rows = rows[: config.max_files]
    extractor = FeatureExtractor(seconds=config.audio_seconds)
    xs, ys = [], []
    for name, valence, arousal in rows:
        clip = find_audio(audio_dir, name)
        if clip is None:
            report.skip("rows naming missing audio", name)
            continue
        try:
            xs.append(extractor.from_file(clip))
        except AudioError as exc:
            report.skip("unreadable, empty or silent audio", str(exc))
            continue
        ys.append(emotion_embedding(valence, arousal))
    if not xs:
        raise UserError(f"{root}: no usable DEAM clips ({report.summary()})")
    info = {"annotations": str(csv_path), "samples": len(xs), **report.as_dict()}
    return Pairs(np.stack(xs), np.stack(ys)), info
