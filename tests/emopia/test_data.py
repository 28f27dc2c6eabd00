"""The EMOPIA-layout loader through `mlrun train emopia`: labels, skips, song-grouped split, resume, bad folders."""

from __future__ import annotations

import json
import re

from mlrun_music_emopia.data import corpus

from .conftest import TINY, make_tree, write_midi


def _run(tmp_path, tag="t"):
    return tmp_path / "runs" / "emopia" / tag


def test_train_on_emopia_tree_counts_skips_and_splits_by_song(mlrun, tmp_path):
    base = make_tree(tmp_path / "data", songs=12)
    # One clip whose label.csv quadrant disagrees with its file name.
    labels = (base / "label.csv").read_text().splitlines()
    first = next(i for i, ln in enumerate(labels) if ln.startswith("Q1_"))
    clip = labels[first].split(",")[0]
    labels[first] = f"{clip},4,D"
    (base / "label.csv").write_text("\n".join(labels) + "\n")

    r = mlrun("train", "emopia", *TINY, "--data-dir", tmp_path / "data", "--tag", "t", "--max-steps", "2")
    assert r.code == 0, r.err
    run = _run(tmp_path)
    report = json.loads((run / "data_report.json").read_text())
    skipped = report["skipped"]
    corrupt = [k for k in skipped if k.startswith("corrupt MIDI")]
    assert len(corrupt) == 1 and skipped[corrupt[0]]["examples"] == ["Q1_corruptAAAA_0.mid"]
    assert skipped["empty file"]["count"] == 1
    assert skipped["no notes"]["count"] == 1
    assert skipped["only drum tracks"]["count"] == 1
    assert skipped["file name does not match Q{1-4}_<11-char id>_<n>.mid"]["examples"] == ["my_favourite_song.mid"]
    assert skipped["label.csv gives an unknown quadrant"]["examples"] == ["Q1_unknownquad_0.mid"]
    assert report["label_disagreements"]["count"] == 1
    assert report["midi_files_found"] == len(list((base / "midis").glob("*.mid")))
    assert report["clips_used"] == report["midi_files_found"] - sum(v["count"] for v in skipped.values())
    assert report["label_disagreements"]["examples"][0] == {"clip": clip, "file_name": 1, "label_csv": 4, "used": 4}
    assert report["split_source"].startswith("seeded 70/15/15")

    split = json.loads((run / "split.json").read_text())["split"]
    song = re.compile(r"^Q\d_(.{11})_\d+$")
    songs = {s: {song.match(c).group(1) for c in split[s]} for s in corpus.SPLITS}
    assert not songs["train"] & songs["val"] and not songs["train"] & songs["test"] and not songs["val"] & songs["test"]
    n = {s: len(split[s]) for s in corpus.SPLITS}
    total = sum(n.values())
    assert 0.5 < n["train"] / total < 0.85 and n["val"] > 0 and n["test"] > 0
    # oversampling happens on the training split only, after splitting
    per = report["per_split"]["train"]
    assert report["oversampled_train"]["train_clips_after"] == 4 * max(per.values())
    assert sum(report["per_split"]["val"].values()) == n["val"] - sum(
        1 for c in split["val"] if c.startswith(("Q1_corrupt", "Q2_emptyfile", "Q3_nonotes", "Q4_drumsonly")))
    assert "synthetic" not in r.err.lower()


def test_split_is_saved_and_reused_on_resume(mlrun, tmp_path):
    base = make_tree(tmp_path / "data", songs=10, bad_files=False)
    args = ["train", "emopia", *TINY, "--data-dir", base, "--tag", "t"]
    assert mlrun(*args).code == 0
    run = _run(tmp_path)
    saved = (run / "split.json").read_text()
    # New clips appear in the folder: a resumed run keeps the saved split and counts them as not in it.
    write_midi(base / "midis" / "Q2_newsongAAAA_0.mid", [(i / 2, 0.4, 50 + i % 7, 100) for i in range(40)], 150)
    r = mlrun(*args, "--epochs", "2")
    assert r.code == 0, r.err
    assert "resuming from" in (run / "train.log").read_text()
    assert (run / "split.json").read_text() == saved
    report = json.loads((run / "data_report.json").read_text())
    assert report["split_source"].startswith("saved")
    assert report["skipped"]["not in the split in use"]["examples"] == ["Q2_newsongAAAA_0.mid"]
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]


def test_official_split_files_are_used(mlrun, tmp_path):
    base = make_tree(tmp_path / "data", songs=8, bad_files=False)
    clips = sorted(p.stem for p in (base / "midis").glob("*.mid"))
    by_song: dict[str, list[str]] = {}
    for c in clips:
        by_song.setdefault(c[3:14], []).append(c)
    songs = sorted(by_song)
    parts = {"train": songs[:5], "val": songs[5:6], "test": songs[6:]}
    (base / "split").mkdir()
    for s, ss in parts.items():
        rows = ["clip_name"] + [f"{c}.mid" for song in ss for c in by_song[song]]
        (base / "split" / f"{s}_SL.csv").write_text("\n".join(rows) + "\n")
    r = mlrun("train", "emopia", *TINY, "--data-dir", base, "--tag", "t", "--max-steps", "1")
    assert r.code == 0, r.err
    import torch

    assert torch.get_num_threads() == 1  # --num-threads 1 (TINY) was applied
    saved = json.loads((_run(tmp_path) / "split.json").read_text())
    assert saved["source"] == "official split files"
    assert saved["split"]["val"] == sorted(c for song in parts["val"] for c in by_song[song])


def test_bad_data_folders_give_one_line_errors(mlrun, tmp_path):
    empty = tmp_path / "empty"
    (empty / "midis").mkdir(parents=True)
    r = mlrun("train", "emopia", *TINY, "--data-dir", empty)
    assert r.code == 2 and "holds no .mid files" in r.err and len(r.err.strip().splitlines()) == 1

    r = mlrun("train", "emopia", *TINY, "--data-dir", tmp_path / "nowhere")
    assert r.code == 2 and "is not a folder" in r.err

    base = make_tree(tmp_path / "data", songs=4, bad_files=False)
    (base / "label.csv").write_text("clip,quadrant\nQ1_x,1\n")
    r = mlrun("train", "emopia", *TINY, "--data-dir", base)
    assert r.code == 2 and "label.csv: missing column(s) ID, 4Q" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "runs" / "emopia" / "default" / "checkpoints").exists()

    only_bad = tmp_path / "bad" / "midis"
    only_bad.mkdir(parents=True)
    (only_bad / "Q1_corruptAAAA_0.mid").write_bytes(b"nope")
    (only_bad / "Q2_corruptBBBB_0.mid").write_bytes(b"nope")
    (only_bad / "Q3_corruptCCCC_0.mid").write_bytes(b"nope")
    r = mlrun("train", "emopia", *TINY, "--data-dir", tmp_path / "bad", "--tag", "bad")
    assert r.code == 2 and "no usable training clips" in r.err and "corrupt MIDI" in r.err


def test_seeded_split_is_stratified_and_grouped():
    clips = [corpus.Clip(f"Q{q}_{s:011d}_{k}", None, q, f"{s:011d}") for q in (1, 2, 3, 4)
             for s in range(q * 100, q * 100 + 20) for k in range(3)]
    a = corpus.seeded_split(clips, seed=1)
    assert a == corpus.seeded_split(clips, seed=1) != corpus.seeded_split(clips, seed=2)
    for s in corpus.SPLITS:
        counts = [sum(c.startswith(f"Q{q}") for c in a[s]) for q in (1, 2, 3, 4)]
        want = {"train": 0.7, "val": 0.15, "test": 0.15}[s] * 60
        assert all(abs(c - want) <= 3 for c in counts), (s, counts)
