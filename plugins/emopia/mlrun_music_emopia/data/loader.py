"""The dataset hook: an EMOPIA-layout folder (a local EMOPIA 1.0 copy, the `scores` corpus or the embedded
synthetic corpus) -> tokenized, windowed splits.

Order of operations: scan and label -> split by song (saved in the run folder, reused on
resume) -> tokenize (skips counted) -> oversample the TRAIN split only -> cut every clip into windows of the
maximum sequence length (nothing is silently truncated) -> train-only seeded augmentation.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.training import DataSplits

from .. import tokens
from . import corpus
from .synthetic import ensure_corpus

DURATION_SCALE = 60.0  # the duration input is seconds / 60


@attrs.define
class Prepared:
    """Clips per split with their tokens and durations, plus the report."""

    root: Path
    source: str
    clips: dict[str, list[corpus.Clip]]
    ids: dict[str, list[int]]
    seconds: dict[str, float]
    report: dict[str, Any]


def synthetic_root(run_dir: Path) -> Path:
    return Path(run_dir) / "synthetic_EMOPIA_1.0"


def dataset_of(config: Any) -> str:
    """The dataset a config trains on: ``--dataset``, else ``emopia`` when ``--data-dir`` is set, else the embedded
    ``default`` (configs built without validation, e.g. by the Python API, may leave ``dataset`` empty)."""
    return config.dataset or ("emopia" if config.data_dir else "default")


def prepare(config: Any, run_dir: Path, log: logging.Logger, *, data_dir: str | None = None,
            save_split: bool = True, reuse_split: bool = True, restart: bool | None = None) -> Prepared:
    """Scan, label, split and tokenize the config's dataset; ``data_dir`` replaces it with an EMOPIA-layout folder
    (evaluation on other data).

    ``reuse_split``: use ``<run_dir>/split.json`` when present (resume, evaluation); ``save_split``: write it.
    """
    dataset = "emopia" if data_dir else dataset_of(config)
    scores_report: dict[str, Any] = {}
    if dataset == "emopia":
        scan = corpus.scan(data_dir or config.data_dir)
        source = f"EMOPIA layout at {scan.root}"
    elif dataset == "scores":
        from . import scores

        root, scores_report = scores.ensure(config, log)
        scan = corpus.scan(root)
        source = (f"music21 corpus scores ({scores_report['pieces_used']} pieces, {scores_report['clips']} clips; "
                  f"PROXY labels: valence = mode, arousal = onsets per second)")
        log.info("dataset 'scores': %s at %s", source, root)
    else:
        root, made = ensure_corpus(synthetic_root(run_dir), config.synthetic_songs, config.seed)
        scan = corpus.scan(root)
        source = f"embedded synthetic corpus ({config.synthetic_songs} songs, seed {config.seed})"
        log.info("using the embedded SYNTHETIC EMOPIA-layout corpus at %s (%s); pass --data-dir EMOPIA_1.0 for the "
                 "real dataset", root, "generated now" if made else "reused")
    split_file = Path(run_dir) / "split.json"
    split, split_source = corpus.choose_split(scan, config.seed, split_file if reuse_split else None,
                                              getattr(config, "restart", False) if restart is None else restart)
    if save_split and not split_source.startswith("saved"):
        corpus.save_split(split_file, split, split_source, scan.root)
    clips = corpus.apply_split(scan, split)

    ids: dict[str, list[int]] = {}
    seconds: dict[str, float] = {}
    drums_dropped = 0
    kept: dict[str, list[corpus.Clip]] = {s: [] for s in corpus.SPLITS}
    for s in corpus.SPLITS:
        for clip in clips[s]:
            try:
                score, drums = tokens.piano_score(tokens.load_score(str(clip.path)))
                seq = tokens.encode(score)
                if not seq:
                    raise tokens.SkipClip("no notes in the tokenizer's pitch range")
            except tokens.SkipClip as exc:
                scan.skip(str(exc), clip.path.name)
                continue
            drums_dropped += drums
            ids[clip.clip_id] = seq
            seconds[clip.clip_id] = tokens.seconds_of(score)
            kept[s].append(clip)
    if not kept["train"]:
        reasons = "; ".join(f"{k}: {len(v)}" for k, v in scan.skipped.items()) or "no clips"
        raise UserError(f"no usable training clips in {scan.root} ({reasons})")
    counts = {s: {f"Q{q}": sum(c.quadrant == q for c in kept[s]) for q in (1, 2, 3, 4)} for s in corpus.SPLITS}
    report = {
        "source": source, "root": str(scan.root), "label_source": scan.label_source, "split_source": split_source,
        "midi_files_found": scan.n_files,
        "clips_used": sum(len(v) for v in kept.values()), "per_split": counts,
        "songs_per_split": {s: len({c.song for c in kept[s]}) for s in corpus.SPLITS},
        "skipped": {k: {"count": len(v), "examples": v[:5]} for k, v in scan.skipped.items()},
        "label_disagreements": {"count": len(scan.disagreements), "examples": scan.disagreements[:20]},
        "drum_tracks_dropped": drums_dropped,
    }
    if scores_report:
        report["scores"] = {k: v for k, v in scores_report.items() if k != "fingerprint"}
    for k, v in scan.skipped.items():
        log.info("skipped %d file(s): %s (e.g. %s)", len(v), k, v[0])
    if scan.disagreements:
        log.info("%d clip(s) whose label.csv quadrant differs from the file name; label.csv wins",
                 len(scan.disagreements))
    return Prepared(scan.root, source, kept, ids, seconds, report)


def oversample(clips: list[corpus.Clip], seed: int) -> tuple[list[corpus.Clip], dict[str, int]]:
    """Repeat clips of smaller quadrants (sampling with replacement, seeded) up to the largest one's count."""
    by_q: dict[int, list[corpus.Clip]] = {}
    for c in clips:
        by_q.setdefault(c.quadrant, []).append(c)
    target = max(len(v) for v in by_q.values())
    rng = random.Random(seed ^ 0x0BA1)
    out = list(clips)
    added = {}
    for q, group in sorted(by_q.items()):
        extra = [rng.choice(group) for _ in range(target - len(group))]
        out.extend(extra)
        added[f"Q{q}"] = len(extra)
    return out, added


def windows(seq: list[int], length: int) -> list[np.ndarray]:
    """[BOS] + seq + [EOS] cut into consecutive windows of ``length`` inputs (+1 target), overlapping by one."""
    v = tokens.vocab()
    full = np.asarray([v.bos, *seq, v.eos], dtype=np.int64)
    out = []
    for start in range(0, max(1, len(full) - 1), length):
        piece = full[start:start + length + 1]
        if len(piece) >= 2:
            out.append(piece)
    return out


class Windows(torch.utils.data.Dataset):
    """Token windows with their emotion and clip duration; optional train-only augmentation."""

    def __init__(self, items: list[tuple[np.ndarray, int, float]], augment: bool = False,
                 transpose: int = 5, tempo_jitter: float = 0.1, velocity_jitter: float = 0.2) -> None:
        self.items = items
        self.augment = augment
        self.transpose, self.tempo_jitter, self.velocity_jitter = transpose, tempo_jitter, velocity_jitter
        self._tables: dict[tuple[str, float], np.ndarray | None] = {}

    def __len__(self) -> int:
        return len(self.items)

    def _table(self, kind: str, amount: float) -> np.ndarray | None:
        key = (kind, amount)
        if key not in self._tables:
            v = tokens.vocab()
            if kind == "transpose":
                self._tables[key] = v.transpose_table(int(amount))
            else:
                self._tables[key] = v.scale_table(tokens.TEMPO if kind == "tempo" else tokens.VEL, amount)
        return self._tables[key]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int, float]:
        ids, emotion, seconds = self.items[i]
        if self.augment:
            # NumPy's global RNG is seeded per item by the trainer (seeded_items), so this is reproducible.
            shift = int(np.random.randint(-self.transpose, self.transpose + 1)) if self.transpose else 0
            tempo = round(float(np.random.uniform(1 - self.tempo_jitter, 1 + self.tempo_jitter)), 2)
            vel = round(float(np.random.uniform(1 - self.velocity_jitter, 1 + self.velocity_jitter)), 2)
            table = self._table("transpose", shift) if shift else None
            if table is not None:  # None: the shift would push a pitch out of range; keep this window as is
                ids = table[ids]
            ids = self._table("tempo", tempo)[ids]
            ids = self._table("velocity", vel)[ids]
            seconds = seconds / tempo
        return torch.as_tensor(ids, dtype=torch.long), emotion, seconds


def collate(batch: list[tuple[torch.Tensor, int, float]]) -> dict[str, torch.Tensor]:
    """Pad windows with PAD; inputs are all but the last token, targets all but the first."""
    pad = tokens.vocab().pad
    n = max(len(b[0]) for b in batch)
    seqs = torch.full((len(batch), n), pad, dtype=torch.long)
    for i, (ids, _, _) in enumerate(batch):
        seqs[i, : len(ids)] = ids
    return {"tokens": seqs[:, :-1], "targets": seqs[:, 1:],
            "emotion": torch.tensor([b[1] for b in batch], dtype=torch.long),
            "duration": torch.tensor([b[2] / DURATION_SCALE for b in batch], dtype=torch.float32)}


def window_items(prep: Prepared, clips: list[corpus.Clip], length: int) -> list[tuple[np.ndarray, int, float]]:
    return [(w, c.quadrant - 1, prep.seconds[c.clip_id]) for c in clips for w in windows(prep.ids[c.clip_id], length)]


def model_info(prep: Prepared) -> dict[str, Any]:
    """What the model factory, generation and evaluation need without the data."""
    v = tokens.vocab()
    train = prep.clips["train"]
    rate, mean_s = {}, {}
    for q in (1, 2, 3, 4):
        cs = [c for c in train if c.quadrant == q]
        if cs:
            rate[f"Q{q}"] = float(np.mean([len(prep.ids[c.clip_id]) / max(prep.seconds[c.clip_id], 1e-3)
                                           for c in cs]))
            mean_s[f"Q{q}"] = float(np.mean([prep.seconds[c.clip_id] for c in cs]))
    return {"tokenizer": tokens.TOKENIZER_VERSION, "vocab_size": v.size, "pad_id": v.pad, "bos_id": v.bos,
            "eos_id": v.eos, "n_emotions": 4, "trained_quadrants": sorted({c.quadrant for c in train}),
            "duration_scale": DURATION_SCALE, "tokens_per_second": rate, "mean_seconds": mean_s,
            "data_source": prep.source}


def load(config: Any, ctx: Any) -> DataSplits:
    """The dataset hook of all three datasets (``default``, ``emopia``, ``scores``): every one is an EMOPIA layout."""
    prep = prepare(config, ctx.run_dir, ctx.log, save_split=ctx.is_main)
    train_clips = prep.clips["train"]
    report = dict(prep.report)
    if config.balance:
        train_clips, added = oversample(train_clips, config.seed)
        report["oversampled_train"] = {"added": added, "train_clips_after": len(train_clips)}
    L = config.max_seq_len
    train_items = window_items(prep, train_clips, L)
    val_items = window_items(prep, prep.clips["val"], L)
    test_items = window_items(prep, prep.clips["test"], L)
    if not val_items:
        raise UserError(f"the validation split of {prep.root} is empty after skipping unusable clips")
    n_tok = {s: int(sum(len(prep.ids[c.clip_id]) + 2 for c in prep.clips[s])) for s in corpus.SPLITS}
    report["windows"] = {"length": L, "train": len(train_items), "val": len(val_items), "test": len(test_items),
                         "tokens": n_tok}
    ctx.log.info("data: %s; clips train/val/test %d/%d/%d (train after oversampling %d); windows %d/%d/%d",
                 prep.source, len(prep.clips["train"]), len(prep.clips["val"]), len(prep.clips["test"]),
                 len(train_clips), len(train_items), len(val_items), len(test_items))
    aug = dict(transpose=config.augment_transpose, tempo_jitter=config.augment_tempo,
               velocity_jitter=config.augment_velocity)
    return DataSplits(train=Windows(train_items, augment=config.augment, **aug), val=Windows(val_items),
                      test=Windows(test_items) if test_items else None, collate_fn=collate,
                      info={**model_info(prep), "emotion_dropout": float(config.emotion_dropout)},
                      report=report, seeded_items=config.augment)
