"""Run the exported kelly JSON files in RTNeural's C++ and compare with the NumPy runner and PyTorch.

Exports the five shipped models with ``mlrun kelly export --format rtneural`` (or takes ``--json-dir``), writes
fixed input vectors (seeded normals and zeros), runs each ``kelly_rtneural_check`` binary built by
``rtneural_cpp/build.sh`` (dynamic ``parseJson`` and compile-time ``ModelT``, LSTM state reset before every
vector and carried through a stream), and prints the largest absolute difference per model, form and mode.
The references: the NumPy runner on the same JSON, and the shipped PyTorch checkpoints (``[n, in]`` for
independent vectors, ``[1, n, in]`` for a stream). Exit status 1 when a difference is above ``--tolerance``.

    bash benchmarks/kelly/rtneural_cpp/build.sh RTNEURAL_SOURCE /tmp/kelly-rtneural-build
    python benchmarks/kelly/rtneural_check.py /tmp/kelly-rtneural-build/eigen/kelly_rtneural_check \\
        /tmp/kelly-rtneural-build/stl/kelly_rtneural_check
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from mlrun_music import api
from mlrun_music.fileio import write_text
from mlrun_music_kelly.commands import shipped_dir
from mlrun_music_kelly.models.networks import fingerprint
from mlrun_music_kelly.models.specs import MODELS
from mlrun_music_kelly.rtneural.runner import JsonModel


def inputs_for(in_size: int, count: int, seed: int) -> np.ndarray:
    """``count`` vectors: seeded normals (scale 1 and 3, to reach the activations' saturated ends) and zeros."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, in_size)).astype(np.float32)
    x[1::3] *= 3.0
    x[-1] = 0.0
    return x


def references(json_path: Path, checkpoint: Path, x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """NumPy runner and PyTorch outputs for ``x`` as independent vectors ("reset") and as one stream."""
    runner = JsonModel.load(json_path)
    numpy_reset = np.stack([(runner.reset(), runner.forward(v))[1] for v in x])
    numpy_stream = runner.run_sequence(x)
    model = api.load_model("kelly", checkpoint, quiet=True).model.eval()
    meta_sha = __import__("json").loads(json_path.read_text(encoding="utf-8"))["metadata"].get("weights_sha256")
    if meta_sha and meta_sha != fingerprint(model):
        sys.exit(f"{json_path}: its weights are not those of {checkpoint}")
    with torch.no_grad():
        torch_reset = model(torch.from_numpy(x)).numpy()
        torch_stream = model(torch.from_numpy(x)[None])[0].numpy()
    return {"numpy": {"reset": numpy_reset, "stream": numpy_stream},
            "pytorch": {"reset": torch_reset, "stream": torch_stream}}


def run_binary(binary: Path, json_dir: Path, inputs_txt: Path, timed: int) -> tuple[dict, str]:
    """Outputs by (form, mode, model) as arrays [vector, out], and the timing line if asked for."""
    cmd = [str(binary), str(json_dir), str(inputs_txt)] + ([str(timed)] if timed else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{binary}: exit {proc.returncode}: {proc.stderr.strip()}")
    rows: dict[tuple[str, str, str], dict[int, np.ndarray]] = defaultdict(dict)
    timing = ""
    for line in proc.stdout.splitlines():
        if line.startswith("# timing"):
            timing = line
            continue
        form, mode, name, idx, *values = line.split()
        rows[(form, mode, name)][int(idx)] = np.array(values, dtype=np.float64)
    return {k: np.stack([v[i] for i in sorted(v)]) for k, v in rows.items()}, timing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binaries", nargs="+", type=Path, help="kelly_rtneural_check builds (one per backend)")
    ap.add_argument("--json-dir", type=Path, default=None, help="the five JSON files (default: export the shipped)")
    ap.add_argument("--vectors", type=int, default=6)
    ap.add_argument("--tolerance", type=float, default=1e-5)
    ap.add_argument("--timed-calls", type=int, default=0, help="also time the C++ pipeline over this many calls")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        json_dir = args.json_dir
        if json_dir is None:
            json_dir = Path(tmp) / "exports"
            subprocess.run([sys.executable, "-m", "mlrun_music.cli", "kelly", "export", "--format", "rtneural",
                            "--output-dir", str(json_dir)], check=True, capture_output=True)
        blocks, refs = [], {}
        for k, spec in enumerate(MODELS):
            x = inputs_for(spec.input_size, args.vectors, seed=k)
            blocks.append(f"{spec.name} {spec.file_stem} {len(x)} {spec.input_size}\n" +
                          "\n".join(" ".join(f"{v:.9g}" for v in row) for row in x))
            refs[spec.name] = references(json_dir / f"{spec.file_stem}.json", shipped_dir() / f"{spec.file_stem}.pt",
                                         x)
        inputs_txt = Path(tmp) / "inputs.txt"
        write_text(inputs_txt, "\n".join(blocks) + "\n")

        worst = 0.0
        print("| binary | model | form | LSTM state | vs NumPy runner | vs PyTorch | reset changes stream by |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for binary in args.binaries:
            outputs, timing = run_binary(binary, json_dir, inputs_txt, args.timed_calls)
            for spec in MODELS:
                for form in ("dynamic", "static"):
                    for mode in ("reset", "stream"):
                        got = outputs[(form, mode, spec.name)]
                        d_np = float(np.max(np.abs(got - refs[spec.name]["numpy"][mode])))
                        d_pt = float(np.max(np.abs(got - refs[spec.name]["pytorch"][mode])))
                        # How far the stream's outputs are from the reset ones: zero for the dense-only models.
                        gap = float(np.max(np.abs(got - outputs[(form, "reset" if mode == "stream" else "stream",
                                                                 spec.name)])))
                        worst = max(worst, d_np, d_pt)
                        print(f"| {binary.parent.name}/{binary.name} | {spec.name} | {form} | {mode} | {d_np:.2e} | "
                              f"{d_pt:.2e} | {gap:.2e} |")
            if timing:
                print(f"\n{binary}: {timing}\n")
        print(f"\nlargest difference {worst:.2e} (tolerance {args.tolerance:g}); {args.vectors} vectors per model")
        if worst > args.tolerance:
            sys.exit(1)


if __name__ == "__main__":
    main()
