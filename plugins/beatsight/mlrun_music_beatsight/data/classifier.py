"""Training data: the embedded default (rendered General MIDI drums, cached) and exported collection folders.

Both become :class:`HitSet` (hit segments + labels); :class:`HitDataset` cuts the model's window from a segment
with seeded on-the-fly augmentation. The default's test split is a second soundfont never used for training.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.training import DataSplits

from ..kits.classes import COMPONENTS
from ..beatmap.collection import stratified_split
from ..transcribe.features import (INPUT_SAMPLES, PRE_SAMPLES, SAMPLE_RATE, SEGMENT_PRE_SAMPLES, SEGMENT_SAMPLES, cut,
                       segment_at)
from ..kits.soundfonts import drum_kit, extra_renderer, extra_soundfonts, kit_name
from ..kits import synth, synthkit
from .cache import cache_dir, cache_key, cached, soundfont_id

CACHE_VERSION = "beatsight-default-5"
SYNTH_CACHE_VERSION = "beatsight-synthkit-2"


@attrs.define
class HitSet:
    """Hit segments ``[n, SEGMENT_SAMPLES]`` (onset at SEGMENT_PRE_SAMPLES) and label indices ``[n]``."""

    segments: np.ndarray
    labels: np.ndarray
    sources: list[str] = attrs.field(factory=list)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: list[int]) -> "HitSet":
        return HitSet(self.segments[idx], self.labels[idx], [self.sources[i] for i in idx] if self.sources else [])

    def concat(self, other: "HitSet") -> "HitSet":
        if len(other) == 0:
            return self
        return HitSet(np.concatenate([self.segments, other.segments]), np.concatenate([self.labels, other.labels]),
                      list(self.sources) + list(other.sources))

    def counts(self) -> dict[str, int]:
        return {c: int((self.labels == i).sum()) for i, c in enumerate(COMPONENTS)}


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Inverse-frequency weights per class, scaled so the average training item weighs 1."""
    counts = np.bincount(labels, minlength=len(COMPONENTS)).astype(np.float64)
    present = counts > 0
    w = np.zeros(len(COMPONENTS))
    w[present] = len(labels) / (present.sum() * counts[present])
    return w.astype(np.float32)


class HitDataset(torch.utils.data.Dataset):
    """Items ``(audio window [INPUT_SAMPLES], label, weight)``; with ``no_drum_onsets`` (sample positions of onsets in
    ``mix_bank``) ``no_drum_items`` more items follow the hits: windows of non-drum audio at one of those onsets,
    label -1 ("no drum", trained towards a uniform output so their low confidence lets ``process`` drop them).

    With ``augment``: onset jitter (-6..+12 ms, like detected onsets), speed change by resampling (+-8 %: pitch and
    time together), an EQ tilt, gain, noise, and mixing with non-drum audio from 20 dB below the hit to
    ``mix_max_db`` above it. Random
    numbers come from NumPy's global state, which the trainer seeds per item (``DataSplits.seeded_items``).
    """

    def __init__(self, hits: HitSet, weights: np.ndarray | None, augment: bool = False,
                 mix_bank: np.ndarray | None = None, mix_probability: float = 0.5, mix_max_db: float = 0.0,
                 no_drum_onsets: np.ndarray | None = None, no_drum_items: int = 0) -> None:
        self.hits, self.augment = hits, augment
        self.weights = weights if weights is not None else np.ones(len(COMPONENTS), dtype=np.float32)
        self.mix_bank = mix_bank if mix_bank is not None and len(mix_bank) > INPUT_SAMPLES * 2 else None
        self.mix_probability, self.mix_max_db = mix_probability, mix_max_db
        usable = no_drum_onsets is not None and self.mix_bank is not None and len(no_drum_onsets) > 0
        self.no_drum_onsets = np.asarray(no_drum_onsets) if usable else np.zeros(0, dtype=np.int64)
        self.no_drum_items = no_drum_items if usable else 0

    def __len__(self) -> int:
        return len(self.hits) + self.no_drum_items

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if i >= len(self.hits):
            return self._no_drum(i - len(self.hits))
        seg = self.hits.segments[i]
        label = int(self.hits.labels[i])
        x = self._augmented(seg) if self.augment else cut(seg, SEGMENT_PRE_SAMPLES - PRE_SAMPLES, INPUT_SAMPLES)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.tensor(label), \
            torch.tensor(float(self.weights[label]))

    def _no_drum(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Non-drum audio around an onset of the accompaniment (random onset when augmenting, else the k-th)."""
        rnd = np.random
        onset = int(self.no_drum_onsets[rnd.randint(len(self.no_drum_onsets)) if self.augment
                                        else k % len(self.no_drum_onsets)])
        if self.augment:
            onset += int(rnd.uniform(-0.006, 0.012) * SAMPLE_RATE)
        x = cut(self.mix_bank, onset - PRE_SAMPLES, INPUT_SAMPLES)
        peak = float(np.max(np.abs(x))) + 1e-9
        x = x * (10 ** (rnd.uniform(-12, 6) / 20) * 0.5 / peak if self.augment else 0.5 / peak)
        return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)), torch.tensor(-1), torch.tensor(1.0)

    def _augmented(self, seg: np.ndarray) -> np.ndarray:
        rnd = np.random
        onset = SEGMENT_PRE_SAMPLES + int(rnd.uniform(-0.006, 0.012) * SAMPLE_RATE)
        rate = rnd.uniform(0.92, 1.08) if rnd.random() < 0.6 else 1.0
        # Output sample k reads the segment at onset + (k - PRE_SAMPLES) * rate (linear interpolation).
        pos = onset + (np.arange(INPUT_SAMPLES) - PRE_SAMPLES) * rate
        x = np.interp(pos, np.arange(len(seg)), seg, left=0.0, right=0.0).astype(np.float32)
        if rnd.random() < 0.5:
            from scipy.signal import lfilter

            c = rnd.uniform(0.3, 0.95)
            low = lfilter([1 - c], [1, -c], x).astype(np.float32)
            x = x + rnd.uniform(-0.8, 0.8) * (low - x)  # tilt towards lows (>0) or highs (<0)
        peak = float(np.max(np.abs(x))) + 1e-9
        x = x * (10 ** (rnd.uniform(-12, 6) / 20) * 0.5 / peak)
        level = float(np.sqrt(np.mean(x ** 2))) + 1e-9
        if self.mix_bank is not None and rnd.random() < self.mix_probability:
            start = rnd.randint(0, len(self.mix_bank) - INPUT_SAMPLES)
            other = self.mix_bank[start:start + INPUT_SAMPLES]
            other_level = float(np.sqrt(np.mean(other ** 2))) + 1e-9
            x = x + other * (level / other_level) * 10 ** (rnd.uniform(-20, self.mix_max_db) / 20)
        if rnd.random() < 0.5:
            x = x + rnd.standard_normal(INPUT_SAMPLES).astype(np.float32) * level * 10 ** (-rnd.uniform(20, 50) / 20)
        return x


# ---------------------------------------------------------------------------------------------------------------
# The embedded default


def _hits_from(audio: np.ndarray, hits: list[synth.Hit], source: str) -> tuple[list[np.ndarray], list[int], list[str]]:
    segs, labels = [], []
    for h in hits:
        segs.append(segment_at(audio, int(round(h.time * SAMPLE_RATE))))
        labels.append(COMPONENTS.index(h.component))
    return segs, labels, [source] * len(hits)


def render_training_set(config: Any, log: Any) -> dict[str, np.ndarray]:
    """One-shots and grooves with the training soundfont (every renderer listed), plus non-drum audio."""
    renderers = [r.strip() for r in config.default_renderers.split(",") if r.strip()]
    extras = extra_soundfonts(config, log)
    parts = {"v": CACHE_VERSION, "sf": soundfont_id(config.soundfont), "vel": config.default_velocities,
             "grooves": config.default_grooves, "renderers": renderers}
    if extras:
        parts["extra"] = [soundfont_id(e) for e in extras]
        parts["extra_grooves"] = config.extra_grooves
    path = cache_dir(config) / f"train-{cache_key(parts)}.npz"

    def make() -> dict[str, np.ndarray]:
        segs, labels, sources = [], [], []
        for r_i, renderer in enumerate(renderers):
            hits = synth.one_shots(config.default_velocities, seed=r_i)
            audio = synth.render(hits, config.soundfont, renderer)
            s, l, src = _hits_from(audio, hits, f"one-shot/{renderer}")
            segs += s; labels += l; sources += src
        for e_i, extra in enumerate(extras):
            kit, renderer = drum_kit(extra), extra_renderer(extra)
            hits = synth.one_shots(config.default_velocities, seed=50 + e_i, kit=kit)
            audio = synth.render(hits, extra, renderer)
            s, l, src = _hits_from(audio, hits, f"one-shot/{renderer}/{kit_name(extra)}")
            segs += s; labels += l; sources += src
            for g in range(config.extra_grooves):  # hits in context: overlaps, cymbal tails, fills
                tempo, hits = synth.groove(np.random.default_rng(2000 + 100 * e_i + g))
                hits = synth.for_kit(hits, kit)
                audio = synth.render(hits, extra, renderer, tempo)
                s, l, src = _hits_from(audio, hits, f"groove/{renderer}/{kit_name(extra)}")
                segs += s; labels += l; sources += src
        for g in range(config.default_grooves):
            rng = np.random.default_rng(1000 + g)
            tempo, hits = synth.groove(rng)
            renderer = renderers[g % len(renderers)]
            audio = synth.render(hits, config.soundfont, renderer, tempo)
            s, l, src = _hits_from(audio, hits, f"groove/{renderer}")
            segs += s; labels += l; sources += src
        rng = np.random.default_rng(77)
        bank = []
        for k in range(4):
            tempo = float(rng.uniform(80, 150))
            bank.append(synth.render([], config.soundfont, renderers[k % len(renderers)], tempo,
                                     synth.accompaniment(rng, tempo, 8.0)))
        for extra in extras:  # more instruments for mixing and for 'no drum' items, from kits with a GM bank
            if not drum_kit(extra).drums_only:
                for _ in range(2):
                    tempo = float(rng.uniform(80, 150))
                    bank.append(synth.render([], extra, extra_renderer(extra), tempo,
                                             synth.accompaniment(rng, tempo, 8.0)))
        return {"segments": np.stack(segs).astype(np.float32), "labels": np.array(labels, dtype=np.int64),
                "sources": np.array(sources), "mix_bank": np.concatenate(bank).astype(np.float32)}

    return cached(path, make, log, f"the embedded default ({config.default_velocities} velocities per note, "
                                   f"{config.default_grooves} grooves, {'+'.join(renderers)}, "
                                   f"{', '.join(kit_name(p) for p in [config.soundfont, *extras])})")


def synthetic_set(config: Any, log: Any) -> dict[str, np.ndarray]:
    """Hits of ``--synthetic-kits`` random procedural kits (training) and ``--synthetic-val-kits`` other kits
    (validation), cached like the renders."""
    parts = {"v": SYNTH_CACHE_VERSION, "kits": config.synthetic_kits, "val_kits": config.synthetic_val_kits,
             "per_class": config.synthetic_hits_per_class, "seed": config.synthetic_seed}
    path = cache_dir(config) / f"synth-{cache_key(parts)}.npz"

    def make() -> dict[str, np.ndarray]:
        train = synthkit.synthetic_hits(config.synthetic_kits, config.synthetic_hits_per_class, config.synthetic_seed)
        val = synthkit.synthetic_hits(config.synthetic_val_kits, 1, config.synthetic_seed + 1_000_003)
        return {"segments": train[0], "labels": train[1], "val_segments": val[0], "val_labels": val[1]}

    return cached(path, make, log, f"{config.synthetic_kits} + {config.synthetic_val_kits} synthetic kits "
                                   f"(domain randomisation)")


def render_test_set(config: Any, log: Any) -> dict[str, np.ndarray]:
    """One-shots of every class with the held-out soundfont (fluidsynth), never seen in training."""
    velocities = max(4, config.default_velocities)
    parts = {"v": CACHE_VERSION, "sf": soundfont_id(config.test_soundfont), "vel": velocities}
    path = cache_dir(config) / f"test-{cache_key(parts)}.npz"

    def make() -> dict[str, np.ndarray]:
        hits = synth.one_shots(velocities, seed=99)
        audio = synth.render(hits, config.test_soundfont, "fluidsynth")
        s, l, src = _hits_from(audio, hits, f"one-shot/fluidsynth/{Path(config.test_soundfont).name}")
        return {"segments": np.stack(s).astype(np.float32), "labels": np.array(l, dtype=np.int64),
                "sources": np.array(src)}

    return cached(path, make, log, f"the held-out test kit ({Path(config.test_soundfont).name})")


def _as_hitset(d: dict[str, np.ndarray]) -> HitSet:
    return HitSet(d["segments"], d["labels"], [str(s) for s in d["sources"]])


def default_hits(config: Any, log: Any) -> tuple[HitSet, HitSet, np.ndarray]:
    """(train, val) hit sets of the embedded default (stratified seeded split) and the non-drum mixing bank."""
    data = render_training_set(config, log)
    hits = _as_hitset(data)
    train_idx, val_idx = stratified_split([COMPONENTS[i] for i in hits.labels], config.val_fraction, config.seed)
    train, val = hits.subset(train_idx), hits.subset(val_idx)
    if config.synthetic_kits or config.synthetic_val_kits:
        syn = synthetic_set(config, log)
        train = train.concat(HitSet(syn["segments"], syn["labels"], ["synthetic"] * len(syn["labels"])))
        val = val.concat(HitSet(syn["val_segments"], syn["val_labels"], ["synthetic"] * len(syn["val_labels"])))
    return train, val, data["mix_bank"]


def _splits(config: Any, train: HitSet, val: HitSet, mix_bank: np.ndarray | None, info: dict,
            report: dict) -> DataSplits:
    weights = class_weights(train.labels) if config.class_weighting else None
    report = {**report, "train_counts": train.counts(), "val_counts": val.counts(),
              "class_weights": dict(zip(COMPONENTS, (weights if weights is not None else
                                                     np.ones(len(COMPONENTS))).round(3).tolist()))}
    no_drum, n_no_drum = None, 0
    if mix_bank is not None and config.no_drum_fraction > 0:
        from ..transcribe.onsets import detect

        no_drum = np.round(detect(mix_bank / (np.max(np.abs(mix_bank)) + 1e-9), SAMPLE_RATE).times
                           * SAMPLE_RATE).astype(np.int64)
        n_no_drum = int(round(config.no_drum_fraction * len(train)))
        report = {**report, "no_drum_items": n_no_drum, "no_drum_onsets": int(len(no_drum))}
    return DataSplits(train=HitDataset(train, weights, config.augment, mix_bank, config.mix_probability,
                                       config.mix_max_db, no_drum, n_no_drum),
                      val=HitDataset(val, None) if len(val) else None, info=info, report=report,
                      seeded_items=bool(config.augment))


def load_default(config: Any, ctx: Any) -> DataSplits:
    """Dataset factory ``default``: the rendered General MIDI drums (announced; cached after the first run)."""
    log = ctx.log
    train, val, bank = default_hits(config, log)
    n_syn = sum(s == "synthetic" for s in train.sources) + sum(s == "synthetic" for s in val.sources)
    kits = [kit_name(p) for p in [config.soundfont, *extra_soundfonts(config, None)]]
    log.info("beatsight: training on the EMBEDDED DEFAULT: %d drum hits rendered from General MIDI percussion with "
             "%s and %d hits of procedurally synthesised random kits (no --dataset given)",
             len(train) + len(val) - n_syn, ", ".join(kits), n_syn)
    info = {"components": list(COMPONENTS), "sample_rate": SAMPLE_RATE, "input_samples": INPUT_SAMPLES,
            "dataset": "default"}
    sources: dict[str, int] = {}
    for s in train.sources:
        sources[s] = sources.get(s, 0) + 1
    return _splits(config, train, val, bank, info, {"dataset": "embedded default (rendered + synthetic kits)",
                                                     "soundfont": config.soundfont, "kits": kits,
                                                     "train_sources": sources})


# ---------------------------------------------------------------------------------------------------------------
# Exported collection folders


def read_export(folder: str | Path, split: str) -> tuple[HitSet, dict[str, int]]:
    """Hits of ``split`` (train or val) of an exported folder; silent files are skipped and counted."""
    import soundfile as sf

    from mlrun_music.audio import resample

    folder = Path(folder)
    comps_path = folder / "components.json"
    labels_path = folder / f"{split}_labels.json"
    if not folder.is_dir():
        raise UserError(f"--dataset {folder}: no such folder")
    for p in (comps_path, labels_path):
        if not p.is_file():
            raise UserError(f"--dataset {folder}: missing {p.name} (expected the layout of "
                            f"`mlrun beatsight collect export`)")
    try:
        comps = json.loads(comps_path.read_text(encoding="utf-8"))
        rows = json.loads(labels_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{folder}: invalid JSON in {comps_path.name} or {labels_path.name} ({exc})") from None
    if not isinstance(comps, dict) or list(comps.get("components", [])) != list(COMPONENTS):
        raise UserError(f"{comps_path}: components must be the 12 beatsight classes in order: {', '.join(COMPONENTS)}")
    if not isinstance(rows, list):
        raise UserError(f"{labels_path}: must be a list of {{file, label, component_idx}}")
    segs, labels, sources, skipped = [], [], [], {}
    for i, row in enumerate(rows):
        where = f"{labels_path}[{i}]"
        if not isinstance(row, dict) or row.get("label") not in COMPONENTS or not isinstance(row.get("file"), str):
            raise UserError(f"{where}: needs 'file' and a known 'label'")
        name = Path(row["file"]).name  # never follow a path out of the split folder
        wav = folder / split / name
        try:
            audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - soundfile raises several types
            raise UserError(f"{wav}: not a readable audio file ({str(exc).splitlines()[0]})") from None
        mono = resample(audio.mean(axis=1), rate, SAMPLE_RATE)
        onset_ms = row.get("onset_ms", 25.0)  # the original's export cut its windows 25 ms before the onset
        if mono.size == 0 or float(np.max(np.abs(mono))) < 1e-5:
            skipped["silent"] = skipped.get("silent", 0) + 1
            continue
        segs.append(segment_at(mono, int(round(float(onset_ms) / 1000 * SAMPLE_RATE))))
        labels.append(COMPONENTS.index(row["label"]))
        sources.append(f"{split}/{name}")
    if not segs:
        return HitSet(np.zeros((0, SEGMENT_SAMPLES), np.float32), np.zeros(0, np.int64), []), skipped
    return HitSet(np.stack(segs), np.array(labels, dtype=np.int64), sources), skipped


def _mix_bank_or_none(config: Any, log: Any) -> np.ndarray | None:
    if not config.augment or config.mix_probability <= 0:
        return None
    try:
        return render_training_set(config, log)["mix_bank"]
    except UserError as exc:
        log.warning("beatsight: mixing with non-drum audio disabled: %s", exc)
        return None


def export_folder(config: Any) -> str:
    """The folder of the ``folder`` dataset: ``--dataset DIR`` (the core picks this dataset for a path), or
    ``--data-dir DIR`` with ``--dataset folder``."""
    return config.data_dir if config.dataset == "folder" else config.dataset


def load_folder(config: Any, ctx: Any) -> DataSplits:
    """Dataset factory ``folder``: an exported collection (``--dataset DIR``)."""
    folder = export_folder(config)
    train, skipped_train = read_export(folder, "train")
    val, skipped_val = read_export(folder, "val")
    if len(train) == 0:
        raise UserError(f"--dataset {folder}: the training split holds no usable samples")
    info = {"components": list(COMPONENTS), "sample_rate": SAMPLE_RATE, "input_samples": INPUT_SAMPLES,
            "dataset": "folder"}
    ctx.log.info("beatsight: training on %s: %d training and %d validation hits", folder, len(train), len(val))
    return _splits(config, train, val, _mix_bank_or_none(config, ctx.log), info,
                   {"dataset": str(folder), "skipped": {"train": skipped_train, "val": skipped_val}})
