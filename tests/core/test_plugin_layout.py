"""Every plugin of the repository has the same rooms (docs/writing-plugins.md), so a reader who knows one knows
where any other keeps its options, models, data, evaluation, commands, shipped models and recipes."""

from __future__ import annotations

import ast

import pytest

from tests.conftest import REPO

PACKAGES = sorted(p.parent for p in (REPO / "plugins").glob("*/mlrun_music_*/plugin.py"))
ROOMS = {"config": ("config.py",), "models": ("models/__init__.py",), "data": ("data/__init__.py",),
         "evaluate": ("evaluate.py", "evaluate/__init__.py"), "commands": ("commands.py", "commands/__init__.py"),
         "pretrained": ("pretrained",), "recipes": ("recipes",)}


def test_every_plugin_is_found():
    assert [p.parent.name for p in PACKAGES] == ["beatsight", "chromasonic", "emopia", "kelly", "phase"]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.parent.name)
def test_the_same_rooms(package):
    missing = [room for room, names in ROOMS.items() if not any((package / n).exists() for n in names)]
    assert not missing, f"{package.name} lacks {missing}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.parent.name)
def test_plugin_py_holds_hooks_only_and_init_files_import_nothing(package):
    tree = ast.parse((package / "plugin.py").read_text(encoding="utf-8"))
    for node in tree.body:
        assert not isinstance(node, ast.ClassDef), f"{package.name}/plugin.py defines class {node.name}"
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names = {getattr(d, "id", getattr(d, "attr", None)) for d in node.decorator_list}
            assert "hookimpl" in names, f"{package.name}/plugin.py: {node.name} is not a hook"
    for init in package.rglob("__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))
                   and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
        assert not imports, f"{init.relative_to(REPO)} imports (keep package __init__ files to a docstring)"
