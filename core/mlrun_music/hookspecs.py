"""The hooks a plugin may implement. Each receives a ``register`` callback (or the CLI group),
so a hook can gain arguments later without breaking plugins: pluggy passes only what a plugin asks for."""

from __future__ import annotations

from typing import Any, Callable

import pluggy

PROJECT = "mlrun_music"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_tasks(register: Callable[[Any], None]) -> None:
    """Register tasks: ``register(Task(...))``."""


@hookspec
def register_models(register: Callable[[str, Any], None]) -> None:
    """Add models to a task (yours or another plugin's): ``register("task", ModelSpec(...))``."""


@hookspec
def register_datasets(register: Callable[[str, Any], None]) -> None:
    """Add datasets to a task (yours or another plugin's): ``register("task", DatasetSpec(...))``."""


@hookspec
def register_losses(register: Callable[[str, str, Any], None]) -> None:
    """Add a named loss to a task: ``register("task", "name", fn)``; chosen with ``--loss NAME``."""


@hookspec
def register_exporters(register: Callable[[str, str, Any], None]) -> None:
    """Add an export format to a task: ``register("task", "format", fn(model, config, info, out_path))``."""


@hookspec
def register_evaluators(register: Callable[[str, str, Any], None]) -> None:
    """Add an evaluation to a task: ``register("task", "name", fn(ctx) -> dict)``; run with ``--evaluator NAME``."""


@hookspec
def register_pretrained(register: Callable[[str, Any], None]) -> None:
    """Declare a model shipped as package data, with its card and recipe:
    ``register("task", PretrainedSpec(...))`` (see :mod:`mlrun_music.pretrained`)."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands or groups to the ``mlrun`` CLI (e.g. ``mlrun phase render``)."""
