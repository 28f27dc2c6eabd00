"""Parsed-melody cache: one JSON per ABC file, keyed by the file's content hash and the parser version.

A second run reads JSON instead of running music21 (seconds instead of a minute). Entries hold title, key,
meter, source and notes of every tune plus the skipped tunes with their reasons and per-file statistics.
"""

from __future__ import annotations

import hashlib
import json
import stat
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

from mlrun_music.cache import cache_dir
from mlrun_music.fileio import write_json

from .abc import MAX_FILE_BYTES, OVER_BUDGET, PARSER_VERSION, parse_abc_file, reason_kind
from .melody import Melody, melody_stats

def cache_dir_of(config: Any) -> Path:
    """``--cache-dir``, else the chromasonic folder of the mlrun-music cache."""
    return cache_dir("chromasonic", getattr(config, "cache_dir", ""))


def _file_key(path: Path) -> str:
    """The cache key of a file's content; "" for what reading refuses unread (not a regular file: a FIFO would
    block; over the size limit), so it is not hashed either."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
        return ""
    h = hashlib.sha256()
    h.update(f"parser-{PARSER_VERSION}\n".encode())
    h.update(path.read_bytes())
    return h.hexdigest()[:24]


def _entry_path(cache: Path, key: str) -> Path:
    return cache / "melodies" / f"{key}.json"


def _read_entry(path: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a missing or damaged entry is just re-parsed
    return entry if isinstance(entry, dict) and entry.get("parser") == PARSER_VERSION else None


def _parse_job(args: tuple[str, str]) -> dict[str, Any]:
    return parse_abc_file(*args)


def load_abc_files(files: Sequence[tuple[Path, str]], cache: Path | None, *, workers: int = 1,
                   max_tunes: int = 0, log: Any = None) -> tuple[list[Melody], dict[str, Any]]:
    """Melodies of ``files`` (``(path, source name)``), from the cache where possible.

    ``max_tunes`` > 0 stops after the files that give that many tunes (then truncates). Cold files are parsed in
    ``workers`` processes. Returns melodies and a report (files, tunes, skipped with reasons, cache hits, timing).
    """
    start = time.perf_counter()
    results: dict[int, dict[str, Any]] = {}
    keys: dict[int, str] = {}
    todo: list[int] = []
    hits = 0
    for i, (path, _source) in enumerate(files):
        if cache is not None:
            try:
                keys[i] = _file_key(path)
            except OSError:
                keys[i] = ""
            entry = _read_entry(_entry_path(cache, keys[i])) if keys[i] else None
            if entry is not None:
                results[i] = entry
                hits += 1
                continue
        todo.append(i)

    pending = list(todo)
    if max_tunes > 0:
        # Parse in file order only as far as needed for max_tunes.
        count = 0
        for i in range(len(files)):
            if i not in results:
                results[i] = _parse_one(files[i], cache, keys.get(i, ""))
            count += len(results[i]["melodies"])
            if count >= max_tunes:
                break
    elif workers > 1 and len(pending) > 1:
        import multiprocessing

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
            jobs = [(str(files[i][0]), files[i][1]) for i in pending]
            for i, res in zip(pending, pool.map(_parse_job, jobs, chunksize=1)):
                results[i] = _store(res, cache, keys.get(i, ""))
    else:
        for i in pending:
            results[i] = _parse_one(files[i], cache, keys.get(i, ""))
    parsed_files = sum(1 for i in results if i in todo)

    melodies: list[Melody] = []
    skipped: list[dict[str, Any]] = []
    reasons: dict[str, int] = {}
    tunes = 0
    for i in range(len(files)):
        if i not in results:
            break
        res = results[i]
        tunes += res["tunes"]
        melodies += [Melody.from_json(m) for m in res["melodies"]]
        for s in res["skipped"]:
            kind = reason_kind(s["reason"])
            reasons[kind] = reasons.get(kind, 0) + 1
            skipped.append({"file": str(files[i][0]), **s})
        if max_tunes > 0 and len(melodies) >= max_tunes:
            break
    if max_tunes > 0:
        melodies = melodies[:max_tunes]
    elapsed = time.perf_counter() - start
    report = {
        "files": len(files), "files_read": len(results), "cache_hits": hits, "files_parsed": parsed_files,
        "tunes_in_files": tunes, "tunes_parsed": len(melodies), "skipped": len(skipped),
        "skip_reasons": reasons, "skipped_tunes": skipped[:50], "seconds": round(elapsed, 3),
        "cache_dir": str(cache) if cache is not None else None,
    }
    if log is not None:
        log.info("parsed %d tunes from %d files (%d from cache) in %.1f s; skipped %d%s", len(melodies),
                 len(results), hits, elapsed, len(skipped),
                 f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
    return melodies, report


def _parse_one(file: tuple[Path, str], cache: Path | None, key: str) -> dict[str, Any]:
    return _store(parse_abc_file(str(file[0]), file[1]), cache, key)


def _store(res: dict[str, Any], cache: Path | None, key: str) -> dict[str, Any]:
    res = {"parser": PARSER_VERSION, **res,
           "stats": melody_stats([Melody.from_json(m) for m in res["melodies"]])}
    # A file over the parse time budget is not remembered: the budget is wall time, so a busy machine can miss it
    # where an idle one does not, and a cached miss would change the dataset (and its split) for good.
    over_budget = reason_kind(res.get("file_error") or "") == OVER_BUDGET
    if cache is not None and key and not over_budget:
        try:
            write_json(_entry_path(cache, key), res)
        except Exception:  # noqa: BLE001 - a read-only cache folder only costs speed
            pass
    return res
