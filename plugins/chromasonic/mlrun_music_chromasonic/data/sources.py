"""Where melodies come from: the folk corpora inside music21, the Nottingham Music Database, your own folder of
ABC / MIDI / MusicXML files, random walks.

- folk: O'Neill's 1850 and Ryan's Mammoth Collection, ABC files shipped in music21's corpus (offline).
- nottingham: the Nottingham Music Database in ABC (Seymour Shlien's edition, a zip of ``*.abc`` files), read from
  ``--data-dir`` or downloaded once into the cache with its SHA-256 checked.
- folder: every ABC, MIDI and MusicXML file below ``--data-dir`` (see :mod:`.scores` for MIDI and MusicXML).
- synthetic: the original project's random walks, announced as synthetic.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import urllib.error
import urllib.request
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_bytes

from .cache import cache_dir_of, load_abc_files
from .melody import Melody
from .scores import MIDI_SUFFIXES, MUSICXML_SUFFIXES

#: Seymour Shlien's corrected edition of the NMD: 142,934 bytes, 16 members (14 ABC files).
NOTTINGHAM_URL = "https://ifdo.ca/~seymour/nottingham/nottingham_database.zip"
NOTTINGHAM_SHA256 = "f79a4bffe78b16d630d4d69f9c62775a7aa246d0973c4d8714ab6c5139ff5a3b"

FOLK_COLLECTIONS = ("oneills1850", "ryansMammoth")


def abc_files_in(folder: Path) -> list[Path]:
    """Every ``*.abc`` entry below ``folder`` that is not a folder (any depth, sorted; ``.ABC`` too): broken links
    and other unreadable entries are listed too, so that reading skips and counts them."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".abc" and not p.is_dir())


def folk_files(collections: str) -> list[tuple[Path, str]]:
    """ABC files of the chosen music21 corpus collections, as ``(path, "collection/file")``."""
    import music21

    root = Path(music21.__file__).parent / "corpus"
    names = [c.strip() for c in collections.split(",") if c.strip()]
    out: list[tuple[Path, str]] = []
    for name in names:
        if name not in FOLK_COLLECTIONS:
            raise UserError(f"--folk-collections: unknown collection '{name}'; "
                            f"available: {', '.join(FOLK_COLLECTIONS)}")
        folder = root / name
        files = abc_files_in(folder) if folder.is_dir() else []
        if not files:
            raise UserError(f"--folk-collections: music21's corpus has no ABC files in {folder}; "
                            f"reinstall music21 (pip install --force-reinstall music21)")
        out += [(p, f"{name}/{p.name}") for p in files]
    return out


def load_folk(config: Any, log: Any) -> tuple[list[Melody], dict[str, Any]]:
    files = folk_files(config.folk_collections)
    melodies, report = load_abc_files(files, cache_dir_of(config), workers=config.parse_workers,
                                      max_tunes=config.max_tunes, log=log)
    report["collections"] = config.folk_collections
    return melodies, report


# ---------------------------------------------------------------------------------------------------------------
# Nottingham


def nottingham_folder(config: Any, log: Any) -> Path:
    """The folder holding the NMD's ABC files: ``--data-dir``, else the cache (downloading once)."""
    if config.data_dir:
        folder = Path(config.data_dir)
        if not folder.is_dir():
            raise UserError(f"--data-dir: {folder} is not a folder")
        return folder
    folder = cache_dir_of(config) / "nottingham"
    if folder.is_dir() and abc_files_in(folder):
        return folder
    download_nottingham(config.nottingham_url, config.nottingham_sha256, folder, log)
    return folder


def _by_hand(folder: Path, url: str) -> str:
    return (f"place the files by hand: download {url}, unzip it so that the .abc files lie in {folder} "
            f"(any sub-folder), or pass --data-dir FOLDER with the NMD's .abc files")


def download_nottingham(url: str, sha256: str, folder: Path, log: Any) -> None:
    """Download the NMD zip, refuse it unless its SHA-256 matches, and extract its ABC files into ``folder``."""
    if log is not None:
        log.info("downloading the Nottingham Music Database from %s", url)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(folder.parent / "nottingham_database.zip") as tmp:
        try:
            with urllib.request.urlopen(url, timeout=30) as resp, open(tmp, "wb") as fh:
                shutil.copyfileobj(resp, fh)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise UserError(f"cannot download the Nottingham Music Database ({reason}); "
                            f"{_by_hand(folder, url)}") from None
        digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
        if sha256 and digest != sha256.lower():
            raise UserError(f"refusing the Nottingham download from {url}: SHA-256 {digest} does not match the "
                            f"expected {sha256}; {_by_hand(folder, url)}")
        _extract_abc(tmp, folder, url)


def _extract_abc(zip_path: Path, folder: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [m for m in zf.infolist() if m.filename.lower().endswith(".abc") and not m.is_dir()]
            if not members:
                raise UserError(f"the Nottingham download from {url} holds no .abc files; {_by_hand(folder, url)}")
            staging = folder.with_name(folder.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            for m in members:
                name = PurePosixPath(m.filename).name  # flatten: no path from the archive is trusted
                write_bytes(staging / name, zf.read(m))
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)  # all files appear at once
    except zipfile.BadZipFile:
        raise UserError(f"the Nottingham download from {url} is not a zip file; {_by_hand(folder, url)}") from None


def load_nottingham(config: Any, log: Any) -> tuple[list[Melody], dict[str, Any]]:
    folder = nottingham_folder(config, log)
    files = abc_files_in(folder)
    if not files:
        raise UserError(f"no .abc files in {folder}; {_by_hand(folder, config.nottingham_url)}")
    melodies, report = load_abc_files([(p, str(p.relative_to(folder))) for p in files], cache_dir_of(config),
                                      workers=config.parse_workers, max_tunes=config.max_tunes, log=log)
    report["folder"] = str(folder)
    if not melodies:
        raise UserError(f"no tune in {folder} could be parsed ({report['skip_reasons']})")
    return melodies, report


def load_abc_folder(folder: Path, config: Any, log: Any) -> tuple[list[Melody], dict[str, Any]]:
    """Every tune of every ABC file below ``folder`` (for ``mlrun evaluate --data``)."""
    if not folder.is_dir():
        raise UserError(f"--data: {folder} is not a folder")
    files = abc_files_in(folder)
    if not files:
        raise UserError(f"--data: no .abc files in {folder}")
    return load_abc_files([(p, str(p.relative_to(folder))) for p in files], cache_dir_of(config),
                          workers=1, log=log)


# ---------------------------------------------------------------------------------------------------------------
# Your own tunes: a folder of ABC, MIDI and MusicXML files

FOLDER_SUFFIXES = (".abc",) + MIDI_SUFFIXES + MUSICXML_SUFFIXES


def music_files_in(folder: Path) -> list[Path]:
    """Every ABC, MIDI and MusicXML entry below ``folder`` that is not a folder (any depth, sorted)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in FOLDER_SUFFIXES and not p.is_dir())


def folder_of(config: Any) -> Path:
    """``--data-dir``, or the path given as ``--dataset``."""
    text = config.data_dir or (config.dataset if config.dataset not in ("", "folder") else "")
    if not text:
        raise UserError("--dataset folder needs --data-dir FOLDER (ABC, MIDI and MusicXML files, any depth)")
    folder = Path(text)
    if not folder.is_dir():
        raise UserError(f"--data-dir: {folder} is not a folder")
    return folder


def load_folder(config: Any, log: Any) -> tuple[list[Melody], dict[str, Any]]:
    """Every tune of every ABC file (cached like the corpora) and the melody of every MIDI and MusicXML file
    below the folder; files that give none are skipped and counted by reason. One-line errors for a folder with no
    such file and for one where every file fails."""
    from .cache import reason_kind
    from .scores import parse_score_file

    folder = folder_of(config)
    files = music_files_in(folder)
    if not files:
        raise UserError(f"--data-dir: no ABC, MIDI or MusicXML files ({', '.join(FOLDER_SUFFIXES)}) in {folder} "
                        f"or its sub-folders")
    abc = [p for p in files if p.suffix.lower() == ".abc"]
    scores = [p for p in files if p.suffix.lower() != ".abc"]
    melodies: list[Melody] = []
    report: dict[str, Any] = {"folder": str(folder), "files": len(files),
                              "by_format": {"abc": len(abc), "midi": sum(p.suffix.lower() in MIDI_SUFFIXES
                                                                         for p in scores),
                                            "musicxml": sum(p.suffix.lower() in MUSICXML_SUFFIXES for p in scores)},
                              "skip_reasons": {}, "skipped_tunes": []}
    if abc:
        melodies, abc_report = load_abc_files([(p, str(p.relative_to(folder))) for p in abc], cache_dir_of(config),
                                              workers=config.parse_workers, log=log)
        report["abc"] = abc_report
        report["skip_reasons"] = dict(abc_report["skip_reasons"])
        report["skipped_tunes"] = list(abc_report["skipped_tunes"])
    for p in scores:
        res = parse_score_file(str(p), str(p.relative_to(folder)), config.track)
        melodies += [Melody.from_json(m) for m in res["melodies"]]
        for skip in res["skipped"]:
            kind = reason_kind(skip["reason"])
            report["skip_reasons"][kind] = report["skip_reasons"].get(kind, 0) + 1
            report["skipped_tunes"].append({"file": str(p), **skip})
    if config.max_tunes:
        melodies = melodies[:config.max_tunes]
    report["tunes_parsed"] = len(melodies)
    report["skipped"] = sum(report["skip_reasons"].values())
    report["skipped_tunes"] = report["skipped_tunes"][:50]
    if not melodies:
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(report["skip_reasons"].items()))
        raise UserError(f"--data-dir: no melody could be read from the {len(files)} file(s) in {folder} ({reasons})")
    if log is not None:
        log.info("folder %s: %d melodies from %d files; skipped %d%s", folder, len(melodies), len(files),
                 report["skipped"], f" ({', '.join(f'{k}: {v}' for k, v in sorted(report['skip_reasons'].items()))})"
                 if report["skip_reasons"] else "")
    return melodies, report


# ---------------------------------------------------------------------------------------------------------------
# Synthetic random walks


def synthetic_melodies(num: int, length: int, seed: int) -> list[Melody]:
    """The original project's random walks (steps -2..2, favouring small ones) between C4 and C6, with random
    durations."""
    rng = random.Random(seed)
    steps = [-2, -1, -1, 0, 0, 0, 1, 1, 2]
    durations = [0.5, 0.5, 1.0, 1.0, 1.0, 2.0]
    out = []
    for i in range(num):
        pitch = rng.randint(60, 84)
        notes = []
        for _ in range(length):
            notes.append((pitch, rng.choice(durations)))
            pitch = min(84, max(60, pitch + rng.choice(steps)))
        out.append(Melody(notes=notes, title=f"random walk {i + 1}", source="synthetic", key_sharps=0))
    return out
