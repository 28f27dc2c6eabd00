"""The shipped EmotionRecognizer on the held-out chorales rendered at each of several sample rates, every variant
at every rate: at 22.05 kHz, the features' rate, and at 44.1 and 48 kHz then resampled to 22.05 kHz by the core's
resampler, as ``mlrun kelly pipeline`` reads a file at that rate (a recording, or a render at ``mlrun render``'s
default 44.1 kHz).

Needs the prepared corpus (``mlrun kelly prepare-corpus``): its test-split variants (four-part and sparse textures)
and their MIDI files. Prints, per rate, over all variants and per texture, how often the valence sign agrees with
the mode and how often arousal orders two tempi of a piece in one texture rightly (the card's two figures), and
the mean arousal of the slow variants.

    python benchmarks/kelly/emotion_render_rate.py [--rates 22050,44100,48000] [--pieces 260] [--test-pieces N]
"""

from __future__ import annotations

import argparse

import numpy as np

from mlrun_music.audio.io import resample
from mlrun_music.audio.render import render_midi
from mlrun_music_kelly.commands import shipped_files
from mlrun_music_kelly.data.corpus import (DEFAULT_MAX_PIECES, SOUNDFONT, TEMPO_BANDS, TEXTURES, corpus_dir,
                                           is_prepared, read_records)
from mlrun_music_kelly.data.features import SAMPLE_RATE, FeatureExtractor
from mlrun_music_kelly.rtneural.runner import JsonModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", default="22050,44100,48000", help="render rates in Hz, separated by commas")
    ap.add_argument("--pieces", type=int, default=DEFAULT_MAX_PIECES,
                    help="chorales of the prepared corpus (`mlrun kelly prepare-corpus --pieces N`)")
    ap.add_argument("--test-pieces", type=int, default=0, help="score only the first N held-out chorales (0: all)")
    args = ap.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    if not is_prepared(max_pieces=args.pieces):
        raise SystemExit(f"the corpus is not prepared: run `mlrun kelly prepare-corpus --pieces {args.pieces}` first")
    folder = corpus_dir()
    test = [r for r in read_records(folder, args.pieces) if r["split"] == "test"]
    if args.test_pieces:
        keep = sorted({r["piece"] for r in test})[:args.test_pieces]
        test = [r for r in test if r["piece"] in keep]
    model = JsonModel.load(next(f for f in shipped_files(".json") if f.name == "emotionrecognizer.json"))
    extractor = FeatureExtractor()
    names = {rate: f"{rate / 1000:g} kHz" + ("" if rate == SAMPLE_RATE else ", resampled") for rate in rates}
    results: dict[str, dict[tuple[str, int], tuple[float, float]]] = {name: {} for name in names.values()}
    for i, r in enumerate(test, 1):
        midi = folder / "midi" / f"{r['piece']}_v{r['variant']}.mid"
        for rate, name in names.items():
            audio = resample(render_midi(midi, SOUNDFONT, sample_rate=rate), rate, SAMPLE_RATE)
            model.reset()
            out = model.forward(extractor.from_audio(audio))
            results[name][(r["piece"], r["variant"])] = (float(out[:32].mean()), float(out[32:].mean()))
        if i % 50 == 0:
            print(f"{i}/{len(test)} variants", flush=True)
    by_key = {(r["piece"], r["variant"]): r for r in test}
    print(f"{len(test)} held-out variants of {len({r['piece'] for r in test})} chorales\n")
    print("| rendered | texture | valence sign = mode | arousal orders two tempi of a piece | mean valence "
          "| mean arousal of the slow variants |")
    print("| --- | --- | --- | --- | --- | --- |")
    slowest = min(lo for lo, _ in TEMPO_BANDS[1:])
    for name, all_results in results.items():
        for texture in ("all", *TEXTURES):
            res = {k: v for k, v in all_results.items() if texture in ("all", by_key[k].get("texture", "full"))}
            if not res:
                continue
            sign = np.mean([(v > 0) == (by_key[k]["mode"] == "major") for k, (v, _) in res.items()])
            pairs = right = 0
            for group in {(p, by_key[(p, v)].get("texture", "full")) for p, v in res}:
                variants = sorted((by_key[k]["bpm"], a) for k, (_, a) in res.items()
                                  if (k[0], by_key[k].get("texture", "full")) == group)
                for i in range(len(variants)):
                    for j in range(i + 1, len(variants)):
                        pairs += 1
                        right += variants[j][1] > variants[i][1]
            mean_valence = np.mean([v for v, _ in res.values()])
            slow = np.mean([a for k, (_, a) in res.items() if by_key[k]["bpm"] < slowest])
            print(f"| {name} | {texture} | {100 * sign:.1f} % of {len(res)} | {100 * right / pairs:.1f} % of {pairs} "
                  f"pairs | {mean_valence:+.3f} | {slow:+.3f} |")


if __name__ == "__main__":
    main()
