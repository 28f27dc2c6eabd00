"""Shipped models: model-only checkpoints a plugin ships as package data, each with a card beside it.

A plugin declares them with the ``register_pretrained`` hook::

    register("beatsight-transcriber", PretrainedSpec(
        "transcriber", "mlrun_music_beatsight:pretrained/transcriber.pt",
        recipe="mlrun_music_beatsight:recipes/transcriber.toml"))

The card is ``<checkpoint>.card.json`` unless named. Cards are JSON (read and written with the standard library, and
carried verbatim into ONNX and RTNeural metadata). The first model a task's own plugin registers is the task's
default: every command that needs a model and is given none uses it and says so on one line.

Torch-free: listing tasks and printing cards never imports torch. Matching a card against its checkpoint (task,
model name, parameter count, size and SHA-256) happens where the checkpoint is loaded (``api.load_model``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from .errors import UserError
from .task import PretrainedSpec

__all__ = ["PretrainedSpec", "Shipped", "find_shipped", "locate", "read_card", "resolve_checkpoint"]

#: Kinds of training data a card may state.
DATA_KINDS = ("real", "proxy-labelled", "synthetic", "mixed")

#: Required card fields and their types (nested tables list their own).
CARD_SCHEMA: dict[str, Any] = {
    "task": str, "name": str, "model": str, "parameters": int, "file_bytes": int, "sha256": str,
    "summary": str,
    "data": {"name": str, "kind": str, "size": str, "licence": str},
    "recipe": {"command": str, "file": str},
    "cost": {"wall_seconds": (int, float), "cores": int},
    "figures": list,
    "limits": list,
}
#: Required fields of each entry of ``figures``: what was measured, on which data, against which baseline.
FIGURE_SCHEMA: dict[str, Any] = {"name": str, "data": str, "value": (int, float), "baseline": str,
                                 "baseline_value": (int, float, type(None))}


def locate(ref: str | Path) -> Path:
    """The file a ``"package:relative/path"`` reference (or a plain path) names; the package is found, not run."""
    text = str(ref)
    package, sep, rel = text.partition(":")
    if not sep or "/" in package or "\\" in package or not package.replace("_", "").replace(".", "").isalnum():
        return Path(text)
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"shipped file {text}: package '{package}' is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / rel


@attrs.frozen
class Shipped:
    """A shipped model of one task, its files located."""

    task: str
    spec: PretrainedSpec
    distribution: str

    @property
    def checkpoint(self) -> Path:
        return locate(self.spec.checkpoint)

    @property
    def card_path(self) -> Path:
        if self.spec.card:
            return locate(self.spec.card)
        ckpt = self.checkpoint
        return ckpt.with_name(ckpt.name + ".card.json") if ckpt.suffix != ".pt" else ckpt.with_suffix(".card.json")

    @property
    def recipe(self) -> Path | None:
        return locate(self.spec.recipe) if self.spec.recipe else None

    def card(self) -> dict[str, Any]:
        """The validated card (UserError naming the file when it is missing or malformed)."""
        return read_card(self.card_path, task=self.task)

    def require_files(self) -> Path:
        """The checkpoint path, or a one-line error naming the missing file."""
        path = self.checkpoint
        if not path.is_file():
            raise UserError(f"the shipped model '{self.spec.name}' of task '{self.task}' is missing: {path} does "
                            f"not exist (reinstall {self.distribution}, or name a checkpoint)")
        return path


def _check_fields(obj: Any, schema: dict[str, Any], where: str) -> None:
    if not isinstance(obj, dict):
        raise UserError(f"{where}: expected a table, got {type(obj).__name__}")
    missing = [k for k in schema if k not in obj]
    if missing:
        raise UserError(f"{where}: missing field(s) {', '.join(missing)}")
    for key, typ in schema.items():
        value = obj[key]
        if isinstance(typ, dict):
            _check_fields(value, typ, f"{where}: {key}")
        elif isinstance(value, bool) or not isinstance(value, typ):
            names = "/".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
            raise UserError(f"{where}: field '{key}' must be {names}, got {type(value).__name__}")


def validate_card(card: Any, where: str) -> dict[str, Any]:
    """Check a card's fields and types; returns it, or raises a one-line UserError starting with ``where``."""
    _check_fields(card, CARD_SCHEMA, where)
    if card["data"]["kind"] not in DATA_KINDS:
        raise UserError(f"{where}: data.kind must be one of {', '.join(DATA_KINDS)}, got '{card['data']['kind']}'")
    for i, fig in enumerate(card["figures"]):
        _check_fields(fig, FIGURE_SCHEMA, f"{where}: figures[{i}]")
    if not all(isinstance(x, str) for x in card["limits"]):
        raise UserError(f"{where}: limits must be a list of strings")
    return card


def read_card(path: Path, task: str | None = None) -> dict[str, Any]:
    """Read and validate the card at ``path``."""
    if not path.is_file():
        raise UserError(f"model card {path} does not exist")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UserError(f"model card {path} is not readable JSON ({type(exc).__name__})") from None
    validate_card(card, f"model card {path}")
    if task is not None and card["task"] != task:
        raise UserError(f"model card {path} describes task '{card['task']}', not '{task}'")
    return card


def file_digest(path: Path) -> tuple[int, str]:
    """Size in bytes and SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return path.stat().st_size, h.hexdigest()


def check_card_matches(card: dict[str, Any], card_path: Path, checkpoint: Path, state: dict[str, Any],
                       parameters: int) -> None:
    """A one-line UserError when the card does not describe this checkpoint (task, model, parameters, bytes)."""
    size, digest = file_digest(checkpoint)
    checks = [("task", card["task"], state.get("task")), ("model", card["model"], state.get("model_name")),
              ("parameters", card["parameters"], parameters), ("file_bytes", card["file_bytes"], size),
              ("sha256", card["sha256"], digest)]
    for field, stated, actual in checks:
        if stated != actual:
            raise UserError(f"model card {card_path} does not match {checkpoint}: {field} is {stated!r} on the "
                            f"card but {actual!r} in the checkpoint")


def shipped_models(registered: Any) -> list[Shipped]:
    """The task's shipped models, its own plugin's first (the first is the default)."""
    own = registered.source.distribution
    items = [Shipped(registered.name, spec, src.distribution) for spec, src in registered.pretrained.values()]
    return sorted(items, key=lambda s: s.distribution != own)


def find_shipped(registered: Any, name: str | None = None, option: str = "--shipped") -> Shipped:
    """The shipped model called ``name`` (default: the task's default), or a one-line UserError starting with
    ``option``, the caller's name for the choice."""
    models = shipped_models(registered)
    if not models:
        raise UserError(f"task '{registered.name}' ships no model; name a checkpoint (train one with "
                        f"`mlrun train {registered.name}`)")
    if name is None:
        return models[0]
    for m in models:
        if m.spec.name == name:
            return m
    raise UserError(f"{option}: task '{registered.name}' ships no model '{name}'; shipped: "
                    f"{', '.join(m.spec.name for m in models)}")


#: How ``--init-from`` names a shipped model of the task being trained (``shipped:NAME``).
SHIPPED_PREFIX = "shipped:"


def shipped_reference(task: str, ref: str) -> Path | None:
    """The checkpoint file of ``shipped:NAME`` (a shipped model of ``task``; ``shipped:`` alone is the default
    one); None when ``ref`` is not such a reference."""
    if not ref.startswith(SHIPPED_PREFIX):
        return None
    from .plugins import get_registry

    name = ref[len(SHIPPED_PREFIX):] or None
    try:
        return find_shipped(get_registry().get(task), name).require_files()
    except UserError as exc:
        raise UserError(f"--init-from {ref}: {str(exc).removeprefix('--shipped: ')}") from None


def shipped_for_path(registered: Any, path: Path) -> Shipped | None:
    """The shipped model whose checkpoint is ``path``, if any."""
    try:
        target = path.resolve()
    except OSError:
        return None
    for m in shipped_models(registered):
        try:
            if m.checkpoint.resolve() == target:
                return m
        except (OSError, UserError):
            continue
    return None


def announce(shipped: Shipped) -> None:
    """Say on one line (stderr) which shipped model a command uses."""
    print(f"using the shipped model '{shipped.spec.name}' of {shipped.task} ({shipped.checkpoint}); "
          f"`mlrun info {shipped.task}` shows its card", file=sys.stderr)


def resolve_checkpoint(registered: Any, checkpoint: str | Path | None, shipped: str | None = None,
                       quiet: bool = False, option: str = "--shipped") -> Path:
    """The checkpoint a command runs: the one named, else the task's shipped model (announced on one line).
    ``registered`` is a task name or the task as the registry holds it (``mlrun_music.api.task(name)``); ``option``
    is how the caller's command names the shipped-model choice, for its messages (e.g. ``--model``)."""
    if isinstance(registered, str):
        from .plugins import get_registry

        registered = get_registry().get(registered)
    if checkpoint is not None and shipped is not None:
        raise UserError(f"give a checkpoint or {option} {shipped}, not both")
    if checkpoint is not None:
        return Path(checkpoint)
    model = find_shipped(registered, shipped, option)
    path = model.require_files()
    if not quiet:
        announce(model)
    return path


def headline(card: dict[str, Any]) -> str:
    """The card's first figure beside its baseline, in one phrase."""
    if not card["figures"]:
        return "no held-out figure"
    fig = card["figures"][0]
    base = fig["baseline_value"]
    against = f" (baseline {fig['baseline']}: {base:.3g})" if base is not None else ""
    return f"{fig['name']} {fig['value']:.3g} on {fig['data']}{against}"


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def duration(seconds: float) -> str:
    """``42 s``, ``12 min`` or ``2.5 h``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def card_lines(card: dict[str, Any], path: Path | None = None, brief: bool = False) -> list[str]:
    """A human-readable rendering of a card (what ``mlrun info`` prints); ``brief``: four lines, the first figure
    only."""
    d, cost = card["data"], card["cost"]
    if brief:
        fig = card["figures"][0] if card["figures"] else None
        base = "" if fig is None or fig["baseline_value"] is None else \
            f"   baseline {fig['baseline']}: {fig['baseline_value']:.4g}"
        return [f"{card['name']}: {card['summary']}",
                f"  model {card['model']}, {card['parameters']:,} parameters, {_size(card['file_bytes'])}; recipe: "
                f"{card['recipe']['command']}  ({duration(cost['wall_seconds'])} on {cost['cores']} cores)",
                f"  data: {d['name']} ({d['kind']})",
                f"  {fig['name']} on {fig['data']}: {fig['value']:.4g}{base}" if fig else "  no held-out figure"]
    lines = [f"{card['name']}: {card['summary']}",
             f"  model {card['model']}, {card['parameters']:,} parameters, {_size(card['file_bytes'])}",
             f"  data: {d['name']} ({d['kind']}; {d['size']}; licence {d['licence']})",
             f"  recipe: {card['recipe']['command']}  ({duration(cost['wall_seconds'])} on {cost['cores']} cores)"]
    for fig in card["figures"]:
        base = fig["baseline_value"]
        against = f"   baseline {fig['baseline']}: {base:.4g}" if base is not None else f"   ({fig['baseline']})"
        lines.append(f"  {fig['name']} on {fig['data']}: {fig['value']:.4g}{against}")
    for limit in card["limits"]:
        lines.append(f"  limit: {limit}")
    if path is not None:
        lines.append(f"  card: {path}")
    return lines
