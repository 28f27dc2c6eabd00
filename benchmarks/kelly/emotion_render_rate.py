"""The shipped EmotionRecognizer on the held-out chorales rendered two ways: at 22.05 kHz as the corpus was, and at
44.1 kHz then resampled to 22.05 kHz, as ``mlrun kelly pipeline`` reads a 44.1 kHz file (a recording, or a render
at ``mlrun render``'s default rate).

Needs the prepared corpus (``mlrun kelly prepare-corpus``): its test-split variants, their MIDI files and stored
22.05 kHz features. Prints, per rendering, how often the valence sign agrees with the mode and how often arousal
orders two tempi of a piece rightly (the card's two figures).

    python benchmarks/kelly/emotion_render_rate.py
"""

from __future__ import annotations

import numpy as np

from mlrun_music.audio.io import resample
from mlrun_music.audio.render import render_midi
from mlrun_music_kelly.commands import shipped_files
from mlrun_music_kelly.data.corpus import SOUNDFONT, corpus_dir, is_prepared, read_records
from mlrun_music_kelly.data.features import SAMPLE_RATE, FeatureExtractor
from mlrun_music_kelly.rtneural.runner import JsonModel


def main() -> None:
    if not is_prepared():
        raise SystemExit("the corpus is not prepared: run `mlrun kelly prepare-corpus` first")
    folder = corpus_dir()
    test = [r for r in read_records(folder) if r["split"] == "test"]
    model = JsonModel.load(next(f for f in shipped_files(".json") if f.name == "emotionrecognizer.json"))
    extractor = FeatureExtractor()
    results: dict[str, dict[tuple[str, int], tuple[float, float]]] = {"22.05 kHz": {}, "44.1 kHz resampled": {}}
    for r in test:
        audio = render_midi(folder / "midi" / f"{r['piece']}_v{r['variant']}.mid", SOUNDFONT, sample_rate=44100)
        for name, features in (("22.05 kHz", np.asarray(r["features"], np.float32)),
                               ("44.1 kHz resampled", extractor.from_audio(resample(audio, 44100, SAMPLE_RATE)))):
            model.reset()
            out = model.forward(features)
            results[name][(r["piece"], r["variant"])] = (float(out[:32].mean()), float(out[32:].mean()))
    by_key = {(r["piece"], r["variant"]): r for r in test}
    print(f"{len(test)} held-out variants of {len({r['piece'] for r in test})} chorales\n")
    print("| rendered | valence sign = mode | arousal orders two tempi of a piece | mean valence |")
    print("| --- | --- | --- | --- |")
    for name, res in results.items():
        sign = np.mean([(v > 0) == (by_key[k]["mode"] == "major") for k, (v, _) in res.items()])
        pairs = right = 0
        for piece in {p for p, _ in res}:
            variants = sorted((by_key[k]["bpm"], a) for k, (_, a) in res.items() if k[0] == piece)
            for i in range(len(variants)):
                for j in range(i + 1, len(variants)):
                    pairs += 1
                    right += variants[j][1] > variants[i][1]
        mean_valence = np.mean([v for v, _ in res.values()])
        print(f"| {name} | {100 * sign:.1f} % | {100 * right / pairs:.1f} % of {pairs} pairs | {mean_valence:+.3f} |")


if __name__ == "__main__":
    main()
