"""The ``mlrun`` command line: list, info, train, evaluate, export, plus commands plugins add.

Errors are one line on stderr with a non-zero exit; ``--debug`` or ``MLRUN_MUSIC_DEBUG=1`` shows tracebacks.
Nothing here imports torch at import time, so ``mlrun --help``, ``list`` and ``info`` stay fast.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from .config import (base_type, build_config, describe_allowed, fields_of, per_model_label, read_config_file,
                     varies_per_model)
from .errors import UserError, one_line
from .fileio import write_bytes, write_json
from .plugins import get_registry
from .task import resolve

ENV_DEBUG = "MLRUN_MUSIC_DEBUG"


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str))


# ---------------------------------------------------------------------------------------------------------------
# Options from attrs config classes


def config_options(cls: type, aliases: dict[str, tuple[str, ...]] | None = None) -> list[click.Option]:
    """One click option per config field; defaults stay None so we can tell which flags were given."""
    options = []
    for f in fields_of(cls):
        if f.metadata.get("table"):
            continue  # per_model: its own options (per_model_options)
        typ = base_type(f.type)
        kebab = "--" + f.name.replace("_", "-")
        names = [kebab, *f.metadata.get("aliases", ()), *(aliases or {}).get(f.name, ())]
        help_text = f"{f.metadata.get('help', '')} [{describe_allowed(f)}; default: {f.default!r}]"
        if typ is bool:
            negs = ["--no-" + n[2:] for n in names]
            decl = [f"{n}/{m}" for n, m in zip(names, negs)]
            options.append(click.Option(decl, f.name, default=None, help=help_text))
        else:
            ctype = {int: click.INT, float: click.FLOAT, str: click.STRING}[typ]
            options.append(click.Option(names, f.name, type=ctype, default=None, help=help_text,
                                        metavar=typ.__name__.upper()))
    return options


#: Prefix of the parameter names of per-model options (``--model.NAME.OPTION``).
_PER_MODEL = "per_model__"


def per_model_options(cls: type, models: list[str]) -> list[click.Option]:
    """``--model.NAME.OPTION`` for every model and every option that may differ between the models of one run
    (hidden from --help: ``mlrun info TASK`` names the pattern)."""
    options = []
    for model in models:
        for f in fields_of(cls):
            if not varies_per_model(f):
                continue
            typ = base_type(f.type)
            flag = per_model_label(model, f.name)
            dest = f"{_PER_MODEL}{len(options)}"
            decl = [f"{flag}/--model.{model}.no-{f.name.replace('_', '-')}"] if typ is bool else [flag]
            ctype = None if typ is bool else {int: click.INT, float: click.FLOAT, str: click.STRING}[typ]
            option = click.Option([*decl, dest], type=ctype, default=None, hidden=True)
            option.per_model = (model, f.name)  # type: ignore[attr-defined]
            options.append(option)
    return options


def split_per_model(command: click.Command, flags: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Take the given ``--model.NAME.OPTION`` values out of ``flags``: ``{model: {field: value}}``."""
    table: dict[str, dict[str, Any]] = {}
    for param in command.params:
        target = getattr(param, "per_model", None)
        if target is None:
            continue
        value = flags.pop(param.name, None)
        if value is not None:
            table.setdefault(target[0], {})[target[1]] = value
    return table


def read_task_config_file(file: str, adapter: Any = None) -> dict[str, Any]:
    """A config file's options, mapped by the task's adapter when it has one (its errors name the file)."""
    data = read_config_file(file)
    if adapter is None:
        return data
    try:
        return resolve(adapter)(data)
    except UserError as exc:
        raise UserError(f"{file}: {exc}", exc.exit_code) from None


def merge_config(cls: type, file: str | None, flags: dict[str, Any], adapter: Any = None,
                 per_model: dict[str, dict[str, Any]] | None = None,
                 file_values: dict[str, Any] | None = None) -> Any:
    """Field defaults < config file < command-line flags, validated (UserError names the key).

    ``file_values``: the file's options when the caller has read them already (:func:`read_task_config_file`).
    One model's options (``per_model``): the file's apply unless the same option is given as a flag for the whole
    run; ``--model.NAME.OPTION`` flags apply over everything."""
    values: dict[str, Any] = {}
    if file:
        values.update(file_values if file_values is not None else read_task_config_file(file, adapter))
        build_config(cls, values, where=f"{file}: ")  # report file errors with the file's name
    given = {k: v for k, v in flags.items() if v is not None}
    values.update(given)
    # The file's table passed build_config above, so it is a table of tables here.
    table = {model: {k: v for k, v in entry.items() if k not in given}
             for model, entry in values.get("per_model", {}).items()}
    for model, entry in (per_model or {}).items():
        table[model] = {**table.get(model, {}), **entry}
    values["per_model"] = {model: entry for model, entry in table.items() if entry}
    return build_config(cls, values, where="", as_options=given)


class TaskCommands(click.Group):
    """A group whose subcommands are the installed tasks, built on demand from each task's config class."""

    def __init__(self, *args: Any, make: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._make = make

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(get_registry().tasks)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        registered = get_registry().get(name)  # UserError for unknown / not installed / broken tasks
        return self._make(registered)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, r.task.description) for n, r in sorted(get_registry().tasks.items())]
        if rows:
            with formatter.section("Tasks"):
                formatter.write_dl(rows)


SHIPPED_HELP = "Use this shipped model of the task (see mlrun info TASK) instead of the default one."
SHIPPED_OPTION = click.Option(["--shipped"], default=None, metavar="NAME", help=SHIPPED_HELP)


# ---------------------------------------------------------------------------------------------------------------
# Commands


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="mlrun-music", prog_name="mlrun")
def cli(debug: bool) -> None:
    """mlrun: train, evaluate, export and run music machine-learning tasks (installed as plugins)."""
    # --debug is read by main() before the command runs, so errors anywhere show their traceback.


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> None:
    """Installed tasks, their models and datasets, and broken plugins."""
    from . import api

    tasks, broken = api.list_tasks(), api.broken_plugins()
    if as_json:
        _echo_json({"tasks": tasks, "broken": broken})
        return
    if not tasks:
        click.echo("no tasks installed (pip install ./plugins/<name> from the mlrun checkout)")
    for t in tasks:
        click.echo(f"{t['name']}  ({t['distribution']} {t['version']})  {t['description']}")
        ready = [f"{m['name']} ({m['headline']})" if m.get("headline") else f"{m['name']} ({m['error']})"
                 for m in t["shipped"]]
        click.echo(f"    ready model: {'; '.join(ready) if ready else 'none (train one: mlrun train ' + t['name'] + ')'}")
        for kind in ("models", "datasets"):
            items = []
            for item in t[kind]:
                label = item["name"] + (" [default]" if item.get("embedded") else "")
                if "source" in item:
                    label += f" [from {item['source']}]"
                items.append(label)
            click.echo(f"    {kind}: {', '.join(items) or '-'}")
        click.echo(f"    exports: {', '.join(t['exports']) or '-'}")
    for b in broken:
        click.echo(f"BROKEN {b['plugin']} ({b['distribution']}): {b['error']}")


@cli.command("info")
@click.argument("task_name", metavar="TASK")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--all", "show_all", is_flag=True, help="Also list the trainer options every task has.")
def info_cmd(task_name: str, as_json: bool, show_all: bool) -> None:
    """One task: its shipped models' cards, models, datasets (with their own options), exports and options."""
    from . import api
    from .pretrained import card_lines, shipped_models

    r = api.task(task_name)
    entry = next(t for t in api.list_tasks() if t["name"] == task_name)
    entry["options"] = api.describe_config(r.config_class)
    if r.task.evaluate_config is not None:
        entry["evaluate_options"] = api.describe_config(r.task.evaluate_config)
    if as_json:
        _echo_json(entry)
        return

    def show(options: list[dict[str, Any]], indent: str = "  ") -> None:
        if not show_all:  # names only: the help and defaults are one --all (or TASK --help) away
            for line in _wrapped([o["option"] for o in options], indent):
                click.echo(line)
            return
        for o in options:
            click.echo(f"{indent}{o['option']} ({o['allowed']}, default {o['default']!r}): {o['help']}")

    click.echo(f"{entry['name']}: {entry['description']}")
    click.echo(f"distribution: {entry['distribution']} {entry['version']}")
    shipped = shipped_models(r)
    click.echo("shipped models:" if shipped else f"shipped models: none (train one: mlrun train {task_name})")
    for i, m in enumerate(shipped):
        try:
            lines = card_lines(m.card(), m.card_path, brief=not show_all)
        except UserError as exc:
            lines = [f"{m.spec.name}: card unusable: {exc}"]
        lines[0] += " [default]" if i == 0 else ""
        click.echo("\n".join("  " + ln for ln in lines))
    if shipped and not show_all:
        click.echo(f"  (whole cards: mlrun info {task_name} --all)")
    commands = _task_commands(task_name)
    if commands:
        click.echo(f"commands: {', '.join(commands)}")
    click.echo("models:")
    for item in entry["models"]:
        extra = f" [from {item['source']}]" if "source" in item else ""
        click.echo(f"  {item['name']}{extra}: {item['description']}")
    if r.task.models_in_run is not None:
        click.echo("  one run trains several: --model.NAME.OPTION VALUE (or a [per_model.NAME] table in --config) "
                   "sets an option for one of them")
    click.echo("datasets:")
    for item in entry["datasets"]:
        extra = " [default]" if item.get("embedded") else ""
        extra += f" [from {item['source']}]" if "source" in item else ""
        click.echo(f"  {item['name']}{extra}: {item['description']}")
        show([o for o in entry["options"] if o["group"] == f"dataset:{item['name']}"], "      ")
    click.echo(f"exports: {', '.join(entry['exports']) or '-'}")
    hint = "" if show_all else f" (help and defaults: mlrun info {task_name} --all)"
    click.echo(f"options of {task_name}{hint}:")
    show([o for o in entry["options"] if o["group"] == "task"])
    trainer = [o for o in entry["options"] if o["group"] == "trainer"]
    if show_all:
        click.echo("trainer options:")
        show(trainer)
    else:
        click.echo(f"trainer options: {len(trainer)} more that every task has (mlrun info {task_name} --all)")
    if "evaluate_options" in entry:
        click.echo(f"evaluate options (mlrun evaluate {task_name}):")
        show(entry["evaluate_options"])


def _wrapped(words: list[str], indent: str, width: int = 110) -> list[str]:
    """``words`` joined by ", " into lines of at most ``width`` characters."""
    lines, line = [], ""
    for word in words:
        candidate = f"{line}, {word}" if line else word
        if line and len(indent) + len(candidate) > width:
            lines.append(indent + line + ",")
            candidate = word
        line = candidate
    return lines + ([indent + line] if line else [])


def _task_commands(task_name: str) -> list[str]:
    """``mlrun GROUP COMMAND`` lines of the command group a plugin added for this task (named like the task, or
    like its first word: beatsight-transcriber's commands live in ``mlrun beatsight``)."""
    for name in (task_name, task_name.split("-")[0]):
        group = cli.commands.get(name)
        if isinstance(group, click.Group):
            return [f"mlrun {name} {sub}" for sub in sorted(group.commands)]
    return []


def _make_train_command(registered: Any) -> click.Command:
    task = registered.task

    def run(config_file: str | None, model_arg: str | None, **flags: Any) -> None:
        from .training.distributed import ENV_CHILD, launched_by_torchrun, relaunch_under_torchrun

        if model_arg is not None:
            if flags.get("model") not in (None, model_arg):
                raise UserError(f"model given twice: '{model_arg}' and --model '{flags['model']}'")
            flags["model"] = model_arg
        per_model = split_per_model(command, flags)
        # The file's keys as the task's adapter maps them (the original project's shape) count as given too.
        file_values = read_task_config_file(config_file, task.config_file_adapter) if config_file else {}
        config = merge_config(registered.config_class, config_file, flags, task.config_file_adapter, per_model,
                              file_values)
        given = {k for k, v in flags.items() if v is not None} | set(file_values)
        registered.check_options_used(config, given, per_model)
        if config.nproc_per_node > 1 and not launched_by_torchrun() and not os.environ.get(ENV_CHILD):
            argv = _strip_option(sys.argv[1:], "--nproc-per-node")
            code = relaunch_under_torchrun(config.nproc_per_node, argv)
            if code:
                raise UserError(f"distributed training failed (torchrun exit code {code})", exit_code=code)
            return
        from . import api

        summary = api.train(task.name, config)
        _print_summary(summary)

    params: list[click.Parameter] = [
        click.Argument(["model_arg"], required=False, metavar="[MODEL]"),
        click.Option(["--config", "config_file"], type=click.Path(dir_okay=False),
                     help="TOML or JSON file setting any option; command-line flags win.")]
    params += config_options(registered.config_class, dict(task.option_aliases))
    if task.models_in_run is not None:
        params += per_model_options(registered.config_class, list(registered.models))
    command = click.Command(task.name, callback=run, params=params, help=f"Train {task.name}: {task.description}",
                            short_help=task.description)
    return command


def _strip_option(argv: list[str], name: str) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == name:
            skip = True
            continue
        if a.startswith(name + "="):
            continue
        out.append(a)
    return out


def _print_summary(summary: dict[str, Any]) -> None:
    if os.environ.get("RANK", "0") != "0":
        return
    click.echo(f"run folder: {summary.get('run_dir')}")
    for key in ("best", "final", "latest", "onnx"):
        if summary.get(key):
            value = summary[key]
            click.echo(f"  {key}: {', '.join(value) if isinstance(value, list) else value}")


@cli.group("train", cls=TaskCommands, make=_make_train_command)
def train_group() -> None:
    """Train a task: mlrun train TASK [options] (mlrun train TASK --help lists them)."""


def _make_evaluate_command(registered: Any) -> click.Command:
    task = registered.task

    def run(checkpoint: str | None, shipped: str | None, split: str, data: str | None, output: str | None,
            device: str, evaluator: str, **flags: Any) -> None:
        from . import api

        options = {k: v for k, v in flags.items() if v is not None}
        if task.evaluate_config is not None:  # checked here so that a bad value names the flag typed
            build_config(task.evaluate_config, options, as_options=options)
        result = api.evaluate(task.name, checkpoint, shipped=shipped, split=split, data=data, output=output,
                              device=device, evaluator=evaluator, options=options)
        _print_metrics(result["metrics"])
        click.echo(f"metrics written to {result['output']}")

    params: list[click.Parameter] = [
        click.Argument(["checkpoint"], required=False),
        SHIPPED_OPTION,
        click.Option(["--split"], type=click.Choice(["train", "val", "test"]), default="test", show_default=True,
                     help="Which split to evaluate."),
        click.Option(["--data"], default=None, help="Evaluate on this data folder instead of the training data."),
        click.Option(["--output"], default=None, help="Folder for metrics.json and plots (default: run folder)."),
        click.Option(["--device"], default="cpu", show_default=True, help="cpu, cuda, mps or auto."),
        click.Option(["--evaluator"], default="default", show_default=True, help="Which registered evaluation."),
    ]
    if task.evaluate_config is not None:
        params += config_options(task.evaluate_config)
    return click.Command(task.name, callback=run, params=params,
                         help=f"Evaluate a {task.name} checkpoint (default: the shipped model).",
                         short_help=task.description)


def _print_metrics(metrics: Any, prefix: str = "", depth: int = 0) -> None:
    """Print scalar metrics, two levels deep at most; larger tables stay in metrics.json."""
    if not isinstance(metrics, dict):
        click.echo(f"{prefix or 'result'}: {metrics}")
        return
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, float):
            click.echo(f"  {name}: {value:.6g}")
        elif isinstance(value, (int, str, bool)) or value is None:
            click.echo(f"  {name}: {value}")
        elif isinstance(value, dict) and depth < 1:
            _print_metrics(value, f"{name}.", depth + 1)


@cli.group("evaluate", cls=TaskCommands, make=_make_evaluate_command)
def evaluate_group() -> None:
    """Evaluate a checkpoint: mlrun evaluate TASK [CHECKPOINT] [--split test] [--data DIR]; no checkpoint = the
    task's shipped model."""


@cli.command("export")
@click.argument("task_name", metavar="TASK")
@click.argument("checkpoint", required=False)
@click.option("--format", "fmt", default="onnx", show_default=True,
              help="onnx, checkpoint (model-only: no optimizer or RNG state) or a task-specific format.")
@click.option("--output", default=None, help="Output file (default: <run folder>/exports/<model>.<format>).")
@click.option("--shipped", default=None, metavar="NAME", help=SHIPPED_HELP)
def export_cmd(task_name: str, checkpoint: str | None, fmt: str, output: str | None, shipped: str | None) -> None:
    """Export a checkpoint: mlrun export TASK [CHECKPOINT] --format F; no checkpoint = the task's shipped model."""
    from . import api

    result = api.export(task_name, checkpoint, fmt, output, shipped=shipped)
    line = f"exported {result['path']}"
    if "max_abs_diff" in result:
        line += f" (onnxruntime vs PyTorch max abs difference {result['max_abs_diff']:.2e})"
    click.echo(line)


@cli.command("render")
@click.argument("midi_file")
@click.option("-o", "--output", default=None, help="Audio file to write (.wav, .flac, .ogg; default: beside the MIDI).")
@click.option("--soundfont", default=None, help="SoundFont (.sf2/.sf3) or timidity patch set (.cfg) "
              "[default: /usr/share/sounds/sf2/TimGM6mb.sf2, installed by scripts/setup.sh].")
@click.option("--renderer", type=click.Choice(["auto", "timidity", "fluidsynth"]), default="auto", show_default=True,
              help="auto: fluidsynth for .sf3, else timidity.")
@click.option("--sample-rate", type=click.IntRange(8000, 192000), default=44100, show_default=True)
def render_cmd(midi_file: str, output: str | None, soundfont: str | None, renderer: str, sample_rate: int) -> None:
    """Render a MIDI file to audio with a General MIDI soundfont: mlrun render FILE.mid [-o FILE.wav]."""
    from .audio.render import DEFAULT_SOUNDFONT, render_file

    result = render_file(midi_file, output, soundfont or DEFAULT_SOUNDFONT, renderer, sample_rate)
    click.echo(f"rendered {result['path']} ({result['seconds']:.1f} s of audio; the MIDI lasts "
               f"{result['midi_seconds']:.1f} s)")


@cli.command("reproduce")
@click.argument("task_name", metavar="TASK")
@click.argument("recipe", required=False)
@click.option("--output-dir", default="runs", show_default=True,
              help="The work folder is <output-dir>/<task>/recipe-<name>/; rerunning resumes there.")
@click.option("--ship", is_flag=True, help="Copy the model and its card over the shipped ones (plugin developers, "
              "on an editable install).")
def reproduce_cmd(task_name: str, recipe: str | None, output_dir: str, ship: bool) -> None:
    """Run the recipe of a shipped model end to end: mlrun reproduce TASK [NAME | RECIPE.toml].

    Data preparation, every training stage, evaluation and export, each resumable; ends by printing the card the
    model would ship with and its figures beside the shipped card's.
    """
    from . import api
    from .pretrained import card_lines, find_shipped, shipped_models
    from .recipes import RecipeRun, build_card, compare_lines, read_recipe

    r = api.task(task_name)
    if recipe is not None and recipe.endswith(".toml"):
        path = Path(recipe)
        name = read_recipe(path, task_name)["recipe"]
        target = next((m for m in shipped_models(r) if m.spec.name == name), None)
    else:
        target = find_shipped(r, recipe)
        if target.recipe is None:
            raise UserError(f"the shipped model '{target.spec.name}' of {task_name} names no recipe")
        path, name = target.recipe, target.spec.name
    run = RecipeRun(task_name, path, Path(output_dir) / task_name / f"recipe-{name}")
    click.echo(f"recipe {name} (version {run.recipe['version']}) of {task_name}: {path}; work folder {run.work}")
    run.run(log=click.echo)
    loaded = api.load_model(task_name, run.model_path(), quiet=True)
    card = build_card(run, loaded, f"mlrun reproduce {task_name} {name}")
    write_json(run.work / "card.json", card)
    click.echo("card this run would ship:")
    click.echo("\n".join("  " + ln for ln in card_lines(card, run.work / "card.json")))
    shipped_card = None
    if target is not None:
        try:
            shipped_card = target.card()
        except UserError as exc:
            click.echo(f"(no shipped card to compare with: {exc})")
    click.echo("against the shipped card:" if shipped_card else "figures:")
    click.echo("\n".join(compare_lines(card, shipped_card)))
    if ship:
        if target is None:
            raise UserError(f"--ship: {task_name} ships no model called '{name}' to replace")
        write_bytes(target.checkpoint, run.model_path().read_bytes())
        write_json(target.card_path, card)
        click.echo(f"shipped: {target.checkpoint} and {target.card_path}")


# ---------------------------------------------------------------------------------------------------------------
# Plugin commands and the entry point


_commands_added = False


def add_plugin_commands() -> None:
    """Let each loaded plugin add commands; a plugin whose hook raises is reported, others still load."""
    global _commands_added
    if _commands_added:
        return
    _commands_added = True
    from .plugins import Broken

    registry = get_registry()
    pm = registry.plugin_manager
    if pm is None:
        return
    for impl in pm.hook.register_commands.get_hookimpls():
        try:
            impl.function(**{n: cli for n in impl.argnames if n == "cli"})
        except Exception as exc:  # noqa: BLE001
            name = pm.get_name(impl.plugin) or "?"
            registry.broken.append(Broken(name, name, f"register_commands: {one_line(exc)}"))


class Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C (a BaseException, so no `except Exception` swallows it), exit 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def _interrupted(args: list[str], code: int) -> int:
    """Say how to pick up an interrupted command: training and recipes resume when run again."""
    import shlex

    words = [a for a in args if a != "--debug"]
    if words[:1] in (["train"], ["reproduce"]):
        click.echo(f"error: interrupted; to resume, run the same command again: mlrun {shlex.join(words)}", err=True)
    else:
        click.echo("error: interrupted", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Console entry point: run the CLI and turn errors into one line plus an exit code."""
    import signal

    from .errors import clip

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get(ENV_DEBUG) == "1"
    for stream in (sys.stdout, sys.stderr):
        # A file name that is not valid UTF-8 must print as an escape, not end the command in an encoding error.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
    previous = None
    if argv is None:  # the console script; in-process callers (tests, notebooks) keep their own handlers
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        add_plugin_commands()
        cli.main(args=args, prog_name="mlrun", standalone_mode=False)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        return _interrupted(args, 130)
    except Terminated:
        return _interrupted(args, 143)
    except click.UsageError as exc:
        hint = f" (see mlrun {exc.ctx.command_path.split(' ', 1)[1] if exc.ctx and ' ' in exc.ctx.command_path else ''} --help)".replace("  ", " ")
        click.echo(f"error: {clip(exc.format_message())}{hint}", err=True)
        return 2
    except UserError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {clip(str(exc))}", err=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - a bug or an unexpected failure: one line unless debugging
        if debug:
            traceback.print_exc()
        click.echo(f"error: {clip(one_line(exc))} (run with --debug for the traceback)", err=True)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
