"""Where each kit puts its toms: the strongest spectral peak (50-500 Hz, first 250 ms) of every tom note of every
training kit and of the held-out test kit, at velocity 100. Shows why per-hit tom names cannot transfer to an unseen
kit: tom_high/tom_mid/tom_low are positions within a kit, and kits place them at different pitches.

    python benchmarks/beatsight/tom_pitch.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlrun_music_beatsight import synth
from mlrun_music_beatsight.data import extra_renderer
from mlrun_music_beatsight.soundfonts import drum_kit

SR = synth.SAMPLE_RATE
KITS = [("/usr/share/sounds/sf2/TimGM6mb.sf2", "timidity"), *[(p, extra_renderer(p)) for p in (
    "/usr/share/sounds/sf2/sf_GMbank.sf2", "/etc/timidity/freepats.cfg", "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2")], (synth.TEST_SOUNDFONT, "fluidsynth")]


def peak_hz(x: np.ndarray) -> float:
    x = x[: int(0.25 * SR)]
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 17))
    f = np.fft.rfftfreq(1 << 17, 1 / SR)
    band = (f > 50) & (f < 500)
    return float(f[band][np.argmax(spec[band])])


def main() -> None:
    print("| kit | tom_low | tom_mid | tom_high |\n| --- | --- | --- | --- |")
    for path, renderer in KITS:
        if not Path(path).is_file():
            print(f"| {Path(path).name} | not installed | | |")
            continue
        kit = drum_kit(path)
        cells = []
        for comp in ("tom_low", "tom_mid", "tom_high"):
            hz = [peak_hz(synth.render([synth.Hit(0.2, n, 100)], path, renderer)[int(0.2 * SR):])
                  for n in kit.notes[comp]]
            cells.append(", ".join(f"{h:.0f} Hz" for h in hz) or "-")
        print(f"| {Path(path).name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
