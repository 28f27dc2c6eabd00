"""Tempo of `mlrun beatsight process` on the held-out human-written songs (the test split of
`mlrun_music_beatsight.data.parts`, files whose tempo is the heard one): each song's first ``--seconds`` excerpt is
rendered on each held-out kit with its own accompaniment at ``--accompaniment-db``, written as a WAV, run through
`process`, and the beatmap's tempo compared with the file's. Prints the share within 4 % and how the others miss per
kit; writes tempo.json and tempo.png (estimate / truth per song and kit).

    python benchmarks/beatsight/held_out_tempo.py --out /tmp/bs_tempo_parts
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import soundfile as sf

from mlrun_music.fileio import atomic_path, write_json
from mlrun_music_beatsight.beatmap.bsm import read_bsm
from mlrun_music_beatsight.config import HELD_OUT_KITS
from mlrun_music_beatsight.data import parts
from mlrun_music_beatsight.data.grooves import mix
from mlrun_music_beatsight.evaluate.held_out import kit_label
from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.soundfonts import drum_kit, extra_renderer
from mlrun_music_beatsight.transcribe.pipeline import process

from tempo import kind_of_error  # noqa: E402 - the sibling benchmark's error names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0, help="excerpt length (the held-out table's)")
    ap.add_argument("--accompaniment-db", type=float, default=0.0)
    ap.add_argument("--kits", default=",".join(HELD_OUT_KITS))
    ap.add_argument("--model", default=None, help="process --ml-model (default: the shipped transcriber)")
    ap.add_argument("--no-ml", action="store_true", help="the heuristic onset pipeline")
    ap.add_argument("--out", default="/tmp/beatsight-held-out-tempo")
    ap.add_argument("--plot", default="", help="only draw this tempo.json's songs as PNG to --out (no rendering)")
    args = ap.parse_args()
    out = Path(args.out)
    if args.plot:
        plot(json.loads(Path(args.plot).read_text())["songs"], out)
        return
    out.mkdir(parents=True, exist_ok=True)
    songs, _ = parts.read_songs(parts.part_dirs(""), ("test",))
    songs = [s for s in songs if s.tempo_known]
    rows = []
    started = time.perf_counter()
    for kit in [k for k in args.kits.split(",") if k]:
        renderer = extra_renderer(kit)
        band = (kit, renderer) if not drum_kit(kit).drums_only else (HELD_OUT_KITS[0], "fluidsynth")
        for song in songs:
            excerpt = parts.excerpts(song, args.seconds)[0]
            drums, other, _ = parts.render_excerpt(excerpt, kit, renderer, band)
            audio = mix(drums, other, args.accompaniment_db)
            wav, bsm = out / "song.wav", out / "song.bsm"
            with atomic_path(wav, suffix=".wav") as tmp:
                sf.write(str(tmp), audio, synth.SAMPLE_RATE)
            process(wav, bsm, ml_model=args.model, use_ml=not args.no_ml, say=lambda s: None)
            bpm = float(read_bsm(bsm)["timing"]["bpm"])
            ratio = bpm / song.bpm
            rows.append({"kit": kit_label(kit), "song": song.name, "tempo": round(song.bpm, 2), "estimate": bpm,
                         "ratio": round(ratio, 4), "error": kind_of_error(ratio)})
            print(f"{rows[-1]['kit']:>18} {song.name:>28} {song.bpm:6.1f} -> {bpm:6.1f}  {rows[-1]['error']}",
                  flush=True)
    print(f"\n{len(songs)} songs per kit, accompaniment {args.accompaniment_db:+g} dB, "
          f"{'heuristic' if args.no_ml else args.model or 'shipped transcriber'}; {time.perf_counter() - started:.0f} s")
    by_kit: dict[str, list[dict]] = {}
    for r in rows:
        by_kit.setdefault(r["kit"], []).append(r)
    summary = {}
    for kit, rs in by_kit.items():
        kinds = Counter(r["error"] for r in rs)
        summary[kit] = {"within_4_percent": float(np.mean([r["error"] == "ok" for r in rs])), "errors": dict(kinds)}
        print(f"{kit}: within 4 % {summary[kit]['within_4_percent']:.3f} ({kinds['ok']}/{len(rs)}); misses: "
              + (", ".join(f"{k} {n}" for k, n in kinds.most_common() if k != "ok") or "none"))
    everything = [r["error"] == "ok" for r in rows]
    print(f"all kits: within 4 % {np.mean(everything):.3f} ({sum(everything)}/{len(everything)})")
    write_json(out / "tempo.json", {"args": vars(args), "within_4_percent": float(np.mean(everything)),
                                    "kits": summary, "songs": rows})
    plot(rows, out / "tempo.png")


def plot(rows: list[dict], path: Path) -> None:
    """Estimate / truth per song (x: the file's tempo), one marker per kit, the 4 % band shaded."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.axhspan(0.96, 1.04, color="0.9")
    for (kit, marker) in zip(sorted({r["kit"] for r in rows}), "os^Dv"):
        rs = [r for r in rows if r["kit"] == kit]
        ax.scatter([r["tempo"] for r in rs], [r["ratio"] for r in rs], marker=marker, label=kit, alpha=0.7)
    ax.set_yscale("log")
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([0.5, 2 / 3, 0.75, 1, 4 / 3, 1.5, 2])
    ax.set_yticklabels(["1/2", "2/3", "3/4", "1", "4/3", "3/2", "2"])
    ax.set_xlabel("the file's tempo (quarter notes per minute)")
    ax.set_ylabel("beatmap tempo / file tempo")
    ax.set_title("process on held-out human-written songs")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
