"""The ``.bsm`` beatmap format (JSON, spec version 1.0.0): a validating reader and an atomic writer.

Validation follows the reference spec: the six required top-level keys, types and ranges of every known field, and
hit objects sorted by time. Unknown keys are kept as they are (a read-write round trip preserves them). Every
error is a one-line :class:`UserError` naming the file and the JSON path, e.g. ``hitObjects[12].time``.
Torch- and numpy-free.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mlrun_music.errors import UserError
from mlrun_music.fileio import write_text

from ..kits.classes import COMPONENTS

SPEC_VERSION = "1.0.0"
REQUIRED = ("version", "metadata", "audio", "timing", "drumKit", "hitObjects")
DEFAULT_VELOCITY = 0.8
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_SIGNATURE = re.compile(r"^[1-9][0-9]*/[1-9][0-9]*$")


class BeatmapError(UserError):
    """A .bsm file that does not follow the spec; the message names the file and the JSON path."""


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class _Checker:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, path: str, msg: str) -> None:
        raise BeatmapError(f"{self.where}{path}: {msg}")

    def obj(self, parent: dict, key: str, path: str, required: bool = True) -> dict | None:
        if key not in parent:
            if required:
                self.fail(path, "required key is missing")
            return None
        value = parent[key]
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, got {type(value).__name__}")
        return value

    def field(self, parent: dict, key: str, path: str, kind: str, required: bool = True,
              lo: float | None = None, hi: float | None = None) -> Any:
        if key not in parent:
            if required:
                self.fail(path, "required key is missing")
            return None
        v = parent[key]
        ok = {"str": isinstance(v, str), "num": _is_num(v), "int": _is_int(v),
              "list": isinstance(v, list), "bool": isinstance(v, bool)}[kind]
        if not ok:
            names = {"str": "a string", "num": "a number", "int": "an integer", "list": "a list", "bool": "a boolean"}
            self.fail(path, f"must be {names[kind]}, got {json.dumps(v)[:40]}")
        if kind in ("num", "int") and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
            self.fail(path, f"must be in {rng}, got {v}")
        return v


def validate(data: Any, where: str = "") -> dict:
    """Check ``data`` against the spec; returns it with defaults filled in (hit velocity 0.8).

    ``where`` prefixes messages (usually ``"<file>: "``).
    """
    c = _Checker(where)
    if not isinstance(data, dict):
        c.fail("$", "a beatmap must be a JSON object")
    for key in REQUIRED:
        if key not in data:
            c.fail(key, "required key is missing")
    c.field(data, "version", "version", "str")
    meta = c.obj(data, "metadata", "metadata")
    for key in ("title", "artist", "creator", "beatmapId", "createdAt", "modifiedAt"):
        c.field(meta, key, f"metadata.{key}", "str")
    c.field(meta, "difficulty", "metadata.difficulty", "num", lo=0, hi=10)
    for key in ("source", "description"):
        c.field(meta, key, f"metadata.{key}", "str", required=False)
    c.field(meta, "previewTime", "metadata.previewTime", "num", required=False, lo=0)
    tags = c.field(meta, "tags", "metadata.tags", "list", required=False)
    for i, t in enumerate(tags or []):
        if not isinstance(t, str):
            c.fail(f"metadata.tags[{i}]", "must be a string")

    audio = c.obj(data, "audio", "audio")
    c.field(audio, "filename", "audio.filename", "str")
    h = c.field(audio, "hash", "audio.hash", "str")
    if not _HASH.match(h):
        c.fail("audio.hash", "must be 'sha256:' followed by 64 lowercase hex digits")
    c.field(audio, "duration", "audio.duration", "num", lo=0)
    c.field(audio, "sampleRate", "audio.sampleRate", "int", lo=1)
    c.field(audio, "drumStem", "audio.drumStem", "str", required=False)
    stem_hash = c.field(audio, "drumStemHash", "audio.drumStemHash", "str", required=False)
    if stem_hash is not None and not _HASH.match(stem_hash):
        c.fail("audio.drumStemHash", "must be 'sha256:' followed by 64 lowercase hex digits")

    timing = c.obj(data, "timing", "timing")
    c.field(timing, "bpm", "timing.bpm", "num", lo=1e-6)
    c.field(timing, "offset", "timing.offset", "num")
    sig = c.field(timing, "timeSignature", "timing.timeSignature", "str")
    if not _SIGNATURE.match(sig):
        c.fail("timing.timeSignature", f"must look like '4/4', got {sig!r}")
    points = c.field(timing, "timingPoints", "timing.timingPoints", "list", required=False)
    for i, p in enumerate(points or []):
        path = f"timing.timingPoints[{i}]"
        if not isinstance(p, dict):
            c.fail(path, "must be an object")
        c.field(p, "time", f"{path}.time", "num", lo=0)
        c.field(p, "bpm", f"{path}.bpm", "num", lo=1e-6)
        ts = c.field(p, "timeSignature", f"{path}.timeSignature", "str", required=False)
        if ts is not None and not _SIGNATURE.match(ts):
            c.fail(f"{path}.timeSignature", f"must look like '4/4', got {ts!r}")

    kit = c.obj(data, "drumKit", "drumKit")
    comps = c.field(kit, "components", "drumKit.components", "list")
    for i, name in enumerate(comps):
        if name not in COMPONENTS:
            c.fail(f"drumKit.components[{i}]", f"unknown component {json.dumps(name)[:40]}")

    hits = c.field(data, "hitObjects", "hitObjects", "list")
    last = None
    for i, hit in enumerate(hits):
        path = f"hitObjects[{i}]"
        if not isinstance(hit, dict):
            c.fail(path, "must be an object")
        t = c.field(hit, "time", f"{path}.time", "int", lo=0)
        comp = c.field(hit, "component", f"{path}.component", "str")
        if comp not in COMPONENTS:
            c.fail(f"{path}.component", f"unknown component {comp!r} (valid: {', '.join(COMPONENTS)})")
        hit.setdefault("velocity", DEFAULT_VELOCITY)
        c.field(hit, "velocity", f"{path}.velocity", "num", lo=0, hi=1)
        c.field(hit, "lane", f"{path}.lane", "int", required=False, lo=0)
        c.field(hit, "duration", f"{path}.duration", "num", required=False, lo=0)
        if last is not None and t < last:
            c.fail(f"{path}.time", f"hit objects must be sorted by time ({t} comes after {last})")
        last = t

    editor = c.obj(data, "editor", "editor", required=False)
    if editor is not None:
        c.field(editor, "snapDivisor", "editor.snapDivisor", "int", required=False, lo=1)
        c.field(editor, "visualLanes", "editor.visualLanes", "int", required=False, lo=1)
        c.field(editor, "bookmarks", "editor.bookmarks", "list", required=False)
        ai = c.obj(editor, "aiGenerationMetadata", "editor.aiGenerationMetadata", required=False)
        if ai is not None:
            c.field(ai, "modelVersion", "editor.aiGenerationMetadata.modelVersion", "str", required=False)
            c.field(ai, "confidence", "editor.aiGenerationMetadata.confidence", "num", required=False, lo=0, hi=1)
            c.field(ai, "processedAt", "editor.aiGenerationMetadata.processedAt", "str", required=False)
            c.field(ai, "manualEdits", "editor.aiGenerationMetadata.manualEdits", "int", required=False, lo=0)
    return data


def read_bsm(path: str | Path) -> dict:
    """Read and validate a .bsm file; unknown keys are kept."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BeatmapError(f"{path}: cannot read beatmap ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BeatmapError(f"{path}: not valid JSON ({str(exc).splitlines()[0]})") from None
    except RecursionError:
        raise BeatmapError(f"{path}: nests too deeply to be a beatmap") from None
    return validate(data, where=f"{path}: ")


def write_bsm(path: str | Path, data: dict) -> Path:
    """Validate ``data`` and write it atomically as indented JSON."""
    validate(data, where=f"{path}: ")
    return write_text(path, json.dumps(data, indent=2) + "\n")


def sha256_of(path: str | Path) -> str:
    """``"sha256:<hex>"`` of a file's bytes, as stored in ``audio.hash``."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def hit_times_by_component(data: dict) -> dict[str, list[float]]:
    """Onset times in seconds per component."""
    out: dict[str, list[float]] = {c: [] for c in COMPONENTS}
    for hit in data["hitObjects"]:
        out[hit["component"]].append(hit["time"] / 1000.0)
    return out


def new_beatmap(*, audio_file: str | Path, duration_ms: float, sample_rate: int, bpm: float,
                hits: list[dict[str, Any]], title: str = "", artist: str = "", creator: str = "beatsight",
                difficulty: float = 5.0, audio_hash: str | None = None, editor: dict[str, Any] | None = None,
                offset_ms: float = 0, time_signature: str = "4/4") -> dict[str, Any]:
    """A spec-conforming beatmap for ``audio_file`` (hashed unless ``audio_hash`` is given); ``hits`` are
    ``{time (ms), component, velocity?, lane?}`` and are sorted here."""
    import datetime
    import uuid

    from ..kits.classes import LANES

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    audio_file = Path(audio_file)
    objects = []
    for h in sorted(hits, key=lambda h: (int(h["time"]), LANES[h["component"]])):
        obj = {"time": int(h["time"]), "component": h["component"],
               "velocity": float(round(h.get("velocity", DEFAULT_VELOCITY), 3)),
               "lane": int(h.get("lane", LANES[h["component"]]))}
        objects.append(obj)
    used = [c for c in COMPONENTS if any(o["component"] == c for o in objects)]
    data: dict[str, Any] = {
        "version": SPEC_VERSION,
        "metadata": {"title": title or audio_file.stem, "artist": artist or "unknown", "creator": creator,
                     "difficulty": float(round(min(10.0, max(0.0, difficulty)), 2)),
                     "beatmapId": str(uuid.uuid4()), "createdAt": now, "modifiedAt": now},
        "audio": {"filename": audio_file.name, "hash": audio_hash or sha256_of(audio_file),
                  "duration": float(round(duration_ms, 3)), "sampleRate": int(sample_rate)},
        "timing": {"bpm": float(round(bpm, 3)), "offset": offset_ms, "timeSignature": time_signature},
        "drumKit": {"components": used or ["kick", "snare", "hihat_closed"]},
        "hitObjects": objects,
    }
    if editor is not None:
        data["editor"] = editor
    return data
