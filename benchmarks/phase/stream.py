"""Streaming speed of ``phase apply --streaming``: the onnxruntime step against the NumPy recurrence, side by side
on the same audio in one run, and how far each is from the offline pass.

Usage:
  python benchmarks/phase/stream.py [--checkpoint X.pt] [--seconds 20] [--blocks-ms 20,100] [--repeats 3]

Audio: ``--seconds`` of the first held-out synthetic song when the embedded default is cached, else noise (the
cost does not depend on the content). Per backend and block size: milliseconds of compute per second of audio
(wall clock and process CPU time, best of ``--repeats``), the ratio old / new, and the largest circular phase
difference from the offline torch pass. One torch thread, one onnxruntime thread.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=None, help="default: the shipped model")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--blocks-ms", default="20,100")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    import torch

    from mlrun_music.api import load_model
    from mlrun_music.fileio import write_json
    from mlrun_music_phase.apply import PhaseStream, predict_phase
    from mlrun_music_phase.config import SAMPLE_RATE

    torch.set_num_threads(1)
    loaded = load_model("phase", args.checkpoint, quiet=True)
    model = loaded.model.eval()
    n = int(args.seconds * SAMPLE_RATE)
    audio, source = None, "noise"
    try:
        from mlrun_music.audio import load_audio
        from mlrun_music_phase.data.default import prepare_default
        from mlrun_music_phase.data.songs import song_audio

        songs = sorted(p.parent for p in prepare_default(loaded.config).test_songs.rglob("bars.csv"))
        path = song_audio(songs[0]) if songs else None
        if path is not None:
            audio, source = load_audio(path, SAMPLE_RATE)[:n], str(path)
    except Exception:  # noqa: BLE001 - any problem with the cached songs: fall back to noise
        audio = None
    if audio is None or len(audio) < n:
        audio = (0.1 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
        source = "noise"
    offline = predict_phase(model, audio, 0.0)
    rows = []
    for block_ms in [float(b) for b in args.blocks_ms.split(",")]:
        block = int(round(block_ms * SAMPLE_RATE / 1000))
        for backend in PhaseStream.BACKENDS:
            best_wall = best_cpu = float("inf")
            for _ in range(args.repeats):
                stream = PhaseStream(model, 0.0, backend)  # construction (the export) is not timed
                stream.push(np.zeros(0, dtype=np.float32))
                got = []
                w, c = time.perf_counter(), time.process_time()
                for i in range(0, len(audio), block):
                    got.append(stream.push(audio[i:i + block]))
                best_wall = min(best_wall, time.perf_counter() - w)
                best_cpu = min(best_cpu, time.process_time() - c)
            got = np.concatenate(got)
            diff = float(np.max(np.abs((got - offline + 0.5) % 1.0 - 0.5)))
            rows.append({"block_ms": block_ms, "backend": backend, "wall_ms_per_audio_s": 1000 * best_wall /
                         args.seconds, "cpu_ms_per_audio_s": 1000 * best_cpu / args.seconds,
                         "max_phase_diff_vs_offline": diff})
    print(f"\n{args.seconds:g} s of {source}; model {loaded.path.name}; best of {args.repeats}\n")
    print("| block | backend | wall ms per audio s | CPU ms per audio s | numpy / onnxruntime (CPU) | "
          "max phase difference from offline |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ref = next(x for x in rows if x["block_ms"] == r["block_ms"] and x["backend"] == "numpy")
        ratio = ref["cpu_ms_per_audio_s"] / r["cpu_ms_per_audio_s"]
        print(f"| {r['block_ms']:g} ms | {r['backend']} | {r['wall_ms_per_audio_s']:.1f} | "
              f"{r['cpu_ms_per_audio_s']:.1f} | {ratio:.2f} | {r['max_phase_diff_vs_offline']:.1e} |")
    if args.json:
        write_json(args.json, {"seconds": args.seconds, "audio": source, "model": str(loaded.path), "rows": rows})


if __name__ == "__main__":
    main()
