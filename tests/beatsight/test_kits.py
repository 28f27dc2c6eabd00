"""Training kits beyond General MIDI soundfonts: the AVL Drumkits' own key map and timidity patch sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.beatsight.conftest import TINY

from mlrun_music_beatsight.kits import synth
from mlrun_music_beatsight.kits.soundfonts import AVL_KIT, GENERAL_MIDI_KIT, drum_kit

BLACK_PEARL = Path("/usr/share/sounds/sf2/Black_Pearl_4_LV2.sf2")


def test_general_midi_hits_are_remapped_to_what_a_kit_has():
    assert drum_kit("/x/Black_Pearl_4_LV2.sf2") is AVL_KIT and drum_kit("/x/TimGM6mb.sf2") is GENERAL_MIDI_KIT
    assert [AVL_KIT.remap(n) for n in (36, 35, 42, 48, 50, 52, 53, 60)] == [36, 36, 42, 45, 45, 57, 53, None]
    assert [GENERAL_MIDI_KIT.remap(n) for n in (35, 48, 52)] == [35, 48, 52]
    _, hits = synth.groove(np.random.default_rng(3))
    played = synth.for_kit(hits, AVL_KIT)
    assert len(played) == len(hits) and {h.component for h in played} <= {c for c, n in AVL_KIT.notes.items() if n}
    assert [h.time for h in played] == [h.time for h in hits]
    with pytest.raises(ValueError, match="not in the kit"):
        synth.render(hits, BLACK_PEARL, "fluidsynth")  # GM high toms / china are not AVL notes


@pytest.mark.skipif(not BLACK_PEARL.is_file(), reason="avldrums.lv2-soundfont is not installed")
def test_avl_kit_sounds_every_note_it_claims(tmp_path):
    """The kit answers on its own channel and program: every one-shot is audible where it was placed (on the GM drum
    channel this soundfont is silent)."""
    hits = synth.one_shots(1, seed=0, spacing=2.5, kit=AVL_KIT)
    audio = synth.render(hits, BLACK_PEARL, "fluidsynth")
    for h in hits:
        i = int(h.time * synth.SAMPLE_RATE)
        before, after = np.abs(audio[i - 2000:i - 200]).max(), np.abs(audio[i:i + 4000]).max()
        assert after > 0.02 and after > 2 * before, (h, before, after)
    from mlrun_music.audio.render import render_midi

    on_gm_channel = synth.write_midi(tmp_path / "gm.mid", [synth.Hit(0.2, 36, 100)], kit=GENERAL_MIDI_KIT)
    assert np.abs(render_midi(on_gm_channel, BLACK_PEARL, renderer="fluidsynth")).max() < 1e-3


def test_training_renders_one_shots_and_grooves_of_extra_kits(mlrun, tmp_path, cache):
    """An extra kit given as a timidity patch set (.cfg) is rendered with timidity: one-shots and grooves, named in
    the data report."""
    kit = tmp_path / "mykit.cfg"
    kit.write_text('soundfont "/usr/share/sounds/sf2/TimGM6mb.sf2"\n', encoding="utf-8")
    args = list(TINY)
    args[args.index("--extra-soundfonts") + 1] = str(kit)
    r = mlrun("train", "beatsight", *args, "--extra-grooves", "1", "--cache-dir", tmp_path / "c")
    assert r.code == 0, r.text
    assert "mykit.cfg" in r.err
    report = json.loads((tmp_path / "runs" / "beatsight" / "default" / "data_report.json").read_text())
    assert report["kits"] == ["TimGM6mb.sf2", "mykit.cfg"]
    sources = report["train_sources"]
    assert sources.get("one-shot/timidity/mykit.cfg", 0) > 0 and sources.get("groove/timidity/mykit.cfg", 0) > 10
