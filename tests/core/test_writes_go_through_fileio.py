"""Every file the core and the plugins write goes through mlrun_music.fileio (atomic, the user's umask, fsynced,
never over an input): a write call on a final path, outside a ``with atomic_path(...)`` block, fails this test.

A write that is deliberately not atomic (an append-only journal, a probe) carries ``# fileio: <why>`` on its line."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SOURCES = [REPO / "core" / "mlrun_music", *sorted((REPO / "plugins").glob("*/mlrun_music_*"))]
#: Methods and functions that write a file given its path (or a handle opened on one).
WRITERS = {"write_text", "write_bytes", "savefig", "save", "savez", "savez_compressed", "write"}
#: Objects whose ``.write(...)``/``.save(...)`` take a path (soundfile, numpy, torch, onnx, mido/music21 objects).
PATH_WRITERS_OF = {"sf", "soundfile", "np", "numpy", "torch", "onnx"}
#: Context managers that hand out a temporary path renamed into place on success.
ATOMIC = {"atomic_path", "atomic_dir", "atomic_folder", "TemporaryDirectory", "NamedTemporaryFile"}


def _name(func: ast.expr) -> str | None:
    return getattr(func, "id", None) or getattr(func, "attr", None)


def _writes(call: ast.Call) -> bool:
    """Whether ``call`` writes a file: open(..., 'w'/'a'/'x'), path.write_text/bytes, fig.savefig, x.save(path),
    soundfile/numpy/torch/onnx writers."""
    func, name = call.func, _name(call.func)
    if name == "open":
        mode = call.args[1] if isinstance(func, ast.Name) and len(call.args) > 1 else \
            (call.args[0] if isinstance(func, ast.Attribute) and call.args else None)
        mode = next((k.value for k in call.keywords if k.arg == "mode"), mode)
        return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and any(c in mode.value for c in "wax+")
    if name not in WRITERS or not isinstance(func, ast.Attribute):
        return False
    if name in ("write_text", "write_bytes", "savefig", "savez", "savez_compressed"):
        return True
    owner = _name(func.value)
    if name == "write":  # file handles' .write(data) is fine: the handle was opened somewhere checked here
        return owner in PATH_WRITERS_OF
    return owner in PATH_WRITERS_OF or bool(call.args) and not isinstance(call.args[0], ast.Constant) or \
        any(k.arg in ("filename", "fp", "path") for k in call.keywords)


def unsafe_writes(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    inside_atomic: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With) and any(isinstance(i.context_expr, ast.Call) and
                                              _name(i.context_expr.func) in ATOMIC for i in node.items):
            inside_atomic |= {id(sub) for sub in ast.walk(node)}
    calls = sorted((node for node in ast.walk(tree) if isinstance(node, ast.Call)),
                   key=lambda n: (n.lineno, n.col_offset))
    return [f"{path.relative_to(REPO)}:{node.lineno}: {ast.unparse(node)[:90]}" for node in calls
            if id(node) not in inside_atomic and _writes(node) and "# fileio:" not in lines[node.lineno - 1]]


def test_no_write_bypasses_fileio():
    found = [hit for root in SOURCES for path in sorted(root.rglob("*.py")) if path.name != "fileio.py"
             for hit in unsafe_writes(path)]
    assert not found, "writes outside mlrun_music.fileio:\n" + "\n".join(found)


def test_the_walker_finds_direct_writes(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import soundfile as sf\n"
                      "def a(p, x, fig, mid):\n"
                      "    open(p, 'w').write('x')\n"
                      "    p.write_text('x')\n"
                      "    sf.write(p, x, 16000)\n"
                      "    fig.savefig(p)\n"
                      "    mid.save(str(p))\n"
                      "    with atomic_path(p) as tmp:\n"
                      "        mid.save(str(tmp))\n"
                      "    open(p, 'a')  # fileio: an append-only journal\n"
                      "    open(p).read()\n")
    hits = [h.split(": ", 1)[1] for h in unsafe_writes_at(sample)]
    assert hits == ["open(p, 'w')", "p.write_text('x')", "sf.write(p, x, 16000)", "fig.savefig(p)", "mid.save(str(p))"]


def unsafe_writes_at(path: Path) -> list[str]:
    """:func:`unsafe_writes` for a file outside the repository."""
    import tests.core.test_writes_go_through_fileio as me

    original = me.REPO
    me.REPO = path.parent
    try:
        return unsafe_writes(path)
    finally:
        me.REPO = original
