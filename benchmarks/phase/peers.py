"""Downbeat F of phase's model beside two published trackers on the same audio, scored the same way in one run.

Peers: madmom's downbeat tracker (RNNDownBeatProcessor + DBNDownBeatTrackingProcessor, Böck et al. 2016; offline,
it sees the whole song) and BeatNet (Heydari et al. 2021; mode 'online' with its particle filter, causal like
phase). They run in their own virtual environment (``benchmarks/phase/peers_env.sh``), never in the project's.

Usage:
  bash benchmarks/phase/peers_env.sh                                   # once: /tmp/phase-peers-venv
  python benchmarks/phase/peers.py --set synthetic --json /tmp/peers_synthetic.json
  python benchmarks/phase/peers.py --set scores --json /tmp/peers_scores.json
  python benchmarks/phase/peers.py --set songs --max-seconds 45 --json /tmp/peers_songs.json  # first 45 s each
  python benchmarks/phase/peers.py --data DIR [--checkpoint X.pt]      # any folder of rendered songs (bars.csv)
  python benchmarks/phase/peers.py --set synthetic --systems ours,tempo_only --max-items 2   # no peers needed

Items, labels, the ignored warmup (the checkpoint's, 8 s) and the score come from ``mlrun_music_phase.evaluate``
(``load_items``, ``score``, ``_aggregate``): a peer's downbeat times become a phase track whose wraps fall exactly
on those times (checked), so every system goes through the same ``score`` call (mir_eval, 70 ms). Ours runs at
anticipation 0. Each song is written once as a mono 22.05 kHz WAV (the rendered songs are 16 kHz, so every
system hears the same audio band-limited to 8 kHz); madmom gets it upsampled by 2 to the 44.1 kHz its models
expect. Prints markdown tables; ``--json`` keeps every figure and the F of every item.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

PEER_RATE = 22050
PEER_SYSTEMS = ("madmom", "madmom_6", "beatnet")
ALL_SYSTEMS = ("ours", *PEER_SYSTEMS, "tempo_only")
LABELS = {"ours": "phase (ours, causal, anticipation 0)", "madmom": "madmom, offline DBN, 2/3/4 beats per bar",
          "madmom_6": "madmom, offline DBN, 2/3/4/6 beats per bar", "beatnet": "BeatNet, online (causal) PF",
          "tempo_only": "tempo only (true bar length, phase 0 at the start)"}

# Runs inside the peers' venv: reads a job (JSON) and prints one line "PEERS_JSON {...}" with downbeat times per
# file and system, plus the seconds each system took. Progress goes to stderr.
RUNNER = r'''
import json, sys, time

import numpy as np

np.in1d = np.isin  # removed in numpy 2; BeatNet's particle filter calls it on 1-D arrays only
import torch
from scipy.io import wavfile
from scipy.signal import resample_poly

torch.set_num_threads(1)
job = json.loads(open(sys.argv[1], encoding="utf-8").read())
systems = job["systems"]
out = {"downbeats": {}, "seconds": {s: 0.0 for s in systems}, "versions": {}}
if any(s.startswith("madmom") for s in systems):
    import madmom
    from madmom.audio.signal import Signal
    from madmom.features.downbeats import DBNDownBeatTrackingProcessor, RNNDownBeatProcessor

    out["versions"]["madmom"] = madmom.__version__
    rnn = RNNDownBeatProcessor()
    dbns = {"madmom": DBNDownBeatTrackingProcessor(beats_per_bar=[2, 3, 4], fps=100),
            "madmom_6": DBNDownBeatTrackingProcessor(beats_per_bar=[2, 3, 4, 6], fps=100)}
if "beatnet" in systems:
    from importlib.metadata import version

    from BeatNet.BeatNet import BeatNet

    out["versions"]["BeatNet"] = version("BeatNet")
for name, wav in job["files"]:
    res = {}
    rate, x = wavfile.read(wav)
    x = x.astype(np.float32) / 32768.0
    if any(s.startswith("madmom") for s in systems):
        t = time.perf_counter()
        sig = Signal(resample_poly(x, 2, 1).astype(np.float32), sample_rate=2 * rate, num_channels=1)
        act = rnn(sig)
        rnn_s = time.perf_counter() - t
        for s in ("madmom", "madmom_6"):
            if s in systems:
                t = time.perf_counter()
                beats = dbns[s](act)
                res[s] = [float(b[0]) for b in beats if int(b[1]) == 1]
                out["seconds"][s] += rnn_s + time.perf_counter() - t
    if "beatnet" in systems:
        t = time.perf_counter()
        np.random.seed(job["seed"])  # the particle filter draws from numpy's global generator
        tracker = BeatNet(job["beatnet_model"], mode="online", inference_model="PF", plot=[], thread=False)
        beats = tracker.process(wav)  # a fresh tracker per file: its LSTM state persists across calls
        res["beatnet"] = [float(b[0]) for b in beats if int(b[1]) == 1]
        out["seconds"]["beatnet"] += time.perf_counter() - t
    out["downbeats"][name] = res
    print(f"peers: {name} done", file=sys.stderr, flush=True)
print("PEERS_JSON " + json.dumps(out))
'''


def phase_track(downbeats: np.ndarray, n: int, fps: float) -> np.ndarray:
    """A phase per frame whose wraps (``wrap_times``) fall exactly on ``downbeats`` (seconds).

    Between downbeats the phase runs linearly; one bar before the first and after the last it is extended with the
    neighbouring bar's length (NaN beyond). The two frames around each downbeat get values on one straight line
    through the wrap, so interpolating the crossing gives the downbeat time itself rather than a frame-rounded one.
    """
    from mlrun_music_phase.data.labels import phase_at

    d = np.unique(np.asarray(downbeats, dtype=np.float64))
    p = np.full(n, np.nan)
    if len(d) == 0:
        return p
    lengths = np.diff(d) if len(d) > 1 else np.array([2.0])
    ext = np.concatenate([[d[0] - lengths[0]], d, [d[-1] + lengths[-1]]])
    p = phase_at(np.arange(n) / fps, ext)
    for k, db in enumerate(d):
        pos = db * fps
        i = int(np.floor(pos))
        if i < 0 or i + 1 >= n:
            continue
        frac = pos - i
        slope = 1.0 / (fps * (db - ext[k]))  # phase per frame over the bar that ends here
        p[i], p[i + 1] = 1.0 - frac * slope, (1.0 - frac) * slope
    return p


def check_track(track: np.ndarray, downbeats: np.ndarray, fps: float) -> None:
    """The wraps of ``track`` are the given downbeats (those at least a frame inside the track)."""
    from mlrun_music_phase.data.labels import wrap_times

    d = np.unique(np.asarray(downbeats, dtype=np.float64))
    d = d[(d >= 0) & (np.floor(d * fps) + 1 < len(track))]
    got = wrap_times(track, fps)
    if len(got) != len(d) or (len(d) and np.max(np.abs(got - d)) > 1e-6):
        raise RuntimeError(f"phase track does not reproduce its downbeats ({len(got)} wraps for {len(d)})")


def item_audio_path(folder: Path, name: str) -> Path:
    """The audio file behind an item of ``load_items`` (a rendered song folder or a chunk's audio file)."""
    from mlrun_music_phase.data.chunks import AUDIO_SUFFIXES
    from mlrun_music_phase.data.songs import song_audio

    if (folder / name).is_dir():
        found = song_audio(folder / name)
        if found is not None:
            return found
    for suffix in AUDIO_SUFFIXES:
        if (folder / f"{name}{suffix}").is_file():
            return folder / f"{name}{suffix}"
    raise FileNotFoundError(f"no audio for item {name} under {folder}")


def write_wavs(folder: Path, names: list[str], out: Path, max_seconds: float = 0.0) -> list[tuple[str, str, float]]:
    """Each item as mono 16-bit WAV at 22.05 kHz under ``out`` (its first ``max_seconds`` when > 0): (name, wav
    path, seconds)."""
    import soundfile as sf

    from mlrun_music.audio import load_audio
    from mlrun_music.fileio import atomic_path

    files = []
    for i, name in enumerate(names):
        audio = load_audio(item_audio_path(folder, name), PEER_RATE)
        if max_seconds > 0:
            audio = audio[: int(max_seconds * PEER_RATE)]
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        if peak > 1.0:
            audio = audio / peak  # 16-bit PCM clips above full scale
        wav = out / f"{i:04d}.wav"
        with atomic_path(wav, suffix=".wav") as tmp:
            sf.write(tmp, audio, PEER_RATE, subtype="PCM_16", format="WAV")
        files.append((name, str(wav), len(audio) / PEER_RATE))
    return files


def run_peers(python: str, files: list[tuple[str, str, float]], systems: list[str], work: Path, jobs: int,
              beatnet_model: int, seed: int) -> dict[str, Any]:
    """Downbeat times of every peer system on every file, from ``jobs`` runner processes in the peers' venv."""
    from mlrun_music.errors import UserError
    from mlrun_music.fileio import write_json, write_text

    if not Path(python).is_file():
        raise UserError(f"--peers-python: {python} does not exist; run bash benchmarks/phase/peers_env.sh first "
                        f"(or give --systems ours,tempo_only)")
    runner = write_text(work / "peers_runner.py", RUNNER)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONPATH": ""}
    shards = [files[j::jobs] for j in range(jobs) if files[j::jobs]]
    procs = []
    for j, shard in enumerate(shards):
        job = write_json(work / f"job_{j}.json", {"files": [[n, w] for n, w, _ in shard], "systems": systems,
                                                  "beatnet_model": beatnet_model, "seed": seed})
        procs.append(subprocess.Popen([python, str(runner), str(job)], stdout=subprocess.PIPE, env=env, text=True))
    merged: dict[str, Any] = {"downbeats": {}, "seconds": {s: 0.0 for s in systems}, "versions": {}}
    for proc in procs:
        stdout, _ = proc.communicate()
        lines = [ln for ln in stdout.splitlines() if ln.startswith("PEERS_JSON ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"peers runner failed (exit {proc.returncode}); its stderr is above")
        part = json.loads(lines[-1][len("PEERS_JSON "):])
        merged["downbeats"].update(part["downbeats"])
        merged["versions"].update(part["versions"])
        for s, v in part["seconds"].items():
            merged["seconds"][s] += v
    return merged


def data_folder(args: argparse.Namespace, config: Any) -> Path:
    """The folder of rendered songs: --data, the embedded default's held-out songs, the real-score set or the
    General MIDI songs set (the ``mlrun evaluate phase`` defaults of each)."""
    from mlrun_music.config import build_config
    from mlrun_music.errors import UserError
    from mlrun_music_phase.config import PhaseEvalConfig

    if args.data:
        return Path(args.data)
    if args.set == "scores":
        from mlrun_music_phase.data.scores import build_scores

        o = build_config(PhaseEvalConfig, {"scores_per_source": args.scores_per_source})
        return build_scores(per_source=o.scores_per_source, sources=o.scores_sources, first=o.scores_first,
                            max_bars=o.scores_max_bars, max_seconds=o.scores_max_seconds,
                            soundfont=o.scores_soundfont, timeout=o.scores_timeout)
    if args.set == "songs":
        from mlrun_music_phase.data.songset import build_songs

        o = build_config(PhaseEvalConfig, {"songs_split": args.songs_split})
        return build_songs(dirs=o.songs_dirs, split=o.songs_split, max_seconds=o.songs_max_seconds,
                           soundfont=o.songs_soundfont)
    if config.chunks_path:
        raise UserError(f"this checkpoint was trained on --chunks-path {config.chunks_path}; pass --data DIR")
    from mlrun_music_phase.data.default import prepare_default

    return prepare_default(config).test_songs


def group_table(systems: list[str], results: dict[str, Any], key: str, title: str) -> list[str]:
    groups = sorted({g for s in systems for g in results[s][key]})
    if len(groups) < 2:
        return []
    counts = {g: results[systems[0]][key][g]["items"] for g in groups}
    lines = [f"| {title} | " + " | ".join(f"{g} ({counts[g]})" for g in groups) + " |",
             "| --- |" + " --- |" * len(groups)]
    for s in systems:
        cells = [results[s][key][g]["downbeat_f"] for g in groups]
        lines.append(f"| {s} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", choices=("synthetic", "scores", "songs"), default="synthetic",
                    help="synthetic = the embedded default's held-out songs; scores = the real-score set; songs = "
                         "the General MIDI songs set (--songs-split)")
    ap.add_argument("--data", default="", help="a folder of rendered songs (bars.csv) instead of --set")
    ap.add_argument("--scores-per-source", type=int, default=6, help="--set scores: pieces per source")
    ap.add_argument("--songs-split", default="test", choices=("test", "val", "train"), help="--set songs: split")
    ap.add_argument("--checkpoint", default=None, help="our model (default: the task's shipped model)")
    ap.add_argument("--systems", default=",".join(ALL_SYSTEMS), help=f"comma-separated, of {', '.join(ALL_SYSTEMS)}")
    ap.add_argument("--peers-python", default="/tmp/phase-peers-venv/bin/python")
    ap.add_argument("--jobs", type=int, default=1, help="peer runner processes, one thread each")
    ap.add_argument("--beatnet-model", type=int, default=1, choices=(1, 2, 3),
                    help="BeatNet's weights (1: trained without GTZAN, its own example's choice)")
    ap.add_argument("--max-items", type=int, default=0)
    ap.add_argument("--max-seconds", type=float, default=0.0,
                    help="score every system on the first N seconds of each item only (0 = whole items)")
    ap.add_argument("--tolerance", type=float, default=0.07)
    ap.add_argument("--seed", type=int, default=0, help="BeatNet's particle filter seed")
    ap.add_argument("--json", default="", help="write every figure here")
    args = ap.parse_args()

    import torch

    from mlrun_music.api import load_model
    from mlrun_music.errors import UserError
    from mlrun_music.fileio import write_json
    from mlrun_music_phase.apply import predict_phase
    from mlrun_music_phase.config import FPS, HOP, SAMPLE_RATE
    from mlrun_music_phase.evaluate import _aggregate, load_items, score, tempo_only

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(1)
    try:
        systems = [s.strip() for s in args.systems.split(",") if s.strip()]
        unknown = sorted(set(systems) - set(ALL_SYSTEMS))
        if unknown or not systems:
            raise UserError(f"--systems: unknown {', '.join(unknown) or '(none given)'}; "
                            f"known: {', '.join(ALL_SYSTEMS)}")
        loaded = load_model("phase", args.checkpoint, quiet=True)
        warmup = float(loaded.config.warmup_seconds)
        folder = data_folder(args, loaded.config)
        items = load_items(folder, args.max_items)
        if args.max_seconds > 0:
            if args.max_seconds <= warmup:
                raise UserError(f"--max-seconds {args.max_seconds:g} leaves nothing after the {warmup:g} s warmup")
            for it in items:  # every system hears and is scored on the same excerpt
                it.audio = it.audio[: int(args.max_seconds * SAMPLE_RATE)]
    except UserError as exc:
        sys.exit(f"error: {exc}")
    model_info = {"path": str(loaded.path), "shipped": loaded.shipped,
                  "sha256": hashlib.sha256(loaded.path.read_bytes()).hexdigest()}
    peers = [s for s in systems if s in PEER_SYSTEMS]
    audio_seconds = sum(len(it.audio) for it in items) / SAMPLE_RATE
    timing: dict[str, float] = {}
    peer_out: dict[str, Any] = {"downbeats": {}, "seconds": {}, "versions": {}}
    if peers:
        with tempfile.TemporaryDirectory(prefix="phase-peers-") as tmp:
            files = write_wavs(folder, [it.name for it in items], Path(tmp), args.max_seconds)
            t = time.perf_counter()
            peer_out = run_peers(args.peers_python, files, peers, Path(tmp), max(1, args.jobs), args.beatnet_model,
                                 args.seed)
            logging.info("peers: %d files in %.0f s", len(files), time.perf_counter() - t)
        timing.update(peer_out["seconds"])

    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    half_bar: dict[str, list[dict[str, Any]]] = {s: [] for s in peers}
    t_ours = 0.0
    for it in items:
        n = len(it.audio) // HOP
        for s in systems:
            if s == "ours":
                t = time.perf_counter()
                pred = predict_phase(loaded.model, it.audio, 0.0)
                t_ours += time.perf_counter() - t
            elif s == "tempo_only":
                pred = tempo_only(it, n, 0.0)
            else:
                times = np.asarray(peer_out["downbeats"][it.name][s], dtype=np.float64)
                pred = phase_track(times, n, FPS)
                check_track(pred, times, FPS)
                # A tracker that found the bars but labels the wrong beat of a 2-beat bar is half a bar off.
                half_bar[s].append(score(phase_track(times + it.bar_seconds / 2, n, FPS), it, 0.0, warmup,
                                         args.tolerance))
            rows[s].append(score(pred, it, 0.0, warmup, args.tolerance))
    if "ours" in systems:
        timing["ours"] = t_ours

    results: dict[str, Any] = {}
    for s in systems:
        by_meter: dict[str, list] = {}
        by_source: dict[str, list] = {}
        for it, row in zip(items, rows[s]):
            by_meter.setdefault(it.meter, []).append(row)
            by_source.setdefault(it.source, []).append(row)
        results[s] = {"label": LABELS[s], "overall": _aggregate(rows[s]),
                      "by_meter": {k: _aggregate(v) for k, v in sorted(by_meter.items())},
                      "by_source": {k: _aggregate(v) for k, v in sorted(by_source.items())},
                      "per_item": {it.name: row.get("f") for it, row in zip(items, rows[s])},
                      "seconds_per_audio_second": timing[s] / audio_seconds if s in timing else None}
        if s in half_bar:
            results[s]["overall_shifted_half_bar"] = _aggregate(half_bar[s])
    summary = {"data": str(folder), "items": len(items), "audio_seconds": audio_seconds, "warmup_seconds": warmup,
               "max_seconds": args.max_seconds,
               "tolerance_seconds": args.tolerance, "model": model_info, "peer_rate": PEER_RATE,
               "beatnet_model": args.beatnet_model, "seed": args.seed, "peer_versions": peer_out["versions"],
               "systems": results}

    name = model_info["shipped"] and f"shipped `{model_info['shipped']}`" or model_info["path"]
    print(f"\n{len(items)} items under {folder}; our model {name} (sha256 {model_info['sha256'][:12]}); "
          f"first {warmup:g} s ignored; mir_eval downbeat F, {args.tolerance * 1000:g} ms\n")
    print("| system | downbeat F | items | compute s per audio s | F with downbeats shifted half a bar |")
    print("| --- | --- | --- | --- | --- |")
    for s in systems:
        r = results[s]
        f, rt = r["overall"]["downbeat_f"], r["seconds_per_audio_second"]
        shifted = r.get("overall_shifted_half_bar", {}).get("downbeat_f")
        print(f"| {LABELS[s]} | {'-' if f is None else f'{f:.3f}'} | {r['overall']['items']} | "
              f"{'-' if rt is None else f'{rt:.4f}'} | {'-' if shifted is None else f'{shifted:.3f}'} |")
    for key, title in (("by_meter", "meter (items)"), ("by_source", "source (items)")):
        table = group_table(systems, results, key, title)
        if table:
            print("\n" + "\n".join(table))
    if args.json:
        write_json(args.json, summary)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
