"""Training data: chunk folders (audio + .phase) decoded once into a cache, and the trainer's dataset factory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from mlrun_music.errors import UserError
from mlrun_music.fileio import atomic_path, write_json
from mlrun_music.training import DataSplits

from ..config import FPS, HOP, SAMPLE_RATE
from .labels import read_phase_file

AUDIO_SUFFIXES = (".ogg", ".flac", ".wav")
CACHE_DIR = ".mlrun-cache"


@attrs.define
class ChunkSet:
    """Decoded chunks: int16 audio ``[N, samples]`` and labels ``[N, label_frames]`` (memory-mapped when cached)."""

    names: list[str]
    audio: np.ndarray
    labels: np.ndarray
    report: dict[str, Any]


def scan_chunks(folder: Path, label_frames_needed: int) -> tuple[list[tuple[Path, Path]], dict[str, Any]]:
    """Pairs (audio, .phase) in ``folder``; missing, unreadable or short labels are skipped and counted."""
    if not folder.is_dir():
        raise UserError(f"--chunks-path: {folder} is not a folder")
    audio_files = sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    skipped: dict[str, list[str]] = {}
    pairs = []
    for a in audio_files:
        label = a.with_suffix(".phase")
        if not label.is_file():
            skipped.setdefault("missing .phase file", []).append(a.name)
            continue
        pairs.append((a, label))
    if not pairs:
        raise UserError(f"--chunks-path: no chunks (audio with a .phase file) in {folder}")
    return pairs, {"skipped": skipped}


def _cache_key(pairs: list[tuple[Path, Path]], frames: int, label_frames: int) -> str:
    h = hashlib.sha256(f"v1:{frames}:{label_frames}".encode())
    for a, l in pairs:
        for p in (a, l):
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:16]


def load_chunks(folder: str | Path, anticipation_max: float, use_cache: bool = True, log: Any = None) -> ChunkSet:
    """Decode every chunk of ``folder`` once; later runs read the memory-mapped cache."""
    import soundfile as sf

    folder = Path(folder)
    need_extra = int(np.ceil(anticipation_max * FPS - 1e-9))
    pairs, report = scan_chunks(folder, need_extra)
    # All chunks of one folder share a length; the shortest audio sets it.
    lengths = []
    good = []
    for a, l in pairs:
        try:
            lengths.append(sf.info(str(a)).frames)
            good.append((a, l))
        except Exception:  # soundfile raises various errors for non-audio
            report["skipped"].setdefault("unreadable audio", []).append(a.name)
    if not good:
        raise UserError(f"--chunks-path: no readable chunk audio in {folder}")
    frames = min(lengths) // HOP
    label_frames = frames + need_extra
    key = _cache_key(good, frames, label_frames)
    cache = folder / CACHE_DIR / f"chunks-{key}"
    if use_cache and (cache / "meta.json").is_file():
        meta = json.loads((cache / "meta.json").read_text(encoding="utf-8"))
        if log:
            log.info("phase: using decoded chunk cache %s (%d chunks)", cache, len(meta["names"]))
        return ChunkSet(meta["names"], np.load(cache / "audio.npy", mmap_mode="r"),
                        np.load(cache / "labels.npy", mmap_mode="r"), meta["report"])
    names, audio_rows, label_rows = [], [], []
    for a, l in good:
        try:
            labels = read_phase_file(l)
        except UserError:
            report["skipped"].setdefault("unreadable .phase file", []).append(l.name)
            continue
        if len(labels) < label_frames:
            report["skipped"].setdefault(f"short .phase file (< {label_frames} values)", []).append(l.name)
            continue
        try:
            data, rate = sf.read(str(a), dtype="float32", always_2d=True)
        except Exception:
            report["skipped"].setdefault("unreadable audio", []).append(a.name)
            continue
        mono = data.mean(axis=1)
        if rate != SAMPLE_RATE:
            from mlrun_music.audio import resample

            mono = resample(mono, rate, SAMPLE_RATE)
        if len(mono) < frames * HOP:
            report["skipped"].setdefault("short audio", []).append(a.name)
            continue
        names.append(a.stem)
        audio_rows.append(np.clip(np.round(mono[: frames * HOP] * 32767), -32768, 32767).astype(np.int16))
        label_rows.append(labels[:label_frames].astype(np.float32))
    if not names:
        reasons = "; ".join(f"{k}: {len(v)}" for k, v in report["skipped"].items())
        hint = ""
        if any(k.startswith("short .phase") for k in report["skipped"]):
            hint = (f"; --anticipation-max {anticipation_max:g} needs labels {anticipation_max:g} s past each chunk "
                    f"(mlrun phase chop --label-extra-seconds)")
        raise UserError(f"--chunks-path: no usable chunk in {folder} ({reasons}){hint}")
    report = {"chunks": len(names), "frames_per_chunk": frames, "label_frames": label_frames,
              "skipped_by_reason": {k: len(v) for k, v in report["skipped"].items()},
              "skipped_files": report["skipped"], "folder": str(folder)}
    audio = np.stack(audio_rows)
    labels = np.stack(label_rows)
    if use_cache:
        try:
            for name, arr in (("audio.npy", audio), ("labels.npy", labels)):
                with atomic_path(cache / name, suffix=".npy") as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, arr)
            write_json(cache / "meta.json", {"names": names, "report": report})
        except (UserError, OSError) as exc:
            if log:
                log.warning("phase: cannot write the chunk cache in %s (%s); decoding again next time", folder, exc)
    return ChunkSet(names, audio, labels, report)


def stretch_chunk(audio: np.ndarray, labels: np.ndarray, speed: float, offset_frames: float, out_frames: int,
                  extra_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Play a decoded chunk ``speed`` times faster from ``offset_frames`` on (pitch moves with it, as in chop).

    Returns ``out_frames * HOP`` samples and ``out_frames + extra_frames`` labels; labels are interpolated on the
    unwrapped phase so wraps stay sharp. The caller keeps the read inside the chunk.
    """
    n = out_frames * HOP
    src = offset_frames * HOP + np.arange(n, dtype=np.float64) * speed
    out_audio = np.interp(src, np.arange(len(audio), dtype=np.float64), audio).astype(np.float32)
    unwrapped = np.unwrap(2 * np.pi * np.asarray(labels, dtype=np.float64)) / (2 * np.pi)
    pos = offset_frames + np.arange(out_frames + extra_frames, dtype=np.float64) * speed
    out_labels = np.mod(np.interp(pos, np.arange(len(labels), dtype=np.float64), unwrapped), 1.0)
    return out_audio, out_labels.astype(np.float32)


class ChunkDataset(torch.utils.data.Dataset):
    """Items ``(audio float32 [samples], labels [label_frames], anticipation [])``; one anticipation per item.

    With ``augment_speed`` s > 0 every item is a random excerpt played at a random speed in [1/(1+s), 1+s] with a
    random gain of up to ``augment_gain_db``: 258 chunks become endless variations (tempo, position, loudness),
    which keeps a long run from memorising them. Items are then shorter than the chunk so any speed fits.
    ``augment_eq_db`` / ``augment_reverb`` > 0 add a random timbre (EQ, tilt, room; see `timbre`) to every item.
    """

    def __init__(self, chunks: ChunkSet, indices: list[int], a_min: float, a_max: float,
                 fixed_anticipation: float | None = None, augment_speed: float = 0.0,
                 augment_gain_db: float = 0.0, augment_eq_db: float = 0.0, augment_reverb: float = 0.0) -> None:
        self.chunks, self.indices = chunks, list(indices)
        self.a_min, self.a_max, self.fixed = a_min, a_max, fixed_anticipation
        self.augment_speed, self.augment_gain_db = augment_speed, augment_gain_db
        self.augment_eq_db, self.augment_reverb = augment_eq_db, augment_reverb
        frames = chunks.audio.shape[1] // HOP
        self.extra = chunks.labels.shape[1] - frames
        # The longest excerpt whose audio and labels stay inside the chunk at the top speed.
        top = 1.0 + augment_speed
        self.out_frames = int(np.floor((frames - 1) / top - self.extra)) if augment_speed > 0 else frames
        if self.out_frames < 1:
            raise UserError(f"--augment-speed {augment_speed:g} leaves no frame of {frames / FPS:g} s chunks")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        k = self.indices[i]
        if self.augment_speed > 0:  # random draws seeded per item by the trainer (seeded_items)
            r = torch.rand(3).tolist()
            top = 1.0 + self.augment_speed
            speed = float(top ** (2 * r[0] - 1))
            frames = self.chunks.audio.shape[1] // HOP
            max_offset = max(0.0, (frames - 1) - (self.out_frames + self.extra) * speed)
            audio_np, labels_np = stretch_chunk(np.asarray(self.chunks.audio[k], dtype=np.float32) / 32767.0,
                                                self.chunks.labels[k], speed, r[1] * max_offset,
                                                self.out_frames, self.extra)
            audio_np *= 10.0 ** (self.augment_gain_db * (2 * r[2] - 1) / 20.0)
        else:
            audio_np = np.asarray(self.chunks.audio[k], dtype=np.float32) / 32767.0
            labels_np = np.array(self.chunks.labels[k], dtype=np.float32)
        if self.augment_eq_db > 0 or self.augment_reverb > 0:  # drawn after the speed draws: those stay as before
            from .timbre import DRAWS, random_timbre

            audio_np = random_timbre(audio_np, torch.rand(DRAWS).numpy().astype(np.float64), self.augment_eq_db,
                                     self.augment_reverb)
        audio, labels = torch.from_numpy(audio_np), torch.from_numpy(labels_np)
        if self.fixed is not None:
            a = self.fixed
        else:  # seeded per item by the trainer (seeded_items), so resumed runs draw the same values
            a = self.a_min + (self.a_max - self.a_min) * float(torch.rand(()))
        return audio, labels, torch.tensor(a, dtype=torch.float32)


def check_warmup(config: Any, frames: int) -> None:
    if config.warmup_seconds * FPS >= frames:
        raise UserError(f"--warmup-seconds {config.warmup_seconds:g} leaves no frame to learn from: the chunks "
                        f"are {frames / FPS:g} s long")


def concat_chunks(sets: list[ChunkSet]) -> ChunkSet:
    """Several chunk sets as one (cut to the shortest chunk length; names prefixed by their set's index)."""
    if len(sets) == 1:
        return sets[0]
    frames = min(s.audio.shape[1] for s in sets) // HOP
    extra = min(s.labels.shape[1] - s.audio.shape[1] // HOP for s in sets)
    audio = np.concatenate([np.asarray(s.audio[:, :frames * HOP]) for s in sets])
    labels = np.concatenate([np.asarray(s.labels[:, :frames + extra]) for s in sets])
    names = [f"{i}/{n}" for i, s in enumerate(sets) for n in s.names]
    return ChunkSet(names, audio, labels, {"chunks": len(names), "frames_per_chunk": frames,
                                           "parts": [s.report for s in sets]})


def scores_soundfonts(config: Any) -> list[Path]:
    """Soundfonts the training copy of the scores set is rendered with: --scores-soundfont (comma-separated), else
    the embedded default's training soundfonts that fluidsynth/timidity render alone (never the evaluation set's
    FluidR3Mono)."""
    from .default import SF2, SF2_EXTRA, _split_list

    return _split_list(config.scores_soundfont) or [SF2] + [p for p in (SF2_EXTRA,) if p.is_file()]


def scores_chunks(config: Any, log: Any = None, chunk_seconds: float | None = None) -> list[Path]:
    """The scores set of the training options, rendered once per training soundfont and chopped once
    (``chunk_seconds`` long, else ``default_chunk_seconds``; seed of the run) into cached folders beside the
    songs."""
    seconds = chunk_seconds or config.default_chunk_seconds
    from .chop import chop_corpus
    from .scores import build_scores

    folders = []
    for font in scores_soundfonts(config):
        songs = build_scores(per_source=config.scores_per_source, sources=config.scores_sources,
                             first=config.scores_first, max_seconds=config.scores_max_seconds,
                             soundfont=str(font), log=log)
        out = songs / f"chunks-{seconds:g}s-{config.anticipation_max:g}-seed{config.seed}"
        if not (out / "chunks.json").is_file():
            chop_corpus(in_path=songs, out_path=out, max_processes=config.max_processes, seed=config.seed,
                        chunk_seconds=seconds, label_extra=config.anticipation_max,
                        progress=False)
        folders.append(out)
    return folders


def songs_chunks(config: Any, log: Any = None, chunk_seconds: float | None = None) -> list[Path]:
    """The songs set's train split, rendered once per training soundfont (those of the scores set) and chopped
    once into cached folders beside the songs, as :func:`scores_chunks`."""
    seconds = chunk_seconds or config.default_chunk_seconds
    from .chop import chop_corpus
    from .songset import build_songs

    folders = []
    for font in scores_soundfonts(config):
        songs = build_songs(dirs=config.songs_dirs, split="train", max_seconds=config.songs_max_seconds,
                            soundfont=str(font), log=log)
        out = songs / f"chunks-{seconds:g}s-{config.anticipation_max:g}-seed{config.seed}"
        if not (out / "chunks.json").is_file():
            chop_corpus(in_path=songs, out_path=out, max_processes=config.max_processes, seed=config.seed,
                        chunk_seconds=seconds, label_extra=config.anticipation_max, progress=False)
        folders.append(out)
    return folders


def load_dataset(config: Any, ctx: Any) -> DataSplits:
    """The dataset factory: ``--chunks-path`` when given; ``--dataset scores`` (real pieces); ``--dataset mixed``
    (the embedded default's training songs plus the scores set, tested on the default's held-out songs);
    ``--dataset mixed-songs`` (``mixed`` plus the songs set's train split); else the embedded default (prepared
    once, cached)."""
    log = ctx.log if ctx is not None else None
    test = None
    source: dict[str, Any] = {}
    sets: list[ChunkSet] = []
    if config.chunks_path:
        sets.append(load_chunks(config.chunks_path, config.anticipation_max, config.feature_cache, log))
        source["chunks_path"] = str(config.chunks_path)
    if config.dataset in ("scores", "mixed", "mixed-songs"):
        # Beside --chunks-path the pieces are cut to its chunks' length (the sets are trained as one).
        seconds = sets[0].audio.shape[1] / SAMPLE_RATE if sets else None
        folders = scores_chunks(config, log, seconds)
        sets += [load_chunks(f, config.anticipation_max, config.feature_cache, log) for f in folders]
        source["scores_chunks"] = [str(f) for f in folders]
    if config.dataset == "mixed-songs":
        seconds = sets[0].audio.shape[1] / SAMPLE_RATE if sets else None
        folders = songs_chunks(config, log, seconds)
        sets += [load_chunks(f, config.anticipation_max, config.feature_cache, log) for f in folders]
        source["songs_chunks"] = [str(f) for f in folders]
    if not config.chunks_path and config.dataset != "scores":
        from .default import prepare_default

        prepared = prepare_default(config, log)
        sets.insert(0, load_chunks(prepared.train_chunks, config.anticipation_max, config.feature_cache, log))
        test_chunks = load_chunks(prepared.test_chunks, config.anticipation_max, config.feature_cache, log)
        test = ChunkDataset(test_chunks, list(range(len(test_chunks.names))), config.anticipation_min,
                            config.anticipation_max)
        source.update({"embedded_default": str(prepared.root), "held_out_songs": str(prepared.test_songs)})
    chunks = concat_chunks(sets)
    check_warmup(config, chunks.audio.shape[1] // HOP)
    n = len(chunks.names)
    val = None
    augmenting = config.augment_speed > 0 or config.augment_eq_db > 0 or config.augment_reverb > 0
    if augmenting and n > 1 and config.val_fraction > 0:
        # Validation stays unaugmented (whole chunks), so the best checkpoint is picked on a steady measure.
        n_val = max(1, int(round(n * config.val_fraction)))
        from mlrun_music.training.seeding import derive_seed  # the core's own split, so runs compare

        g = torch.Generator().manual_seed(derive_seed(config.seed, 0x5A11))
        perm = torch.randperm(n, generator=g).tolist()
        train_idx, val_idx = sorted(perm[n_val:]), sorted(perm[:n_val])
        val = ChunkDataset(chunks, val_idx, config.anticipation_min, config.anticipation_max)
    else:
        train_idx = list(range(n))
    train = ChunkDataset(chunks, train_idx, config.anticipation_min, config.anticipation_max,
                         augment_speed=config.augment_speed, augment_gain_db=config.augment_gain_db,
                         augment_eq_db=config.augment_eq_db, augment_reverb=config.augment_reverb)
    info = {"sample_rate": SAMPLE_RATE, "hop": HOP, "fps": FPS, "frames_per_chunk": int(chunks.audio.shape[1] // HOP)}
    return DataSplits(train=train, val=val, test=test, info=info, report={**source, **chunks.report},
                      seeded_items=True)
