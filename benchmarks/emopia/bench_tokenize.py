"""Tokenization throughput: miditok REMI (symusic parse + encode) vs parsing alone with mido.

python benchmarks/emopia/bench_tokenize.py [--songs 80]
Generates the embedded synthetic corpus into a temporary folder and times each path over every file.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import mido

from mlrun_music_emopia import tokens
from mlrun_music_emopia.data.synthetic import generate_corpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=80)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        generate_corpus(tmp, songs=args.songs, seed=0)
        files = sorted((Path(tmp) / "midis").glob("*.mid"))
        tokens.encode(tokens.piano_score(tokens.load_score(str(files[0])))[0])  # warm-up (vocabulary build)
        t0 = time.perf_counter()
        n_tok, seconds = 0, 0.0
        for f in files:
            score, _ = tokens.piano_score(tokens.load_score(str(f)))
            n_tok += len(tokens.encode(score))
            seconds += tokens.seconds_of(score)
        remi = time.perf_counter() - t0
        t0 = time.perf_counter()
        for f in files:
            mid = mido.MidiFile(f)
            sum(1 for t in mid.tracks for m in t if m.type == "note_on")
        parse = time.perf_counter() - t0
    print(f"files: {len(files)}, music: {seconds / 60:.1f} min, REMI tokens: {n_tok} "
          f"({n_tok / seconds:.1f} tokens per second of music)")
    print(f"miditok REMI (symusic parse + piano merge + encode): {len(files) / remi:.0f} files/s, "
          f"{n_tok / remi:.0f} tokens/s")
    print(f"mido parse only (what a hand-written tokenizer would start from): {len(files) / parse:.0f} files/s")
    print(f"ratio: REMI end to end is {parse / remi:.1f}x the speed of mido parsing alone")


if __name__ == "__main__":
    main()
