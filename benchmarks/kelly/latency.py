"""Latency of each kelly model and of the full five-model pipeline, one input per call, on one CPU core.

Runners: PyTorch eager (torch.set_num_threads(1)), onnxruntime (1 intra-op thread) and the NumPy RTNeural-JSON
runner. Prints a Markdown table of median and p99 in microseconds.

    python benchmarks/kelly/latency.py [--calls 2000]
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


def timeit(fn, x, calls: int) -> tuple[float, float]:
    for _ in range(min(200, calls)):
        fn(x)
    times = np.empty(calls)
    for i in range(calls):
        t0 = time.perf_counter()
        fn(x)
        times[i] = time.perf_counter() - t0
    return float(np.median(times) * 1e6), float(np.percentile(times, 99) * 1e6)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    args = ap.parse_args()
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

    rows.append(("full pipeline (5 models)", timeit(torch_pipeline, features, args.calls),
                 timeit(Pipeline(tmp, "onnx"), features, args.calls),
                 timeit(Pipeline(tmp, "numpy"), features, args.calls)))
    print(f"torch {torch.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}; "
          f"{args.calls} calls each, one input per call, one thread\n")
    print("| model | PyTorch eager median / p99 (us) | onnxruntime median / p99 (us) | NumPy JSON runner median / p99 (us) |")
    print("| --- | --- | --- | --- |")
    for name, a, b, c in rows:
        print(f"| {name} | {a[0]:.0f} / {a[1]:.0f} | {b[0]:.0f} / {b[1]:.0f} | {c[0]:.0f} / {c[1]:.0f} |")


if __name__ == "__main__":
    main()
