"""Key, metre and bars of written melodies: `--key` / `--meter` strings, ABC that music21 reads back to the same
notes with every bar full, MIDI with key and time signatures and tempo, generation in the asked key and metre."""

from __future__ import annotations

import random
import zlib
from fractions import Fraction

import mido
import pytest
from music21 import converter

from mlrun_music.errors import UserError
from mlrun_music_chromasonic.data.melody import signature_shift
from mlrun_music_chromasonic.data.notation import (abc_text, complete_bars, from_training_frame, parse_key,
                                                   parse_meter, seed_key)

SEED = "E4:0.5 G4:0.5 A4:0.5 C5:0.5 B4:0.5 A4:0.5 G4:1"


def read_back(text: str):
    """music21's reading of ABC text: (notes with ties merged, measures, key signature sharps, metre)."""
    score = converter.parse(text, format="abc")
    part = score.parts[0] if score.parts else score
    measures = list(part.getElementsByClass("Measure"))
    merged = part.stripTies().flatten().notesAndRests
    notes = [(n.pitch.midi if n.isNote else None, Fraction(n.quarterLength)) for n in merged]
    ks = part.flatten().getElementsByClass("KeySignature").first()
    ts = part.flatten().getElementsByClass("TimeSignature").first()
    return notes, measures, ks.sharps, ts.ratioString


def merge_rests(notes):
    out = []
    for p, d in notes:
        if p is None and out and out[-1][0] is None:
            out[-1] = (None, out[-1][1] + d)
        else:
            out.append((p, d))
    return out


def test_keys_and_metres_are_read_or_refused_in_one_line():
    assert [(k.name, k.sharps) for k in map(parse_key, ["G", "Em", "F#m", "Bb", "D major", "A minor", "EDor"])] \
        == [("G", 1), ("Em", 1), ("F#m", 3), ("Bb", -2), ("D", 2), ("Am", 0), ("EDor", 2)]
    assert [parse_meter(m).bar for m in ["6/8", "3/4", "C", "C|", "9/8"]] == [3, 3, 4, 4, Fraction(9, 2)]
    for bad in ["H", "G#", "Gxyz", ""]:
        with pytest.raises(UserError, match=r"^--key: ") as err:
            parse_key(bad)
        assert "\n" not in str(err.value)
    assert [seed_key(text, sharps).name for text, sharps in [("E minor", 1), ("Ador", 1), ("D clef=treble", 2),
                                                              ("HP", 2), ("G", 3), ("", None)]] == \
        ["Em", "ADor", "D", "D", "A", "C"]
    for bad in ["6/7", "x", "0/4", "4/4/4", "33/8"]:
        with pytest.raises(UserError, match=r"^--meter: "):
            parse_meter(bad)


@pytest.mark.parametrize("key,meter", [("C", "4/4"), ("G", "6/8"), ("Em", "3/4"), ("Bb", "2/4"), ("F#m", "9/8"),
                                       ("Eb", "6/8"), ("ADor", "4/4")])
@pytest.mark.parametrize("seed", range(4))
def test_abc_reads_back_to_the_same_notes_with_full_bars(key, meter, seed):
    rng = random.Random(zlib.crc32(f"{key} {meter} {seed}".encode()))
    k, m = parse_key(key), parse_meter(meter)
    pickup = Fraction(rng.choice([0, 0, 1, 2]), 2) % m.bar
    durations = [0.5, 0.5, 0.5, 1.0, 1.5, 0.25, 2.0, 3.0, 1 / 3, 0.75]
    melody = []
    for _ in range(60):  # any pitch of the chromatic scale, so accidentals, naturals and ties across bars occur
        pitch = None if rng.random() < 0.08 else rng.randint(55, 86)
        melody.append((pitch, rng.choice(durations)))
    if sum(Fraction(d).limit_denominator(12) for p, d in melody if p is not None) == 0:
        melody[0] = (60, 1.0)
    melody = complete_bars(melody, m, pickup)
    text = abc_text(melody, "round trip", meter=m, key=k, bpm=96, pickup=pickup)
    assert f"\nM:{meter}\nL:1/8\nQ:1/4=96\nK:{key}\n" in text and text.count("|") >= 10
    notes, measures, sharps, ratio = read_back(text)
    expected = merge_rests([(p, Fraction(d).limit_denominator(12)) for p, d in melody])
    assert merge_rests(notes) == expected
    assert sharps == k.sharps and ratio == meter
    total = sum(Fraction(d).limit_denominator(12) for _, d in melody)
    assert len(measures) == (total - pickup) / m.bar + (1 if pickup else 0)
    if pickup:
        assert measures[0].duration.quarterLength == pickup and measures[0].paddingLeft == m.bar - pickup
        measures = measures[1:]
    assert all(ms.duration.quarterLength == m.bar for ms in measures)


def test_transposing_out_of_the_training_frame():
    white = [(60, 1.0), (62, 0.5), (None, 0.5), (64, 1.0)]
    assert from_training_frame(white, 1) == [(55, 1.0), (57, 0.5), (None, 0.5), (59, 1.0)]  # C -> G
    for sharps in range(-7, 8):
        assert [p for p, _ in from_training_frame(white, sharps) if p is not None] == \
            [p - signature_shift(sharps) for p, _ in white if p is not None]


def test_generate_writes_the_asked_key_and_metre_in_abc_and_midi(mlrun, tmp_path):
    r = mlrun("chromasonic", "generate", "--model", "markov", "--key", "G", "--meter", "6/8", "--seed-notes",
              "G4:0.5 B4:0.5 D5:0.5 G5:1.5", "--length", "40", "--out", tmp_path / "g.mid", "--abc", tmp_path / "g.abc")
    assert r.code == 0, r.out + r.err
    assert "in G, 6/8" in r.out
    notes, measures, sharps, ratio = read_back((tmp_path / "g.abc").read_text())
    assert sharps == 1 and ratio == "6/8" and len(measures) >= 4
    assert all(ms.duration.quarterLength == 3 for ms in measures)
    assert [p for p, _ in notes[:4]] == [67, 71, 74, 79]  # the opening stays in G, as written
    pitched = [p for p, _ in notes if p is not None]
    assert sum(p % 12 in {7, 9, 11, 0, 2, 4, 6} for p in pitched) / len(pitched) >= 0.8  # G major's notes
    meta = {m.type: m for m in mido.MidiFile(tmp_path / "g.mid").tracks[0] if m.is_meta}
    assert meta["key_signature"].key == "G"
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (6, 8)
    assert round(mido.tempo2bpm(meta["set_tempo"].tempo)) == 120
    midi_notes = [m.note for m in mido.MidiFile(tmp_path / "g.mid").tracks[0] if m.type == "note_on"]
    assert midi_notes == pitched


def test_generate_keeps_the_seed_tunes_key_and_metre(mlrun, tmp_path):
    tune = "X:1\nT:Seed\nM:3/4\nL:1/8\nK:D\nd2 f2 a2 | g2 e2 c2 | d4 A2 | B2 c2 d2 |]\n"
    (tmp_path / "seed.abc").write_text(tune)
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", tmp_path / "seed.abc", "--length", "20",
              "--out", tmp_path / "d.mid", "--abc", tmp_path / "d.abc")
    assert r.code == 0, r.out + r.err
    assert "in D, 3/4" in r.out
    notes, measures, sharps, ratio = read_back((tmp_path / "d.abc").read_text())
    assert sharps == 2 and ratio == "3/4" and all(ms.duration.quarterLength == 3 for ms in measures)
    assert [p for p, _ in notes[:4]] == [74, 78, 81, 79]


@pytest.mark.parametrize("flag,value,message", [("--key", "H", "--key: cannot read key 'H'"),
                                                ("--meter", "5/3", "--meter: cannot read metre '5/3'")])
def test_generate_refuses_an_unknown_key_or_metre_in_one_line(mlrun, tmp_path, flag, value, message):
    r = mlrun("chromasonic", "generate", "--model", "markov", flag, value, "--seed-notes", SEED,
              "--out", tmp_path / "x.mid")
    assert r.code != 0 and message in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "x.mid").exists()


def test_a_seed_tunes_pickup_opens_the_first_bar(mlrun, tmp_path):
    tune = ("X:1\nT:Upbeat\nM:6/8\nL:1/8\nK:G\nD | G3 B2 d | g3 d2 B | c3 A2 F | G3 G2 D |\n"
            "G3 B2 d | g3 d2 B | c3 A2 F | G3 G2 |]\n")
    (tmp_path / "upbeat.abc").write_text(tune)
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", tmp_path / "upbeat.abc", "--length",
              "24", "--out", tmp_path / "u.mid", "--abc", tmp_path / "u.abc")
    assert r.code == 0, r.out + r.err
    notes, measures, sharps, ratio = read_back((tmp_path / "u.abc").read_text())
    assert ratio == "6/8" and sharps == 1 and notes[0] == (62, Fraction(1, 2))
    assert measures[0].duration.quarterLength == Fraction(1, 2)
    assert all(ms.duration.quarterLength == 3 for ms in measures[1:])


def test_key_names_the_tonic_and_the_seed_tune_keeps_its_mode(mlrun, tmp_path):
    (tmp_path / "minor.abc").write_text("X:1\nT:Minor seed\nM:6/8\nL:1/8\nK:Em\n"
                                        "E2F G2A | B2A G2F | E2F G2A | B3 E3 |]\n")
    r = mlrun("chromasonic", "generate", "--model", "markov", "--seed-from", tmp_path / "minor.abc", "--key", "G",
              "--length", "24", "--out", tmp_path / "m.mid", "--abc", tmp_path / "m.abc")
    assert r.code == 0, r.out + r.err
    assert "in Gm, 6/8" in r.out
    assert "note: the opening tune is in Em: --key G keeps its tonic in that mode, Gm" in r.err
    notes, _, sharps, ratio = read_back((tmp_path / "m.abc").read_text())
    assert sharps == -2 and ratio == "6/8"
    assert [p for p, _ in notes[:3]] == [67, 69, 70]  # E F# G of the seed, a minor third up: G A Bb
    meta = {m.type: m for m in mido.MidiFile(tmp_path / "m.mid").tracks[0] if m.is_meta}
    assert meta["key_signature"].key == "Gm"


def test_without_a_seed_the_opening_tune_fits_the_asked_mode_and_metre():
    from mlrun_music_chromasonic.data.melody import Melody
    from mlrun_music_chromasonic.generate import held_out_opening

    def tune(title, key, meter):
        return Melody(title=title, key=key, meter=meter, notes=[(60, 1.0), (62, 1.0)], key_sharps=parse_key(key).sharps)

    tunes = [tune("reel", "D", "4/4"), tune("minor jig", "Em", "6/8"), tune("jig", "G", "6/8"),
             tune("air", "G", "3/4")]
    pick = lambda key, meter, seed=0: held_out_opening(tunes, key and parse_key(key), meter and parse_meter(meter),
                                                       seed).title  # noqa: E731
    assert pick("A", "6/8") == "jig" and pick("Am", "6/8") == "minor jig"
    assert pick("Bm", "3/4") == "air"  # no minor tune in 3/4: the metre wins
    assert pick("Dm", "2/4") == "minor jig"  # neither in 2/4: the mode
    assert [pick("C", None, s) for s in range(3)] == ["reel", "jig", "air"]
    assert pick(None, None, 5) == "minor jig"
