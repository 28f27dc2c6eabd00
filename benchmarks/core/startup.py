"""Start-up cost: median wall time of `mlrun list` against `python -c "import torch"`, alternated in one run.

    .venv/bin/python benchmarks/core/startup.py [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

MLRUN = str(Path(sys.executable).with_name("mlrun"))


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    tasks = [t["name"] for t in json.loads(subprocess.run([MLRUN, "list", "--json"], capture_output=True,
                                                          text=True, check=True).stdout)["tasks"]]
    commands = {"mlrun list": [MLRUN, "list"], "import torch": [sys.executable, "-c", "import torch"],
                "python -c pass": [sys.executable, "-c", "pass"]}
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(args.repeats):
        for name, cmd in commands.items():
            times[name].append(timed(cmd))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"installed tasks: {', '.join(tasks)}; {args.repeats} alternated repeats")
    for k, v in med.items():
        print(f"  {k:15s} median {v * 1e3:7.1f} ms")
    ratio = med["mlrun list"] / med["import torch"]
    print(f"mlrun list / import torch = {ratio:.3f} (goal < 0.2)")


if __name__ == "__main__":
    main()
