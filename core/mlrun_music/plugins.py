"""Loading plugins from entry points, each on its own, and collecting what they register.

A plugin that fails to import, or raises in a hook, is recorded as broken (one line) and everything else keeps
working. ``MLRUN_MUSIC_PLUGINS`` restricts loading: unset = all, empty = none, ``a,b`` = only those
(entry-point names or distribution names).
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
from typing import Any, Callable, Iterable

import attrs
import pluggy

from . import hookspecs
from .errors import UserError, did_you_mean, one_line
from .task import DatasetSpec, ModelSpec, PretrainedSpec, Task

ENTRY_POINT_GROUP = "mlrun_music"
ENV_PLUGINS = "MLRUN_MUSIC_PLUGINS"

#: Tasks that this project ships, and the distribution that provides each (for a helpful "not installed").
FIRST_PARTY = {
    "phase": ("mlrun-music-phase", "plugins/phase"),
    "emopia": ("mlrun-music-emopia", "plugins/emopia"),
    "chromasonic": ("mlrun-music-chromasonic", "plugins/chromasonic"),
    "beatsight": ("mlrun-music-beatsight", "plugins/beatsight"),
    "kelly": ("mlrun-music-kelly", "plugins/kelly"),
}


@attrs.define
class Source:
    """Where a registration came from."""

    plugin: str
    distribution: str
    version: str


@attrs.define
class Broken:
    """A plugin that could not be loaded or whose hook raised."""

    plugin: str
    distribution: str
    error: str


@attrs.define
class Registered:
    """A task with everything registered for it, and where each piece came from."""

    task: Task
    source: Source
    models: dict[str, tuple[ModelSpec, Source]] = attrs.field(factory=dict)
    datasets: dict[str, tuple[DatasetSpec, Source]] = attrs.field(factory=dict)
    losses: dict[str, tuple[Any, Source]] = attrs.field(factory=dict)
    exporters: dict[str, tuple[Any, Source]] = attrs.field(factory=dict)
    evaluators: dict[str, tuple[Any, Source]] = attrs.field(factory=dict)
    pretrained: dict[str, tuple[Any, Source]] = attrs.field(factory=dict)

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def config_class(self) -> type:
        """The task's config class, extended with the options of its datasets (each usable only with its own)."""
        extra = {name: spec.options for name, (spec, _) in self.datasets.items() if spec.options is not None}
        if not extra:
            return self.task.config_class
        key = tuple((name, id(cls)) for name, cls in extra.items())
        cached = _EXTENDED.get(self.task.config_class)
        if cached is not None and cached[0] == key:
            return cached[1]
        from .config import fields_of

        fields: dict[str, Any] = {}
        for dataset, cls in extra.items():
            for f in fields_of(cls):
                meta = {**f.metadata, "datasets": (dataset,), "dataset_option": dataset}
                fields[f.name] = attrs.field(default=f.default, type=f.type, metadata=meta)
        extended = attrs.make_class(self.task.config_class.__name__, fields, bases=(self.task.config_class,),
                                    kw_only=True)
        _EXTENDED[self.task.config_class] = (key, extended)
        return extended

    def dataset_name(self, requested: str) -> str:
        """The dataset a run trains on: ``requested``, the embedded default when empty, or the dataset that reads a
        path when ``requested`` is one (UserError naming what is available otherwise)."""
        from pathlib import Path

        name = requested
        if not name:
            embedded = [n for n, (spec, _) in self.datasets.items() if spec.embedded]
            if not embedded:
                raise UserError(f"task '{self.name}' has no embedded dataset; choose one with --dataset "
                                f"({', '.join(sorted(self.datasets))})")
            return embedded[0]
        if name not in self.datasets and (os.sep in name or Path(name).exists()):
            by_path = [n for n, (spec, _) in self.datasets.items() if spec.accepts_path]
            if by_path:
                if not Path(name).exists():
                    raise UserError(f"--dataset: {name} does not exist")
                return by_path[0]
        if name not in self.datasets:
            raise UserError(f"--dataset: unknown dataset '{name}' for task '{self.name}'"
                            f"{did_you_mean(name, sorted(self.datasets))}; "
                            f"available: {', '.join(sorted(self.datasets))}")
        return name

    def models_in_run(self, config: Any) -> list[str]:
        """The models a run with ``config`` trains: the task's ``models_in_run(config)`` when it trains several in
        one run, else ``--model`` (empty = the first registered)."""
        if self.task.models_in_run is not None:
            from .task import resolve

            return list(resolve(self.task.models_in_run)(config, tuple(self.models)))
        return [config.model or next(iter(self.models), "")]

    def check_options_used(self, config: Any, given: Any, per_model_flags: Any = None) -> None:
        """A one-line UserError for the first given option this run would not use (``per_model_flags``: the
        ``--model.NAME.OPTION`` flags given, ``{model: {field: value}}``)."""
        from .config import unused_options

        problems = self.per_model_problems(config, per_model_flags or {})
        problems += unused_options(config, given, self.dataset_name(config.dataset), self.models_in_run(config))
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UserError(problems[0] + more)

    def per_model_problems(self, config: Any, flags: Any) -> list[str]:
        """One line per option of ``config.per_model`` the run cannot use: an unknown model, a model this run does
        not train (given as a flag: a config file or the Python API may describe every model of the task), an
        option of another model, or any per-model option of a task that trains one model."""
        from .config import fields_of, per_model_label

        table = getattr(config, "per_model", None) or {}
        if table and self.task.models_in_run is None:
            model, entry = next(iter(table.items()))
            return [f"{per_model_label(model, next(iter(entry), 'option'))}: task '{self.name}' trains one model "
                    f"per run; give the option without --model.{model}."]
        trained = self.models_in_run(config) if table else []
        by_name = {f.name: f for f in fields_of(type(config))}
        problems = []
        for model, entry in table.items():
            for key in entry:
                label = per_model_label(model, key)
                wanted = by_name[key].metadata.get("models", ())
                if model not in self.models:
                    problems.append(f"{label}: unknown model '{model}'{did_you_mean(model, sorted(self.models))}; "
                                    f"models: {', '.join(self.models)}")
                elif model not in trained:
                    if key in flags.get(model, {}):
                        problems.append(f"{label} is unused: this run trains {', '.join(trained)}")
                elif wanted and model not in wanted:
                    problems.append(f"{label} is unused: --{key.replace('_', '-')} is an option of "
                                    f"{' and '.join(wanted)} only")
        return problems

    def export_formats(self) -> list[str]:
        # "checkpoint" (a model-only checkpoint) works for every task: it needs nothing from the plugin.
        return sorted(set(self.task.export_formats) | set(self.exporters) | {"checkpoint"})


#: Config classes extended with dataset options, per task config class: (which option classes, the class).
_EXTENDED: dict[type, tuple[tuple, type]] = {}


@attrs.define
class Registry:
    """Everything the installed plugins registered."""

    tasks: dict[str, Registered] = attrs.field(factory=dict)
    broken: list[Broken] = attrs.field(factory=list)
    #: Task names claimed by two distributions: withdrawn, so the wrong code never runs under a name.
    conflicts: dict[str, str] = attrs.field(factory=dict)
    plugin_manager: pluggy.PluginManager | None = None

    def get(self, name: str) -> Registered:
        """The task called ``name``, or a UserError that lists what is installed and how to get it."""
        if name in self.tasks:
            return self.tasks[name]
        installed = ", ".join(sorted(self.tasks)) or "none"
        if name in self.conflicts:
            raise UserError(f"{self.conflicts[name]}; uninstall one of them")
        for b in self.broken:
            if b.plugin == name:
                raise UserError(f"task '{name}' is broken: {b.error}")
        if name in FIRST_PARTY:
            dist, path = FIRST_PARTY[name]
            raise UserError(
                f"task '{name}' is not installed; it is provided by {dist}: "
                f"pip install ./{path} (from the mlrun checkout); installed tasks: {installed}"
            )
        raise UserError(f"unknown task '{name}'{did_you_mean(name, sorted(self.tasks))}; installed tasks: {installed}")


def _entry_points() -> list[md.EntryPoint]:
    # Sorted, so which of two clashing plugins is reported does not depend on sys.path order.
    eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP),
                 key=lambda ep: (ep.dist.name if ep.dist is not None else "", ep.name))
    allowed = os.environ.get(ENV_PLUGINS)
    if allowed is None:
        return eps
    wanted = {w.strip() for w in allowed.split(",") if w.strip()}
    return [ep for ep in eps if ep.name in wanted or (ep.dist is not None and ep.dist.name in wanted)]


def _source_of(ep: md.EntryPoint | None, name: str) -> Source:
    if ep is None or ep.dist is None:
        return Source(name, name, "")
    return Source(ep.name, ep.dist.name, ep.dist.version)


def load_registry(extra_plugins: Iterable[tuple[str, Any]] = ()) -> Registry:
    """Load every allowed entry point on its own, call its hooks, and return the registry.

    ``extra_plugins`` are ``(name, object)`` pairs registered as if they came from entry points (tests, notebooks).
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    registry = Registry(plugin_manager=pm)
    loaded: list[tuple[Any, Source]] = []

    for ep in _entry_points():
        source = _source_of(ep, ep.name)
        try:
            plugin = ep.load()
            if pm.is_registered(plugin):
                continue
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any failure of a plugin is reported, not raised
            registry.broken.append(Broken(ep.name, source.distribution, one_line(exc)))
            continue
        loaded.append((plugin, source))
    for name, plugin in extra_plugins:
        if not pm.is_registered(plugin):
            pm.register(plugin, name=name)
            loaded.append((plugin, Source(name, name, "")))

    # Tasks first, then additions to them, so a plugin may extend a task registered by another.
    for hook in ("register_tasks", "register_models", "register_datasets", "register_losses",
                 "register_exporters", "register_evaluators", "register_pretrained"):
        for plugin, source in loaded:
            if any(b.plugin == source.plugin for b in registry.broken):
                continue
            _call_hook(registry, plugin, source, hook)
    return registry


def _call_hook(registry: Registry, plugin: Any, source: Source, hook: str) -> None:
    impls = [i for i in getattr(registry.plugin_manager.hook, hook).get_hookimpls() if i.plugin is plugin]
    if not impls:
        return
    register = _make_register(registry, source, hook)
    try:
        for impl in impls:
            # Pass only the arguments the plugin asks for, so hooks can grow without breaking it.
            impl.function(**{name: register for name in impl.argnames if name == "register"})
    except Exception as exc:  # noqa: BLE001
        registry.broken.append(Broken(source.plugin, source.distribution, f"{hook}: {one_line(exc)}"))
        # Anything this plugin registered is withdrawn, so a half-registered plugin never half-works.
        for name in [n for n, r in registry.tasks.items() if r.source.plugin == source.plugin]:
            del registry.tasks[name]
        for reg in registry.tasks.values():
            for table in (reg.models, reg.datasets, reg.losses, reg.exporters, reg.evaluators, reg.pretrained):
                for key in [k for k, (_, s) in table.items() if s.plugin == source.plugin]:
                    del table[key]


class _Conflict(Exception):
    pass


def _make_register(registry: Registry, source: Source, hook: str) -> Callable[..., None]:
    def add(table: dict, key: str, obj: Any, what: str) -> None:
        if key in table:
            old, old_source = table[key]
            if old is obj or old == obj:
                return  # registering the same object twice is harmless
            raise _Conflict(
                f"{what} '{key}' is registered by both {old_source.distribution} and {source.distribution}"
            )
        table[key] = (obj, source)

    def task_of(task_name: str) -> Registered:
        if task_name not in registry.tasks:
            raise UserError(f"cannot extend unknown task '{task_name}'")
        return registry.tasks[task_name]

    def register_task(task: Task) -> None:
        if not isinstance(task, Task):
            raise TypeError(f"register_tasks expects Task, got {type(task).__name__}")
        existing = registry.tasks.get(task.name)
        if existing is not None:
            if existing.task is task or existing.task == task:
                return
            message = (f"task '{task.name}' is registered by both {existing.source.distribution} "
                       f"and {source.distribution}")
            registry.conflicts[task.name] = message
            del registry.tasks[task.name]
            raise _Conflict(message)
        if task.name in registry.conflicts:
            return
        reg = Registered(task, source)
        for spec in task.models:
            add(reg.models, spec.name, spec, "model")
        for spec in task.datasets:
            add(reg.datasets, spec.name, spec, "dataset")
        if task.loss is not None:
            add(reg.losses, "default", task.loss, "loss")
        if task.evaluate is not None:
            add(reg.evaluators, "default", task.evaluate, "evaluator")
        for fmt, fn in task.exports.items():
            add(reg.exporters, fmt, fn, "export format")
        registry.tasks[task.name] = reg

    if hook == "register_tasks":
        return register_task
    if hook == "register_models":
        return lambda task_name, spec: add(task_of(task_name).models, spec.name, spec, "model")
    if hook == "register_datasets":
        def register_dataset(task_name: str, spec: Any) -> None:
            reg = task_of(task_name)
            if spec.options is not None:
                _check_dataset_options(reg, spec)
            add(reg.datasets, spec.name, spec, "dataset")
        return register_dataset
    if hook == "register_pretrained":
        def register_pretrained(task_name: str, spec: Any) -> None:
            if not isinstance(spec, PretrainedSpec):
                raise TypeError(f"register_pretrained expects PretrainedSpec, got {type(spec).__name__}")
            add(task_of(task_name).pretrained, spec.name, spec, "shipped model")
        return register_pretrained
    table = {"register_losses": "losses", "register_exporters": "exporters", "register_evaluators": "evaluators"}[hook]
    return lambda task_name, name, fn: add(getattr(task_of(task_name), table), name, fn, table[:-1])


def _check_dataset_options(reg: Registered, spec: DatasetSpec) -> None:
    """A dataset's options may not take a name the task or another dataset already uses."""
    from .config import fields_of

    taken = {f.name: f"task '{reg.name}'" for f in fields_of(reg.task.config_class)}
    for other, (other_spec, _) in reg.datasets.items():
        if other_spec.options is not None:
            taken.update({f.name: f"dataset '{other}'" for f in fields_of(other_spec.options)})
    for f in fields_of(spec.options):
        if f.name in taken:
            raise _Conflict(f"dataset '{spec.name}' declares option --{f.name.replace('_', '-')}, which "
                            f"{taken[f.name]} already has")


_CACHE: Registry | None = None


def get_registry(refresh: bool = False) -> Registry:
    """The process-wide registry, loaded once."""
    global _CACHE
    if _CACHE is None or refresh:
        _CACHE = load_registry()
    return _CACHE


def torch_imported() -> bool:
    """Whether torch has been imported in this process (start-up tests use it)."""
    return "torch" in sys.modules
