"""The shipped EmotionRecognizer on music outside its training corpus: does the valence sign follow the mode?

Two sets, each rendered with the core's renderer (piano, TimGM6mb, as the training corpus) in two ways and run
through the shipped RTNeural JSON as ``mlrun kelly pipeline`` runs it: rendered at 22.05 kHz, the features' rate
(a third of the training corpus is rendered so); and rendered at 44.1 kHz (``mlrun render``'s default, and a recording's usual rate) then
resampled to 22.05 kHz, as ``mlrun kelly pipeline`` reads a 44.1 kHz file.

- generated: short piano pieces written here, a I-IV-V-I progression in C major and i-iv-V-i in A minor, as block
  chords or as held chords under an eighth-note melody, at 60, 100 and 150 bpm, and an arpeggiated pair (the
  major one loud and fast, the minor one soft and slow);
- music21: pieces of music21's corpus that are not Bach chorales (Mozart and Haydn string quartet movements, folk
  tunes of Ryan's Mammoth Collection), the first 30 s at 100 bpm, every part as piano; mode from music21's key
  analysis, as the training labels.

Prints valence and arousal per piece and path and, per set, mode and path, how many valences have the mode's
sign.

    python benchmarks/kelly/emotion_outside_corpus.py [--folk 40]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import mido
import numpy as np

from mlrun_music.audio.io import resample
from mlrun_music.audio.render import render_midi
from mlrun_music.fileio import atomic_path
from mlrun_music_kelly.commands import shipped_files
from mlrun_music_kelly.data.corpus import SOUNDFONT, _write_variant, as_piano
from mlrun_music_kelly.data.features import SAMPLE_RATE, FeatureExtractor
from mlrun_music_kelly.models.specs import MODELS
from mlrun_music_kelly.rtneural.runner import JsonModel

MAJOR = [[48, 60, 64, 67], [53, 60, 65, 69], [43, 59, 62, 67], [48, 60, 64, 67]]
MINOR = [[45, 60, 64, 69], [50, 62, 65, 69], [40, 59, 64, 68], [45, 60, 64, 69]]


def write_piece(path: Path, bpm: float, chords: list[list[int]], velocity: int, style: str) -> None:
    """Two passes through ``chords``, a bar each: "block" (the chord on every beat), "melody" (held chord, the
    chord tones as eighths above it) or "arpeggio" (held triad, sixteenths over two octaves)."""
    events: list[tuple[int, int, int]] = []  # (tick, note, velocity; 0 = off)
    for bar, chord in enumerate(chords * 2):
        t = bar * 1920
        if style == "block":
            for beat in range(4):
                events += [(t + beat * 480, p, velocity) for p in chord]
                events += [(t + beat * 480 + 460, p, 0) for p in chord]
            continue
        events += [(t, p, velocity - 10) for p in chord] + [(t + 1900, p, 0) for p in chord]
        tones = sorted({p % 12 for p in chord})
        step, count = (240, 8) if style == "melody" else (120, 16)
        for k in range(count):
            octave = 12 * (k // len(tones) % 2) if style == "arpeggio" else (12 if k >= 4 else 0)
            p = 72 + tones[k % len(tones)] + octave
            events += [(t + k * step, p, velocity), (t + k * step + step - 10, p, 0)]
    events.sort(key=lambda e: (e[0], e[2] > 0))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))])
    now = 0
    for tick, note, vel in events:
        track.append(mido.Message("note_on", note=note, velocity=vel, time=tick - now))
        now = tick
    with atomic_path(path, suffix=".mid") as tmp:
        mido.MidiFile(ticks_per_beat=480, tracks=[track]).save(str(tmp))


def generated(folder: Path) -> list[tuple[str, str, Path]]:
    pieces = []
    for style in ("block", "melody"):
        for bpm in (60, 100, 150):
            for mode, chords in (("major", MAJOR), ("minor", MINOR)):
                path = folder / f"{mode}_{style}_{bpm}.mid"
                write_piece(path, bpm, chords, 90, style)
                pieces.append((f"{mode} {style} {bpm} bpm", mode, path))
    write_piece(folder / "major_arpeggio.mid", 150, MAJOR, 110, "arpeggio")
    write_piece(folder / "minor_arpeggio.mid", 56, MINOR, 55, "arpeggio")
    return pieces + [("major arpeggio 150 bpm loud", "major", folder / "major_arpeggio.mid"),
                     ("minor arpeggio 56 bpm soft", "minor", folder / "minor_arpeggio.mid")]


def from_music21(folder: Path, folk: int) -> list[tuple[str, str, Path]]:
    from music21 import corpus

    paths = [*corpus.getComposer("mozart"), *corpus.getComposer("haydn"), *corpus.getComposer("ryansMammoth")[:folk]]
    pieces = []
    for k, path in enumerate(paths):
        try:
            score = corpus.parse(str(path))
            key = score.analyze("key")
            as_piano(score)
            base = folder / f"m21_{k}_base.mid"
            score.write("midi", fp=str(base))
        except Exception as exc:  # music21 raises many types on scores it cannot expand or write: counted, skipped
            print(f"skipped {path.parent.name}/{path.name}: {type(exc).__name__}")
            continue
        _write_variant(base, folder / f"m21_{k}.mid", 100.0, 0, 50.0)  # 50 quarters = 30 s at 100 bpm
        group = "folk" if path.parent.name == "ryansMammoth" else "quartet"
        pieces.append((f"{group} {path.parent.name}/{path.name}", key.mode, folder / f"m21_{k}.mid"))
    return pieces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folk", type=int, default=40, help="tunes of Ryan's Mammoth Collection (the first N)")
    args = ap.parse_args()
    model = JsonModel.load(shipped_files(".json")[[s.name for s in MODELS].index("EmotionRecognizer")])
    extractor = FeatureExtractor()
    with tempfile.TemporaryDirectory() as tmp:
        sets = {"generated": generated(Path(tmp)), "music21": from_music21(Path(tmp), args.folk)}
        tally: dict[tuple[str, str, str], list[float]] = {}
        print("| set | piece | mode | valence / arousal, rendered at 22.05 kHz | at 44.1 kHz, resampled |")
        print("| --- | --- | --- | --- | --- |")
        for name, pieces in sets.items():
            for label, mode, midi in pieces:
                audio = {"22.05 kHz": render_midi(midi, SOUNDFONT, sample_rate=SAMPLE_RATE),
                         "44.1 kHz resampled": resample(render_midi(midi, SOUNDFONT, sample_rate=44100), 44100,
                                                        SAMPLE_RATE)}
                group = label.split()[0] if name == "music21" else name
                cells = []
                for path, samples in audio.items():
                    model.reset()
                    out = model.forward(extractor.from_audio(samples))
                    valence, arousal = float(out[:32].mean()), float(out[32:].mean())
                    tally.setdefault((group, mode, path), []).append(valence)
                    cells.append(f"{valence:+.3f} / {arousal:+.3f}")
                print(f"| {name} | {label} | {mode} | {' | '.join(cells)} |", flush=True)
    print("\n| pieces | mode | rendered | valence sign = mode | mean valence |")
    print("| --- | --- | --- | --- | --- |")
    for (group, mode, path), values in sorted(tally.items()):
        right = sum((v > 0) == (mode == "major") for v in values)
        print(f"| {group} | {mode} | {path} | {right} / {len(values)} | {np.mean(values):+.3f} |")


if __name__ == "__main__":
    main()
