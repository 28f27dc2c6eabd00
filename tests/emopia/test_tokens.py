"""Tokenization: round trip within the grid, drums, windows without truncation, train-only seeded augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from mlrun_music_emopia import tokens
from mlrun_music_emopia.data import loader as data
from mlrun_music_emopia.data.synthetic import generate_corpus

from .conftest import write_midi


def _notes_in_beats(score):
    """(onset, length, pitch, velocity) in beats, ordered by grid position then pitch (quantization may reorder
    notes a few ticks apart)."""
    tpq = score.ticks_per_quarter
    notes = [(n.time / tpq, n.duration / tpq, n.pitch, n.velocity) for t in score.tracks for n in t.notes]
    return sorted(notes, key=lambda n: (round(n[0] * tokens.POSITIONS_PER_BEAT), n[2], n[1]))


@pytest.mark.parametrize("quadrant", [1, 2, 3, 4])
def test_decode_encode_keeps_every_note_within_the_quantization(tmp_path, quadrant):
    generate_corpus(tmp_path, songs=4, seed=11)
    path = sorted((tmp_path / "midis").glob(f"Q{quadrant}_*.mid"))[0]
    score, _ = tokens.piano_score(tokens.load_score(str(path)))
    original = _notes_in_beats(score)
    decoded = _notes_in_beats(tokens.decode(tokens.encode(score)))
    assert len(decoded) == len(original) > 20
    step = 1 / tokens.POSITIONS_PER_BEAT
    for (s0, d0, p0, v0), (s1, d1, p1, v1) in zip(original, decoded):
        assert p1 == p0
        assert abs(s1 - s0) <= step / 2 + 1e-9          # onset on the 1/8-beat grid
        assert abs(v1 - v0) <= 128 / 16 / 2 + 1          # 16 velocity bins
        # durations: 1/8 beat up to 4 beats, 1/4 beat above (miditok's beat_res), at least one step
        assert abs(d1 - d0) <= (step if d0 <= 4 else 0.25) / 2 + 1e-9 or (d0 < step and d1 == step)
    tempo = tokens.decode(tokens.encode(score)).tempos[0].qpm
    assert abs(tempo - score.tempos[0].qpm) <= 2.5 + 1e-6   # 5-bpm tempo bins


def test_drum_tracks_are_dropped_and_drum_only_files_skipped(tmp_path):
    mixed = tmp_path / "mixed.mid"
    write_midi(mixed, [(i, 1, 60 + i, 80) for i in range(8)], drums=[(i / 2, 0.25, 36, 100) for i in range(16)])
    score, dropped = tokens.piano_score(tokens.load_score(str(mixed)))
    assert dropped == 1
    assert sorted(n.pitch for n in score.tracks[0].notes) == list(range(60, 68))
    drums = tmp_path / "drums.mid"
    write_midi(drums, [], drums=[(0, 1, 36, 100)])
    with pytest.raises(tokens.SkipClip, match="only drum"):
        tokens.piano_score(tokens.load_score(str(drums)))
    empty = tmp_path / "empty.mid"
    empty.write_bytes(b"")
    with pytest.raises(tokens.SkipClip, match="empty"):
        tokens.load_score(str(empty))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd garbage")
    with pytest.raises(tokens.SkipClip, match="corrupt"):
        tokens.load_score(str(bad))


def test_long_pieces_are_cut_into_windows_not_truncated():
    seq = list(range(10, 10 + 1000))
    wins = data.windows(seq, 64)
    v = tokens.vocab()
    assert all(len(w) <= 65 for w in wins)
    # consecutive windows overlap by exactly one token (the last target is the next first input)
    rebuilt = list(wins[0]) + [t for w in wins[1:] for t in w[1:]]
    assert rebuilt == [v.bos, *seq, v.eos]


def test_augmentation_is_seeded_and_train_only(tmp_path):
    generate_corpus(tmp_path, songs=4, seed=5)
    path = sorted((tmp_path / "midis").glob("Q1_*.mid"))[0]
    score, _ = tokens.piano_score(tokens.load_score(str(path)))
    ids = np.asarray([tokens.vocab().bos, *tokens.encode(score)])[:200]
    items = [(ids, 0, 20.0)]
    train = data.Windows(items, augment=True)
    val = data.Windows(items)
    v = tokens.vocab()

    def draw(seed):
        np.random.seed(seed)
        return train[0]

    a, b, c = draw(1), draw(1), draw(2)
    assert a[0].tolist() == b[0].tolist() and a[2] == b[2]
    assert val[0][0].tolist() == ids.tolist() and val[0][2] == 20.0
    outs = [draw(s) for s in range(12)]
    assert any(o[0].tolist() != ids.tolist() for o in outs)
    for out, _, seconds in outs:
        out = out.numpy()
        kinds = v.kind[out]
        assert (kinds == v.kind[ids]).all()                      # token kinds (grammar) unchanged
        shift = set((v.value[out] - v.value[ids])[kinds == tokens.PITCH])
        assert len(shift) == 1 and abs(shift.pop()) <= 5         # one transposition per window, within +-5
        assert 20.0 / 1.1 - 1e-6 <= seconds <= 20.0 / 0.9 + 1e-6  # duration follows the tempo change
