"""Latency of each kelly model and of the full five-model pipeline, one input per call, on one CPU core.

Runners: PyTorch eager (torch.set_num_threads(1)), onnxruntime (1 intra-op thread) and the NumPy RTNeural-JSON
runner. Prints a Markdown table of median and p99 in microseconds, then the full pipeline measured in
``--repeats`` separate runs of ``--calls`` calls: p99 pooled over all runs, and the median and minimum of the
per-run p99. On a shared machine a single run's p99 is often one preemption by another process; the minimum over
runs shows what the code itself does when not preempted. The load average is printed before and after.

    taskset -c 1 python benchmarks/kelly/latency.py [--calls 2000] [--repeats 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def samples(fn, x, calls: int) -> np.ndarray:
    """Seconds per call for ``calls`` calls, after a warm-up."""
    for _ in range(min(200, calls)):
        fn(x)
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn(x)
        times[i] = time.perf_counter() - t0
    return times


def timeit(fn, x, calls: int) -> tuple[float, float]:
    times = samples(fn, x, calls)
    return float(np.median(times) * 1e6), float(np.percentile(times, 99) * 1e6)


def repeated(fn, x, calls: int, repeats: int) -> str:
    """p50 / p99 pooled, then median and minimum of the per-run p99, in microseconds."""
    runs = [samples(fn, x, calls) * 1e6 for _ in range(repeats)]
    pooled = np.concatenate(runs)
    per_run = np.array([np.percentile(r, 99) for r in runs])
    return (f"{np.median(pooled):.0f} / {np.percentile(pooled, 99):.0f} | "
            f"{np.median(per_run):.0f} | {per_run.min():.0f} | {per_run.max():.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=20, help="runs of --calls calls for the pipeline's p99 spread")
    args = ap.parse_args()
    load_before = os.getloadavg()
    torch.set_num_threads(1)
    import onnxruntime as ort

    from mlrun_music.export.onnx import export_onnx
    from mlrun_music_kelly.models.networks import build, onnx_spec
    from mlrun_music_kelly.models.specs import MODELS
    from mlrun_music_kelly.pipeline.run import Pipeline
    from mlrun_music_kelly.rtneural.export import write_rtneural
    from mlrun_music_kelly.rtneural.runner import JsonModel

    tmp = Path(tempfile.mkdtemp())
    torch.manual_seed(0)
    rows, torch_models = [], {}
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    for spec in MODELS:
        model = build(spec.name).eval()
        torch_models[spec.name] = model
        write_rtneural(model, tmp / f"{spec.file_stem}.json")
        export_onnx(model, onnx_spec(model, None, {}), tmp / f"{spec.file_stem}.onnx")
        x = np.random.default_rng(0).normal(size=spec.input_size).astype(np.float32)
        xt = torch.from_numpy(x)[None]
        sess = ort.InferenceSession(str(tmp / f"{spec.file_stem}.onnx"), opts, providers=["CPUExecutionProvider"])
        jm = JsonModel.load(tmp / f"{spec.file_stem}.json")

        def run_torch(v, m=model):
            with torch.inference_mode():
                return m(v)

        def run_json(v, m=jm):
            m.reset()
            return m.forward(v)

        rows.append((spec.name, timeit(run_torch, xt, args.calls),
                     timeit(lambda v, s=sess: s.run(None, {"input": v[None]}), x, args.calls),
                     timeit(run_json, x, args.calls)))

    features = np.random.default_rng(1).normal(size=128).astype(np.float32)

    def torch_pipeline(a):
        m = torch_models
        with torch.inference_mode():
            a = torch.from_numpy(a)[None]
            e = m["EmotionRecognizer"](a)
            return (m["MelodyTransformer"](e), m["HarmonyPredictor"](torch.cat([e, a[:, :64]], dim=1)),
                    m["DynamicsEngine"](e[:, :32]), m["GroovePredictor"](e))

    pipelines = {"PyTorch eager": torch_pipeline, "onnxruntime": Pipeline(tmp, "onnx"),
                 "NumPy JSON runner": Pipeline(tmp, "numpy")}
    rows.append(("full pipeline (5 models)", *(timeit(f, features, args.calls) for f in pipelines.values())))
    spread = {name: repeated(f, features, args.calls, args.repeats) for name, f in pipelines.items()}
    load_after = os.getloadavg()
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}; "
          f"{args.calls} calls each, one input per call, one thread; CPU affinity {sorted(os.sched_getaffinity(0))}; "
          f"load average (1/5/15 min) before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}\n")
    print("| model | PyTorch eager median / p99 (us) | onnxruntime median / p99 (us) | NumPy JSON runner median / p99 (us) |")
    print("| --- | --- | --- | --- |")
    for name, a, b, c in rows:
        print(f"| {name} | {a[0]:.0f} / {a[1]:.0f} | {b[0]:.0f} / {b[1]:.0f} | {c[0]:.0f} / {c[1]:.0f} |")
    print(f"\nfull pipeline, {args.repeats} runs of {args.calls} calls:\n")
    print("| runner | p50 / p99 pooled (us) | median of per-run p99 (us) | min per-run p99 (us) | max per-run p99 (us) |")
    print("| --- | --- | --- | --- | --- |")
    for name, cells in spread.items():
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    main()
