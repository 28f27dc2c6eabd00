"""Parsing throughput of the folk corpus: cold (music21 parses every ABC tune) vs cached (JSON per file).

    python benchmarks/chromasonic/bench_parse.py --cache-root /tmp/chromasonic-bench [--collections ...]

Uses <cache-root>/chromasonic, the folder training uses with MLRUN_MUSIC_CACHE=<cache-root> (so a benchmark run
warms the cache for training). It is emptied first, so the first pass is cold. Prints one JSON line per pass.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from mlrun_music_chromasonic.data.cache import load_abc_files
from mlrun_music_chromasonic.data.sources import folk_files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache-root", required=True, help="Like MLRUN_MUSIC_CACHE; <root>/chromasonic is emptied.")
    ap.add_argument("--collections", default="oneills1850,ryansMammoth")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="Do not empty the cache first.")
    args = ap.parse_args()
    cache = Path(args.cache_root) / "chromasonic"
    if not args.keep:
        shutil.rmtree(cache, ignore_errors=True)
    files = folk_files(args.collections)
    for label in ("cold", "cached"):
        start = time.perf_counter()
        melodies, report = load_abc_files(files, cache, workers=args.workers)
        seconds = time.perf_counter() - start
        print(json.dumps({"pass": label, "files": len(files), "tunes": len(melodies), "skipped": report["skipped"],
                          "skip_reasons": report["skip_reasons"], "seconds": round(seconds, 2),
                          "tunes_per_s": round(len(melodies) / seconds, 1), "workers": args.workers}), flush=True)


if __name__ == "__main__":
    main()
