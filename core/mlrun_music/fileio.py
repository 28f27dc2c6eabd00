"""Atomic file writes: write a temporary file beside the target, flush, fsync, rename, fsync the folder.

Files come out with the mode an ordinary ``open(..., "w")`` would give them (0666 less the umask).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import UserError


def current_umask() -> int:
    """The process's umask, read without changing it where the platform allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable; platforms that cannot open or fsync a folder are left as they are."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed onto ``target``.

    A crash or an exception leaves ``target`` untouched (old content or absent), never half-written. The file gets
    mode 0666 less the umask; a ``target`` that is a folder is refused before anything is written.
    """
    target = Path(target)
    if target.is_dir():
        raise UserError(f"{target} is a folder; name a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    except OSError as exc:
        raise UserError(f"cannot write {target}: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    mode = 0o666 & ~current_umask()
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            fh.flush()
            os.chmod(tmp_path, mode)
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    _fsync_folder(target.parent)


def refuse_overwrite_of_inputs(output: str | os.PathLike[str] | None, *inputs: str | os.PathLike[str] | None,
                               option: str = "--output") -> None:
    """Raise a UserError when ``output`` is one of ``inputs`` or lies inside an input folder.

    Paths are compared after resolving symlinks (and by inode where both exist); ``None`` entries are skipped.
    """
    if output is None:
        return
    out = Path(output).resolve()
    for given in inputs:
        if given is None:
            continue
        inp = Path(given).resolve()
        same = out == inp
        if not same and out.exists() and inp.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, inp)
        if same:
            raise UserError(f"{option} {output} is the input {given}; name another file")
        if inp.is_dir() and out.is_relative_to(inp):
            raise UserError(f"{option} {output} lies inside the input folder {given}; name a file elsewhere")


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Atomically write UTF-8 ``text`` to ``target``."""
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (NaN is written as null)."""
    return write_text(target, json.dumps(_finite(obj), indent=2, sort_keys=False) + "\n")


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
