"""The main job: first every shipped model evaluated on its task's embedded data (`mlrun evaluate TASK` with no
checkpoint), then a short training run of every installed first-party task on its embedded default data, with an
evaluation and an ONNX export of the result, ending with where each output is.

Each plugin ships ``plugins/<plugin>/demo.toml`` (``demo-<name>.toml`` for a second task ``<plugin>-<name>``) with
settings that keep its run to seconds or a few minutes on
2 CPU cores. Run it with ``.venv/bin/python scripts/demo.py [TASK ...]``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TASKS = ("phase", "emopia", "chromasonic", "beatsight", "beatsight-transcriber", "kelly")
MLRUN = str(Path(sys.executable).with_name("mlrun"))


def listing() -> list[dict]:
    out = subprocess.run([MLRUN, "list", "--json"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)["tasks"]


def installed() -> list[str]:
    return [t["name"] for t in listing()]


def shipped_tasks(wanted: list[str]) -> list[str]:
    """The wanted tasks that ship a ready model."""
    return [t["name"] for t in listing() if t["name"] in wanted and t.get("shipped")]


def demo_file(task: str, kind: str) -> Path:
    """``plugins/<plugin>/demo-<kind>`` of a task; a plugin's second task ``<plugin>-<name>`` adds its name
    (``demo.toml`` -> ``demo-<name>.toml``)."""
    plugin, _, name = task.partition("-")
    stem, dot, ext = kind.partition(".")
    return REPO / "plugins" / plugin / (f"{stem}-{name}{dot}{ext}" if name else kind)


def checkpoint_of(run_dir: Path, task: str) -> Path | None:
    """The demo checkpoint: the one ``demo-checkpoint.txt`` (:func:`demo_file`) names (relative to the run
    folder), else checkpoints/best.pt, else checkpoints/final.pt."""
    hint = demo_file(task, "demo-checkpoint.txt")
    if hint.is_file():
        path = run_dir / hint.read_text().strip()
        return path if path.is_file() else None
    for name in ("checkpoints/best.pt", "checkpoints/final.pt"):
        if (run_dir / name).is_file():
            return run_dir / name
    found = sorted(run_dir.rglob("*.pt"))
    return found[0] if found else None


def step(label: str, args: list[str]) -> tuple[bool, str]:
    """Run ``mlrun ARGS``, echoing its output; returns (succeeded, stdout)."""
    print(f"\n== {label}: mlrun {' '.join(args)}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen([MLRUN, *args], stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:  # type: ignore[union-attr]
        print(line, end="", flush=True)
        lines.append(line)
    code = proc.wait()
    print(f"-- {label}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {time.perf_counter() - t0:.1f} s")
    return code == 0, "".join(lines)


def main(argv: list[str]) -> int:
    wanted = argv or [t for t in TASKS if t in installed()]
    out_root = REPO / "runs" / "demo"
    shipped = {}
    for task in shipped_tasks(wanted):
        shipped[task] = step(f"{task} shipped model", ["evaluate", task, "--output", str(out_root / task / "shipped")])[0]
    results = {}
    for task in wanted:
        demo = demo_file(task, "demo.toml")
        args = ["train", task, "--output-dir", str(out_root), "--tag", "demo"]
        if demo.is_file():
            args += ["--config", str(demo)]
        ok, out = step(f"{task} train", args)
        run_line = [ln for ln in out.splitlines() if ln.startswith("run folder: ")]
        run_dir = Path(run_line[-1][len("run folder: "):]) if ok and run_line else None
        ckpt = checkpoint_of(run_dir, task) if run_dir else None
        entry = {"train": ok, "run_dir": str(run_dir) if run_dir else None, "checkpoint": str(ckpt) if ckpt else None}
        if ckpt is not None:
            entry["evaluate"] = step(f"{task} evaluate", ["evaluate", task, str(ckpt)])[0]
            entry["export"] = step(f"{task} export", ["export", task, str(ckpt), "--format", "onnx"])[0]
        results[task] = entry
    print("\n== summary")
    for task, ok in shipped.items():
        print(f"{task:12s} {'ok' if ok else 'FAILED':7s} shipped model evaluated: {out_root / task / 'shipped'}")
    for task, e in results.items():
        status = "ok" if e["train"] and e.get("evaluate") and e.get("export") else "FAILED"
        print(f"{task:12s} {status:7s} run folder: {e['run_dir']}")
        if e["checkpoint"]:
            print(f"{'':21s}checkpoint: {e['checkpoint']}")
    trained = all(e["train"] and e.get("evaluate") and e.get("export") for e in results.values())
    return 0 if trained and all(shipped.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
