"""Recipes: the whole chain that produces a shipped model, as one TOML file a user reruns with one command.

A recipe names its task, a version, its stages and the card it writes::

    recipe = "mlp"                # the shipped model it reproduces
    version = 1
    task = "toy"

    [[stages]]
    name = "warmup"
    run = "train"                 # train | evaluate | export | command
    options = { epochs = 3 }      # any option of `mlrun train TASK`

    [[stages]]
    name = "finetune"
    run = "train"
    init_from = "warmup"          # that stage's best (else final) checkpoint
    options = { epochs = 2, learning_rate = 3e-4 }

    [[stages]]
    name = "evaluate"
    run = "evaluate"
    checkpoint = "finetune"

    [[stages]]
    name = "export"
    run = "export"
    checkpoint = "finetune"       # writes <work>/model.pt, the model-only checkpoint to ship

    [card]                        # what the card says beyond what the run measures; a figure's metric is a key of
                                  # an evaluate stage's metrics, or "<stage>.<key>" for one stage's
    summary = "..."
    data = { name = "...", kind = "synthetic", size = "...", licence = "..." }
    limits = ["..."]
    figures = [{ name = "test MSE", data = "64 held-out samples", metric = "mse",
                 baseline = "zero predictor", baseline_metric = "baseline_zero_mse" }]

A figure's baseline value is ``baseline_value`` (a number), ``baseline_metric`` (a key this run measured), or
``baseline_card = "NAME"``: the figure of the same metric (or ``baseline_card_metric``) on the card of the task's
shipped model NAME, read when the card is built, so a rerun of that model's recipe flows into this card.

A ``command`` stage runs ``mlrun ARGS...`` (e.g. a plugin's data preparation). In option values and arguments
``{work}`` is the recipe's work folder and ``{checkpoint:STAGE}`` a train stage's checkpoint.

Every stage runs as its own ``mlrun`` process. ``<work>/recipe-state.json`` records each finished stage with a
fingerprint of its definition and of every stage before it, and the wall time every attempt took; rerunning the
same command skips finished stages, and a train stage that was interrupted resumes from its latest checkpoint (the
trainer's own resume). A stage that fails stops the recipe, naming the stage; its outputs stay.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from .errors import UserError
from .fileio import write_json

STAGE_KINDS = ("train", "evaluate", "export", "command")
STATE_FILE = "recipe-state.json"
_PLACEHOLDER = re.compile(r"\{(work|checkpoint:[A-Za-z0-9_-]+)\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def read_recipe(path: Path, task: str) -> dict[str, Any]:
    """Read and check a recipe file; a one-line UserError names the file and what is wrong."""
    where = f"recipe {path}"
    if not path.is_file():
        raise UserError(f"{where} does not exist")
    try:
        recipe = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UserError(f"{where} is not readable TOML ({str(exc).splitlines()[0][:120]})") from None
    for key, typ in (("recipe", str), ("version", int), ("task", str), ("stages", list), ("card", dict)):
        if not isinstance(recipe.get(key), typ):
            raise UserError(f"{where}: '{key}' is missing or not a {typ.__name__}")
    if recipe["task"] != task:
        raise UserError(f"{where} is a recipe for task '{recipe['task']}', not '{task}'")
    names: list[str] = []
    for i, stage in enumerate(recipe["stages"]):
        at = f"{where}: stages[{i}]"
        if not isinstance(stage, dict) or not isinstance(stage.get("name"), str) or not _NAME.match(stage["name"]):
            raise UserError(f"{at}: needs a name of letters, digits, '-' and '_'")
        if stage["name"] in names:
            raise UserError(f"{at}: stage name '{stage['name']}' is used twice")
        if stage.get("run") not in STAGE_KINDS:
            raise UserError(f"{at} ({stage['name']}): run must be one of {', '.join(STAGE_KINDS)}")
        for ref_key in ("init_from", "checkpoint"):
            ref = stage.get(ref_key)
            if ref is not None and ref not in names:
                raise UserError(f"{at} ({stage['name']}): {ref_key} '{ref}' is not an earlier stage")
        if stage["run"] in ("evaluate", "export") and "checkpoint" not in stage:
            raise UserError(f"{at} ({stage['name']}): an {stage['run']} stage needs checkpoint = \"STAGE\"")
        if stage["run"] == "command" and not (isinstance(stage.get("args"), list) and stage["args"]):
            raise UserError(f"{at} ({stage['name']}): a command stage needs args = [\"plugin\", \"command\", ...]")
        if not isinstance(stage.get("options", {}), dict):
            raise UserError(f"{at} ({stage['name']}): options must be a table")
        names.append(stage["name"])
    exports = [s for s in recipe["stages"] if s["run"] == "export" and s.get("format", "checkpoint") == "checkpoint"]
    if len(exports) != 1:
        raise UserError(f"{where}: needs exactly one export stage writing the model-only checkpoint to ship")
    for fig in recipe["card"].get("figures", []):
        if isinstance(fig, dict) and "baseline_card" in fig:
            card_baseline(task, fig, where)  # fails before any stage runs, not after the last
    return recipe


def card_baseline(task: str, fig: dict[str, Any], where: str) -> float:
    """The value a ``baseline_card`` figure compares with: the figure of metric ``baseline_card_metric`` (default:
    the figure's own ``metric``) on the card of ``task``'s shipped model ``baseline_card``, read now."""
    from .pretrained import find_shipped
    from .plugins import get_registry

    at = f"{where}: figure '{fig.get('name')}'"
    name, metric = fig.get("baseline_card"), fig.get("baseline_card_metric", fig.get("metric"))
    if not isinstance(name, str) or not isinstance(metric, str):
        raise UserError(f"{at}: baseline_card and the metric to read (baseline_card_metric or metric) must be text")
    if "baseline_metric" in fig or "baseline_value" in fig:
        raise UserError(f"{at}: give one of baseline_card, baseline_metric and baseline_value")
    try:
        card = find_shipped(get_registry().get(task), name, option="baseline_card").card()
    except UserError as exc:
        raise UserError(f"{at}: {exc}") from None
    for other in card["figures"]:
        if other.get("metric") == metric:
            return float(other["value"])
    raise UserError(f"{at}: the card of the shipped model '{name}' has no figure of metric '{metric}'")


def _fingerprints(recipe: dict[str, Any]) -> dict[str, str]:
    """Each stage's fingerprint: its definition and every earlier stage's, so a change reruns what follows."""
    out, chain = {}, hashlib.sha256(f"{recipe['task']}/{recipe['recipe']}/{recipe['version']}".encode())
    for stage in recipe["stages"]:
        chain.update(json.dumps(stage, sort_keys=True).encode())
        out[stage["name"]] = chain.hexdigest()[:16]
    return out


class RecipeRun:
    """One run of a recipe in its work folder."""

    def __init__(self, task: str, recipe_path: Path, work: Path, mlrun: list[str] | None = None) -> None:
        self.task, self.path, self.work = task, recipe_path, work
        self.recipe = read_recipe(recipe_path, task)
        self.mlrun = mlrun or [sys.executable, "-m", "mlrun_music.cli"]
        self.fingerprints = _fingerprints(self.recipe)
        self.state_path = work / STATE_FILE
        self.state = self._read_state()

    def _read_state(self) -> dict[str, Any]:
        if not self.state_path.is_file():
            return {"stages": {}}
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            assert isinstance(state.get("stages"), dict)
            return state
        except (OSError, ValueError, AssertionError):
            raise UserError(f"{self.state_path} is damaged; delete it to run the recipe from the start") from None

    def _save(self) -> None:
        write_json(self.state_path, self.state)

    def stage_done(self, name: str) -> bool:
        entry = self.state["stages"].get(name, {})
        return bool(entry.get("done")) and entry.get("fingerprint") == self.fingerprints[name]

    def checkpoint_of(self, name: str) -> str:
        """The checkpoint a train stage produced (best, else final)."""
        summary_path = self.work / "stages" / self.task / name / "summary.json"
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise UserError(f"recipe stage '{name}' has no training summary ({summary_path})") from None
        stage = next(s for s in self.recipe["stages"] if s["name"] == name)
        if "models" in summary:  # a multi-model task: the stage names which model's checkpoint follows
            pick = stage.get("output_model")
            if pick not in summary["models"]:
                raise UserError(f"recipe stage '{name}' trained {', '.join(summary['models'])}; set output_model")
            summary = summary["models"][pick]
        best = summary.get("best") or [None]
        ckpt = best[0] or summary.get("final")
        if not ckpt:
            raise UserError(f"recipe stage '{name}' wrote no checkpoint")
        return str(ckpt)

    def _fill(self, value: Any) -> Any:
        if isinstance(value, str):
            def sub(m: re.Match[str]) -> str:
                key = m.group(1)
                return str(self.work) if key == "work" else self.checkpoint_of(key.split(":", 1)[1])
            return _PLACEHOLDER.sub(sub, value)
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        return value

    def command_of(self, stage: dict[str, Any]) -> list[str]:
        """The ``mlrun`` arguments that run ``stage``."""
        options = self._fill(stage.get("options", {}))
        kind = stage["run"]
        if kind == "train":
            config = {**options, "output_dir": str(self.work / "stages"), "tag": stage["name"],
                      "run_layout": "{task}/{tag}"}
            if stage.get("init_from"):
                config["init_from"] = self.checkpoint_of(stage["init_from"])
            config_path = self.work / "stages" / f"{stage['name']}.json"
            write_json(config_path, config)
            return ["train", self.task, "--config", str(config_path)]
        if kind == "command":
            return [str(a) for a in self._fill(stage["args"])]
        flags = [x for k, v in options.items() for x in _flag(k, v)]
        ckpt = self.checkpoint_of(stage["checkpoint"])
        if kind == "evaluate":
            return ["evaluate", self.task, ckpt, "--output", str(self.work / stage["name"]), *flags]
        fmt = stage.get("format", "checkpoint")
        out = self.work / ("model.pt" if fmt == "checkpoint" else f"{stage['name']}.{fmt}")
        return ["export", self.task, ckpt, "--format", fmt, "--output", str(out), *flags]

    def run(self, log: Any = print) -> dict[str, Any]:
        """Run every stage not yet done; returns the state. Raises UserError naming a failed stage."""
        self.work.mkdir(parents=True, exist_ok=True)
        stages = self.recipe["stages"]
        for i, stage in enumerate(stages, 1):
            name = stage["name"]
            if self.stage_done(name):
                log(f"[{i}/{len(stages)}] {name}: done earlier, skipped")
                continue
            args = self.command_of(stage)
            log(f"[{i}/{len(stages)}] {name}: mlrun {' '.join(args)}")
            entry = self.state["stages"].setdefault(name, {})
            entry.update(fingerprint=self.fingerprints[name], done=False)
            if entry.get("fingerprint_seconds") != self.fingerprints[name]:
                entry.update(seconds=0.0, fingerprint_seconds=self.fingerprints[name])
            t0 = time.perf_counter()
            try:
                code = subprocess.run([*self.mlrun, *args], stdin=subprocess.DEVNULL, check=False).returncode
            except KeyboardInterrupt:
                code = 130
            entry["seconds"] = round(entry.get("seconds", 0.0) + time.perf_counter() - t0, 2)
            entry["done"] = code == 0
            self._save()
            if code != 0:
                raise UserError(f"recipe {self.recipe['recipe']}: stage '{name}' failed (exit {code}); its outputs "
                                f"are kept in {self.work}; run the same command again to resume there",
                                exit_code=130 if code in (130, -2) else 1)
        return self.state

    def wall_seconds(self) -> float:
        """Wall time of every attempt of the recipe's current stages (a stage renamed or removed since no longer
        counts)."""
        names = {s["name"] for s in self.recipe["stages"]}
        return round(sum(float(e.get("seconds", 0.0)) for n, e in self.state["stages"].items() if n in names), 1)

    def metrics(self) -> dict[str, Any]:
        """Every evaluate stage's metrics, flattened to dotted keys (the last stage wins on a shared key), and each
        also under ``<stage>.`` so that a card can say which stage's figure it means."""
        flat: dict[str, Any] = {}
        for stage in self.recipe["stages"]:
            if stage["run"] == "evaluate":
                path = self.work / stage["name"] / "metrics.json"
                if path.is_file():
                    measured = json.loads(path.read_text(encoding="utf-8")).get("metrics", {})
                    _flatten(measured, "", flat)
                    _flatten(measured, f"{stage['name']}.", flat)
        return flat

    def model_path(self) -> Path:
        return self.work / "model.pt"


def _flag(key: str, value: Any) -> list[str]:
    opt = "--" + key.replace("_", "-")
    if isinstance(value, bool):
        return [opt if value else "--no-" + key.replace("_", "-")]
    return [opt, str(value)]


def _flatten(obj: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}{k}.", out)
    else:
        out[prefix[:-1]] = obj


def build_card(run: RecipeRun, loaded: Any, command: str) -> dict[str, Any]:
    """The card the recipe's model would ship with: the recipe's ``[card]`` plus what this run measured."""
    from .pretrained import file_digest, validate_card

    spec = run.recipe["card"]
    metrics = run.metrics()
    figures = []
    for fig in spec.get("figures", []):
        if fig.get("metric") not in metrics:
            raise UserError(f"recipe {run.path}: figure '{fig.get('name')}' reads metric '{fig.get('metric')}', which "
                            f"no evaluate stage reported")
        if "baseline_card" in fig:
            base = card_baseline(run.task, fig, f"recipe {run.path}")
        else:
            base = metrics.get(fig["baseline_metric"]) if fig.get("baseline_metric") else fig.get("baseline_value")
        figures.append({"name": fig["name"], "data": fig["data"], "value": round(float(metrics[fig["metric"]]), 4),
                        "metric": fig["metric"], "baseline": fig["baseline"],
                        "baseline_value": None if base is None else round(float(base), 4),
                        **({"baseline_card": fig["baseline_card"],
                            "baseline_card_metric": fig.get("baseline_card_metric", fig["metric"])}
                           if "baseline_card" in fig else {})})
    size, digest = file_digest(run.model_path())
    card = {
        "task": run.task, "name": run.recipe["recipe"], "model": loaded.checkpoint.get("model_name", ""),
        "parameters": sum(p.numel() for p in loaded.model.parameters()), "file_bytes": size, "sha256": digest,
        "summary": spec.get("summary", ""), "data": spec.get("data", {}),
        "recipe": {"command": command, "file": run.path.name, "version": run.recipe["version"]},
        "cost": {"wall_seconds": run.wall_seconds(), "cores": _cores(), **(
            {"note": spec["cost_note"]} if spec.get("cost_note") else {})},
        "figures": figures, "limits": list(spec.get("limits", [])),
    }
    return validate_card(card, f"recipe {run.path}: [card]")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def compare_lines(new: dict[str, Any], shipped: dict[str, Any] | None) -> list[str]:
    """This run's figures beside the shipped card's, one line each."""
    from .pretrained import duration

    old = {f["name"]: f for f in (shipped or {}).get("figures", [])}
    lines = []
    for fig in new["figures"]:
        line = f"  {fig['name']} on {fig['data']}: {fig['value']:.4g}"
        if fig["name"] in old:
            was = old[fig["name"]]["value"]
            line += f"   shipped {was:.4g} (this run {fig['value'] - was:+.4g})"
        else:
            line += "   (not on the shipped card)"
        lines.append(line)
    if shipped:
        lines.append(f"  wall time: {duration(new['cost']['wall_seconds'])} on {new['cost']['cores']} cores"
                     f"   shipped {duration(shipped['cost']['wall_seconds'])} on {shipped['cost']['cores']}")
    return lines
