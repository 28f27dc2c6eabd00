"""Speed figures of the phase plugin: render, chop, data loader against training steps, apply real-time factor.

Usage: python benchmarks/phase/bench.py [--songs 6] [--seconds 60] [--out /tmp/phase_bench]
Prints a JSON object; the figures in plugins/phase/BENCHMARKS.md come from it. Everything runs on one thread
(torch and onnxruntime) so figures are per core; renders and chops run in one process.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--out", default="/tmp/phase_bench")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    from mlrun_music_phase.data.chop import chop_corpus
    from mlrun_music_phase.data.generate import generate_corpus
    from mlrun_music_phase.render import render_corpus

    res: dict = {"songs": args.songs, "song_seconds": args.seconds}
    t = time.perf_counter()
    generate_corpus(out / "midi", args.songs, seed=9, seconds=args.seconds)
    res["generate_songs_per_s"] = args.songs / (time.perf_counter() - t)

    for name, font in (("timidity_TimGM6mb", "/usr/share/sounds/sf2/TimGM6mb.sf2"),
                       ("fluidsynth_FluidR3Mono", "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3")):
        t = time.perf_counter()
        rep = render_corpus(out_path=out / f"r_{name}", midi_path=out / "midi", soundfonts=[Path(font)],
                            renderer="auto", jitter=0.02, max_processes=1, progress=False)
        wall = time.perf_counter() - t
        res[f"render_{name}"] = {"audio_s_per_synth_s": rep["audio_seconds_per_renderer_second"],
                                 "audio_s_per_wall_s_incl_parse_encode": rep["audio_seconds"] / wall}

    t = time.perf_counter()
    rep = chop_corpus(in_path=out / "r_timidity_TimGM6mb", out_path=out / "chunks", max_processes=1, seed=0,
                      progress=False)
    wall = time.perf_counter() - t
    audio_s = args.songs * args.seconds
    res["chop"] = {"chunks": rep["chunks"], "chunks_per_s": rep["chunks"] / wall, "song_audio_s_per_s": audio_s / wall}

    # Data loader (from the decoded cache) against training steps of the real model.
    from mlrun_music_phase.data.chunks import ChunkDataset, load_chunks
    from mlrun_music_phase.models.tcn import PhaseTCNMel, loss

    load_chunks(out / "chunks", 1.0)  # decode once: builds the cache
    t = time.perf_counter()
    chunks = load_chunks(out / "chunks", 1.0)
    res["cache_open_s"] = time.perf_counter() - t
    ds = ChunkDataset(chunks, list(range(len(chunks.names))) * 8, 0.0, 1.0)
    loader = torch.utils.data.DataLoader(ds, batch_size=args.batch_size, shuffle=True)
    t = time.perf_counter()
    n = 0
    for _ in loader:
        n += 1
    res["loader_batches_per_s"] = n / (time.perf_counter() - t)
    model = PhaseTCNMel()
    opt = torch.optim.Adam(model.parameters(), 1e-4)

    class Cfg:
        warmup_seconds = 8.0

    batch = next(iter(loader))
    loss(model, batch, Cfg).loss.backward()  # warm up
    t = time.perf_counter()
    steps = 3
    for _ in range(steps):
        opt.zero_grad()
        loss(model, batch, Cfg).loss.backward()
        opt.step()
    res["train_steps_per_s"] = steps / (time.perf_counter() - t)
    res["batch_size"] = args.batch_size
    res["loader_to_step_ratio"] = res["loader_batches_per_s"] / res["train_steps_per_s"]

    # Apply: real-time factor on 60 s of audio.
    from mlrun_music.export.onnx import export_onnx

    from mlrun_music_phase.apply import OnnxPhase, PhaseStream, predict_sincos
    from mlrun_music_phase.models.tcn import onnx_spec

    model.eval()
    audio = np.asarray(chunks.audio[0], dtype=np.float32) / 32767.0
    audio = np.tile(audio, 2)[: 60 * 16000]
    seconds = len(audio) / 16000
    predict_sincos(model, audio[:16000], 0.25)
    t = time.perf_counter()
    ref = predict_sincos(model, audio, 0.25)
    res["apply_torch_ms_per_audio_s"] = 1000 * (time.perf_counter() - t) / seconds
    export_onnx(model, onnx_spec(model, None, {}), out / "m.onnx")
    runner = OnnxPhase(out / "m.onnx", threads=1)
    runner.sincos(audio[:16000], 0.25)
    t = time.perf_counter()
    got = runner.sincos(audio, 0.25)
    res["apply_onnxruntime_ms_per_audio_s"] = 1000 * (time.perf_counter() - t) / seconds
    res["onnx_vs_torch_max_abs_diff"] = float(np.abs(got - ref).max())
    for backend in PhaseStream.BACKENDS:  # both streaming paths, 20 ms blocks (one frame each)
        PhaseStream(model, 0.25, backend).push(audio[:320])  # warm up (imports)
        stream = PhaseStream(model, 0.25, backend)
        block = 320
        t = time.perf_counter()
        for i in range(0, 10 * 16000, block):
            stream.push(audio[i:i + block])
        res[f"streaming_{backend}_ms_per_audio_s"] = 1000 * (time.perf_counter() - t) / 10
    res["torch_threads"] = torch.get_num_threads()
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
