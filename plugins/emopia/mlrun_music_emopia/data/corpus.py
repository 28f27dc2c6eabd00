"""The EMOPIA 1.0 layout: find clips, read their labels, and split them by song.

Layout (Hung et al., ISMIR 2021; get it from https://annahung31.github.io/EMOPIA, CC BY-NC-SA 4.0)::

    EMOPIA_1.0/midis/Q{1-4}_{11-character YouTube id}_{clip number}.mid
    EMOPIA_1.0/label.csv                      ID,4Q,annotator
    EMOPIA_1.0/split/{train,val,test}_SL.csv  clip_name   (official song-level split, optional)

Labels come from ``label.csv`` when it lists a clip, else from the file name; disagreements are reported.
Without official split files the split is seeded, 70/15/15, stratified by emotion and grouped by song.
Torch-free and MIDI-parser-free: it only looks at names and CSV files.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import attrs

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_json

NAME_RE = re.compile(r"^Q([1-4])_(.{11})_(\d+)$")
SPLITS = ("train", "val", "test")
FRACTIONS = (0.70, 0.15, 0.15)


@attrs.define
class Clip:
    """One labelled clip."""

    clip_id: str
    path: Path
    quadrant: int
    song: str


@attrs.define
class Scan:
    """What a data folder holds: usable clips, and what was skipped or disputed."""

    root: Path
    clips: list[Clip]
    skipped: dict[str, list[str]]  # reason -> file names
    disagreements: list[dict[str, Any]]
    label_source: str
    n_files: int = 0

    def skip(self, reason: str, name: str) -> None:
        self.skipped.setdefault(reason, []).append(name)


def find_root(data_dir: str | Path) -> Path:
    """The folder holding ``midis/`` (``data_dir`` itself or its ``EMOPIA_1.0`` child)."""
    base = Path(data_dir).expanduser()
    if not base.is_dir():
        raise UserError(f"--data-dir: {base} is not a folder")
    for cand in (base, base / "EMOPIA_1.0"):
        if (cand / "midis").is_dir():
            return cand
    raise UserError(f"--data-dir: {base} has no midis/ folder (expected the EMOPIA_1.0 layout: "
                    f"midis/Q{{1-4}}_<id>_<n>.mid and label.csv)")


def read_labels(path: Path) -> tuple[dict[str, int], list[str]]:
    """``label.csv`` -> {clip id: quadrant}; rows with an unknown quadrant are returned as skipped ids."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    reader = csv.DictReader(text.splitlines())
    cols = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("ID", "4Q") if c not in cols]
    if missing:
        raise UserError(f"{path}: missing column(s) {', '.join(missing)} (expected ID,4Q,annotator; "
                        f"found {','.join(cols) or 'nothing'})")
    labels: dict[str, int] = {}
    bad: list[str] = []
    for row in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        cid, q = row.get("ID", ""), row.get("4Q", "")
        if not cid:
            continue
        q = q[1:] if q.upper().startswith("Q") else q
        if q in ("1", "2", "3", "4"):
            labels[cid.removesuffix(".mid")] = int(q)
        else:
            bad.append(f"{cid} ({row.get('4Q', '')!r})")
    return labels, bad


def scan(data_dir: str | Path) -> Scan:
    """List the clips of an EMOPIA-layout folder with labels and song ids (no MIDI parsing yet)."""
    root = find_root(data_dir)
    files = sorted(p for p in (root / "midis").iterdir() if p.is_file() and p.suffix.lower() in (".mid", ".midi"))
    if not files:
        raise UserError(f"--data-dir: {root / 'midis'} holds no .mid files")
    label_file = root / "label.csv"
    labels, bad_rows = read_labels(label_file) if label_file.is_file() else ({}, [])
    result = Scan(root, [], {}, [], "label.csv" if label_file.is_file() else "file names", len(files))
    bad_ids = {b.split(" ")[0] for b in bad_rows}
    for p in files:
        m = NAME_RE.match(p.stem)
        if not m:
            result.skip("file name does not match Q{1-4}_<11-char id>_<n>.mid", p.name)
            continue
        q_name, song = int(m.group(1)), m.group(2)
        if p.stem in bad_ids:
            result.skip("label.csv gives an unknown quadrant", p.name)
            continue
        q = labels.get(p.stem, q_name)
        if p.stem in labels and labels[p.stem] != q_name:
            result.disagreements.append({"clip": p.stem, "file_name": q_name, "label_csv": labels[p.stem],
                                         "used": q})
        result.clips.append(Clip(p.stem, p, q, song))
    return result


# ---------------------------------------------------------------------------------------------------------------
# Splits


def official_split(root: Path) -> dict[str, list[str]] | None:
    """The official song-level split from ``split/{train,val,test}_SL.csv`` (or ``*_clip.csv``), if present."""
    folder = root / "split"
    for suffix in ("_SL.csv", "_clip.csv"):
        paths = [folder / f"{s}{suffix}" for s in SPLITS]
        if all(p.is_file() for p in paths):
            out = {}
            for s, p in zip(SPLITS, paths):
                rows = list(csv.DictReader(p.read_text(encoding="utf-8-sig").splitlines()))
                if rows and "clip_name" not in rows[0]:
                    raise UserError(f"{p}: missing column clip_name")
                out[s] = [Path(r["clip_name"].strip()).stem for r in rows if r.get("clip_name", "").strip()]
            return out
    return None


def seeded_split(clips: list[Clip], seed: int) -> dict[str, list[str]]:
    """70/15/15 by clip count, stratified by each song's dominant quadrant, never splitting a song."""
    songs: dict[str, list[Clip]] = {}
    for c in clips:
        songs.setdefault(c.song, []).append(c)
    if len(songs) < 3:
        raise UserError(f"the data has {len(songs)} song(s); a song-level train/val/test split needs at least 3")
    by_quadrant: dict[int, list[str]] = {}
    for song, cs in sorted(songs.items()):
        counts = [sum(c.quadrant == q for c in cs) for q in (1, 2, 3, 4)]
        dominant = 1 + max(range(4), key=lambda i: (counts[i], -i))
        by_quadrant.setdefault(dominant, []).append(song)
    rng = random.Random(seed)
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    n_all = len(clips)
    totals = [0, 0, 0]
    for q in sorted(by_quadrant):
        group = by_quadrant[q]
        rng.shuffle(group)
        n = sum(len(songs[s]) for s in group)
        have = [0, 0, 0]
        for song in group:
            # The split furthest below its share within this quadrant (relative); ties go to the split furthest
            # below its overall share, then to train, val, test (small quadrants then feed val and test in turn).
            local = [(FRACTIONS[i] * n - have[i]) / (FRACTIONS[i] * n) for i in range(3)]
            overall = [(FRACTIONS[i] * n_all - totals[i]) / (FRACTIONS[i] * n_all) for i in range(3)]
            i = max(range(3), key=lambda k: (round(local[k], 9), round(overall[k], 9)))
            have[i] += len(songs[song])
            totals[i] += len(songs[song])
            out[SPLITS[i]].extend(c.clip_id for c in songs[song])
    return {s: sorted(v) for s, v in out.items()}


def choose_split(scan_result: Scan, seed: int, saved: Path | None, restart: bool) -> tuple[dict[str, list[str]], str]:
    """The split to use: the one saved in the run folder (resume), else official files, else seeded.

    Returns (split, source). Clips not in the chosen split are recorded as skipped.
    """
    if saved is not None and saved.is_file() and not restart:
        data = json.loads(saved.read_text())
        return {s: list(data["split"][s]) for s in SPLITS}, f"saved ({saved.name}, {data.get('source', '?')})"
    official = official_split(scan_result.root)
    if official is not None:
        return official, "official split files"
    return seeded_split(scan_result.clips, seed), f"seeded 70/15/15 by emotion and song (seed {seed})"


def apply_split(scan_result: Scan, split: dict[str, list[str]]) -> dict[str, list[Clip]]:
    """Clips per split; clips in no split are skipped (counted), listed clips that are missing are reported."""
    by_id = {c.clip_id: c for c in scan_result.clips}
    out: dict[str, list[Clip]] = {s: [] for s in SPLITS}
    placed = set()
    for s in SPLITS:
        for cid in split[s]:
            if cid in by_id and cid not in placed:
                out[s].append(by_id[cid])
                placed.add(cid)
    for c in scan_result.clips:
        if c.clip_id not in placed:
            scan_result.skip("not in the split in use", c.path.name)
    missing = sorted(set().union(*map(set, split.values())) - set(by_id))
    if missing:
        scan_result.skip("listed in the split but not found (or skipped)", missing[0] + (
            f" and {len(missing) - 1} more" if len(missing) > 1 else ""))
    return out


def save_split(path: Path, split: dict[str, list[str]], source: str, root: Path) -> None:
    write_json(path, {"source": source, "data_root": str(root), "split": split})
