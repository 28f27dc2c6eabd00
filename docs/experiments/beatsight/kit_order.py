"""Where each kit puts its toms and crashes, measured the way kit-relative naming measures them
(:func:`mlrun_music_beatsight.kits.kit_relative.measure`): tom pitch and crash brightness of every note of every training
kit and of the held-out test kit, at velocities 40 and 127. Shows why a single hit cannot name a tom on an unseen kit
(kits tune their toms differently) and that the order within a kit holds (lower tom notes lower, crash 2 brighter).

    python docs/experiments/beatsight/kit_order.py
"""

from __future__ import annotations

from pathlib import Path

from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.soundfonts import extra_renderer
from mlrun_music_beatsight.kits.kit_relative import FAMILIES, measure
from mlrun_music_beatsight.kits.soundfonts import drum_kit

KITS = [("/usr/share/sounds/sf2/TimGM6mb.sf2", "timidity"), *[(p, extra_renderer(p)) for p in (
    "/usr/share/sounds/sf2/sf_GMbank.sf2", "/etc/timidity/freepats.cfg", "/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2",
    "/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2")], (synth.TEST_SOUNDFONT, "fluidsynth")]
VELOCITIES = (40, 127)


def main() -> None:
    names = [n for family in FAMILIES for n in family.names]
    print(f"Hz at velocity {' / '.join(map(str, VELOCITIES))}, per GM note\n")
    print("| kit | " + " | ".join(names) + " |\n|" + " --- |" * (len(names) + 1))
    for path, renderer in KITS:
        if not Path(path).is_file():
            print(f"| {Path(path).name} | not installed |" + " |" * (len(names) - 1))
            continue
        kit = drum_kit(path)
        cells = []
        for family in FAMILIES:
            for comp in family.names:
                values = []
                for note in kit.notes[comp]:
                    hz = [measure(synth.render([synth.Hit(0.2, note, v)], path, renderer), synth.SAMPLE_RATE, 0.2,
                                  family.feature) for v in VELOCITIES]
                    values.append(f"{note}: " + "/".join(f"{h:.0f}" for h in hz))
                cells.append(", ".join(values) or "-")
        print(f"| {Path(path).name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
