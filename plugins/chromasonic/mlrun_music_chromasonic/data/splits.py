"""From melodies to training data: length filters, de-duplication, a seeded 80/10/10 split by tune, the vocabulary
(stored in ``DataSplits.info`` so models rebuild without data) and windows of token ids.

Third-party datasets call :func:`splits_from_melodies` with melodies they build; see the README.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch

from mlrun_music.errors import UserError
from mlrun_music.training import DataSplits
from mlrun_music.training.seeding import derive_seed

from .melody import PAD_ID, Melody, Vocabulary, as_melody, melody_stats, tokens_of

SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


class TuneWindows(torch.utils.data.Dataset):
    """Windows of ``length + 1`` token ids over whole tunes (input = first ``length``, targets = shifted by one).

    Every window lies inside one tune; short tunes give one window padded with ``<pad>`` (ignored by the loss).
    ``melodies`` and ``tunes`` (id lists) stay available for evaluation and generation.
    """

    def __init__(self, melodies: Sequence[Melody], tunes: Sequence[Sequence[int]], length: int, stride: int) -> None:
        self.melodies = list(melodies)
        self.tunes = [list(t) for t in tunes]
        self.length = length
        self.index: list[tuple[int, int]] = []
        for ti, tune in enumerate(self.tunes):
            last = max(0, len(tune) - (length + 1))
            starts = list(range(0, last + 1, stride))
            if starts[-1] != last:
                starts.append(last)  # cover the tune's end too
            self.index += [(ti, s) for s in starts]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int) -> torch.Tensor:
        ti, s = self.index[i]
        ids = self.tunes[ti][s:s + self.length + 1]
        ids = ids + [PAD_ID] * (self.length + 1 - len(ids))
        return torch.tensor(ids, dtype=torch.long)


def _fingerprint(tokens: Sequence[str]) -> str:
    return hashlib.sha1(" ".join(tokens).encode()).hexdigest()


def split_by_tune(n: int, seed: int) -> tuple[list[int], list[int], list[int]]:
    """Seeded 80/10/10 split of tune indices; val and test get at least one tune each when n >= 3."""
    order = list(range(n))
    random.Random(derive_seed(seed, 0xC4A5)).shuffle(order)
    n_test = max(1, round(n * SPLIT_FRACTIONS[2])) if n >= 3 else 0
    n_val = max(1, round(n * SPLIT_FRACTIONS[1])) if n >= 3 else 0
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return sorted(train), sorted(val), sorted(test)


def prepare_melodies(melodies: Iterable[Any], config: Any, source: str) -> tuple[list[Melody], list[list[str]],
                                                                                  dict[str, Any]]:
    """Validate, filter by length and drop exact duplicates; returns melodies, their tokens and counts."""
    kept: list[Melody] = []
    toks: list[list[str]] = []
    seen: set[str] = set()
    short = long = dupes = 0
    total = 0
    for i, item in enumerate(melodies):
        total += 1
        mel = as_melody(item, i, source)
        n = len(mel.notes)
        if n < config.min_melody_length:
            short += 1
            continue
        if n > config.max_melody_length:
            long += 1
            continue
        tokens = tokens_of(mel, config.normalize_key, config.max_duration)
        fp = _fingerprint(tokens)
        if fp in seen:
            dupes += 1  # the same tune twice would leak between splits
            continue
        seen.add(fp)
        kept.append(mel)
        toks.append(tokens)
    counts = {"melodies_in": total, "too_short": short, "too_long": long, "duplicates": dupes, "kept": len(kept),
              "min_melody_length": config.min_melody_length, "max_melody_length": config.max_melody_length}
    return kept, toks, counts


def splits_from_melodies(melodies: Iterable[Any], config: Any, source: str = "melodies",
                         report: dict[str, Any] | None = None, log: Any = None) -> DataSplits:
    """Turn melodies into chromasonic's :class:`DataSplits` (the public entry point for third-party datasets).

    ``melodies``: :class:`~.melody.Melody` objects, dicts ``{"notes": [(pitch, dur), ...], "title": ...}`` or bare
    lists of ``(midi_pitch or None for a rest, duration in quarter lengths)``. Applies ``--min/max-melody-length``,
    removes exact duplicates, splits 80/10/10 by tune with ``--seed``, builds the vocabulary from the training
    tunes (``--min-token-count``), and cuts windows of ``--sequence-length``. ``info`` holds the vocabulary.
    """
    kept, toks, counts = prepare_melodies(melodies, config, source)
    if len(kept) < 3:
        raise UserError(f"{source}: only {len(kept)} melodies remain after the length filters "
                        f"(--min-melody-length {config.min_melody_length}, --max-melody-length "
                        f"{config.max_melody_length}; {counts['too_short']} too short, {counts['too_long']} too "
                        f"long); at least 3 are needed for train/val/test")
    train_i, val_i, test_i = split_by_tune(len(kept), config.seed)
    vocab = (init_vocabulary(config.init_from, config, log) if getattr(config, "init_from", "") else
             Vocabulary.build((toks[i] for i in train_i), config.min_token_count))
    if len(vocab) <= 2:
        raise UserError(f"{source}: no note event occurs --min-token-count {config.min_token_count} times in the "
                        f"training tunes")
    info = {"vocab": list(vocab.tokens), "sequence_length": config.sequence_length,
            "normalize_key": config.normalize_key, "max_duration": config.max_duration, "source": source}
    stride = config.window_stride or max(1, config.sequence_length // 2)

    def make(idx: list[int]) -> TuneWindows:
        return TuneWindows([kept[i] for i in idx], [vocab.encode(toks[i]) for i in idx], config.sequence_length,
                           stride)

    train, val, test = make(train_i), make(val_i), make(test_i)
    unk = {name: _unk_rate(ds) for name, ds in (("train", train), ("val", val), ("test", test))}
    rep = dict(report or {})
    rep.update({
        "source": source, "filters": counts,
        "split": {"seed": config.seed, "fractions": list(SPLIT_FRACTIONS), "tunes": [len(train_i), len(val_i),
                  len(test_i)], "windows": [len(train), len(val), len(test)]},
        "vocabulary": {"size": len(vocab), "min_token_count": config.min_token_count, "unk_rate": unk},
        "stats": melody_stats(kept),
        "test_titles": [kept[i].title for i in test_i][:200],
    })
    if log is not None:
        log.info("%s: %d tunes (%d too short, %d too long, %d duplicates dropped) -> train/val/test %d/%d/%d tunes, "
                 "%d/%d/%d windows; vocabulary %d events", source, len(kept), counts["too_short"],
                 counts["too_long"], counts["duplicates"], len(train_i), len(val_i), len(test_i), len(train),
                 len(val), len(test), len(vocab))
    return DataSplits(train=train, val=val, test=test, info=info, report=rep)


def init_vocabulary(path: str, config: Any, log: Any = None) -> Vocabulary:
    """The vocabulary of the ``--init-from`` checkpoint: fine-tuning keeps its token ids (events it never saw
    become ``<unk>``); its event settings must be this run's."""
    from mlrun_music.pretrained import shipped_reference
    from mlrun_music.training.checkpoint import load_checkpoint

    path = str(shipped_reference("chromasonic", path) or path)  # shipped:NAME, as the trainer reads it
    info = load_checkpoint(path, task="chromasonic").get("model_info") or {}
    if "vocab" not in info:
        raise UserError(f"--init-from {path}: the checkpoint holds no chromasonic vocabulary")
    for field in ("normalize_key", "max_duration"):
        if field in info and info[field] != getattr(config, field):
            flag = "--" + field.replace("_", "-")
            raise UserError(f"--init-from {path}: the checkpoint was trained with {flag} {info[field]}, this run "
                            f"has {getattr(config, field)}")
    if log is not None:
        log.info("vocabulary of %s: %d events (events it lacks become <unk>)", path, len(info["vocab"]))
    return Vocabulary(tuple(info["vocab"]))


def _unk_rate(ds: TuneWindows) -> float:
    total = sum(len(t) for t in ds.tunes)
    return sum(t.count(1) for t in ds.tunes) / total if total else 0.0


def retokenize(data: DataSplits, info: dict[str, Any], config: Any) -> DataSplits:
    """Re-encode a dataset's tunes with a checkpoint's vocabulary (evaluation must use the model's ids)."""
    vocab = Vocabulary(tuple(info["vocab"]))
    stride = config.window_stride or max(1, info["sequence_length"] // 2)

    def again(ds: TuneWindows | None) -> TuneWindows | None:
        if ds is None:
            return None
        ids = [vocab.encode(tokens_of(m, info["normalize_key"], info["max_duration"])) for m in ds.melodies]
        return TuneWindows(ds.melodies, ids, info["sequence_length"], stride)

    return DataSplits(train=again(data.train), val=again(data.val), test=again(data.test), info=dict(info),
                      report=data.report)


def windows_from_melodies(melodies: Sequence[Melody], info: dict[str, Any]) -> TuneWindows:
    """All of ``melodies`` as one evaluation set, encoded with ``info``'s vocabulary."""
    vocab = Vocabulary(tuple(info["vocab"]))
    ids = [vocab.encode(tokens_of(m, info["normalize_key"], info["max_duration"])) for m in melodies]
    return TuneWindows(melodies, ids, info["sequence_length"], max(1, info["sequence_length"] // 2))


_DATA_CACHE: dict[str, Any] = {}


def rebuild_data(config: Any, log: Any, out_dir: Path, task_name: str = "chromasonic") -> Any:
    """Call the run's dataset factory again (melodies are cached, so this is quick); memoised per config."""
    from mlrun_music.api import task
    from mlrun_music.config import to_dict
    from mlrun_music.training.run import build_data
    from mlrun_music.training.types import RunContext

    key = json.dumps(to_dict(config), sort_keys=True, default=str)
    if key not in _DATA_CACHE:
        registered = task(task_name)
        ctx = RunContext(task=task_name, plugin=registered.source.distribution,
                         plugin_version=registered.source.version, run_dir=out_dir, device=torch.device("cpu"),
                         log=log)
        # build_data also writes data_report.json into out_dir: the evaluation keeps the report of its data.
        _DATA_CACHE[key] = build_data(registered, config, ctx)
    return _DATA_CACHE[key]


# ---------------------------------------------------------------------------------------------------------------
# Dataset factories (registered in plugin.py)


def _parsed(source: str, config: Any, ctx: Any) -> DataSplits:
    """Splits of the melodies ``sources.load_<source>`` parses, its parse report kept."""
    from . import sources

    log = getattr(ctx, "log", None)
    melodies, report = getattr(sources, f"load_{source}")(config, log)
    return splits_from_melodies(melodies, config, source=source, report={"parse": report}, log=log)


def load_folk(config: Any, ctx: Any) -> DataSplits:
    """Real folk tunes from music21's corpus (offline): the embedded default."""
    return _parsed("folk", config, ctx)


def load_nottingham(config: Any, ctx: Any) -> DataSplits:
    """The Nottingham Music Database in ABC, from --data-dir or downloaded once (SHA-256 checked)."""
    return _parsed("nottingham", config, ctx)


def load_folder(config: Any, ctx: Any) -> DataSplits:
    """Your own tunes: ABC, MIDI and MusicXML files below --data-dir (any depth)."""
    return _parsed("folder", config, ctx)


def load_synthetic(config: Any, ctx: Any) -> DataSplits:
    """The original project's random walks: for pipeline checks, not music (announced as such)."""
    from . import sources

    log = getattr(ctx, "log", None)
    if log is not None:
        log.info("dataset 'synthetic': %d random-walk melodies of %d notes (not real music)",
                 config.num_sequences, config.synthetic_length)
    melodies = sources.synthetic_melodies(config.num_sequences, config.synthetic_length, config.seed)
    return splits_from_melodies(melodies, config, source="synthetic", report={"synthetic": True}, log=log)
