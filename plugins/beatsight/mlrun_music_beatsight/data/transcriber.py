"""Dataset of ``mlrun train beatsight-transcriber``: rendered and synthetic-kit songs (:mod:`grooves`), cached, cut
into fixed-length chunks of frames with per-frame, per-class onset targets."""

from __future__ import annotations

import multiprocessing
import zlib
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Sequence

import numpy as np
import torch

from mlrun_music.training import DataSplits

from . import grooves
from ..kits.classes import COMPONENTS
from .cache import cache_dir, cache_key, cached, soundfont_id
from .classifier import class_weights
from ..transcribe.frames import FLOOR, FPS
from ..kits.soundfonts import drum_kit, extra_renderer, extra_soundfonts

CACHE_VERSION = "beatsight-songs-4"


def kit_sources(config: Any, log: Any) -> list[grooves.KitSource]:
    """The training kits: ``--soundfont`` with ``--renderer``, then each installed ``--extra-soundfonts``."""
    return [grooves.KitSource(config.soundfont, config.renderer)] + [
        grooves.KitSource(p, extra_renderer(p)) for p in extra_soundfonts(config, log)]


def band_sources(kits: Sequence[grooves.KitSource]) -> list[grooves.KitSource]:
    """Kits that also play General MIDI instruments (not the drum-only AVL or Hydrogen kits): they render
    accompaniment."""
    return [k for k in kits if k.path and not drum_kit(k.path).drums_only]


def song_set(config: Any, log: Any, split: str) -> list[grooves.Song]:
    """The cached songs of ``split`` (train or val: other seeds, same kits, other synthetic kits)."""
    kits = kit_sources(config, log)
    bands = band_sources(kits)
    if not bands:
        from mlrun_music.errors import UserError

        raise UserError("beatsight-transcriber: no training soundfont plays General MIDI instruments, so there is "
                        f"no accompaniment to mix in (--soundfont {config.soundfont})")
    per_kit = config.songs_per_kit if split == "train" else config.val_songs_per_kit
    synthetic = config.synthetic_songs if split == "train" else config.val_synthetic_songs
    first_seed = 0 if split == "train" else 500_000
    parts = {"v": CACHE_VERSION, "split": split, "kits": [[soundfont_id(k.path), k.renderer] for k in kits],
             "per_kit": per_kit, "synthetic": synthetic, "free": config.free_song_fraction}
    if config.free_hit_spacing != 1.0:  # only then, so that caches rendered before the option stay valid
        parts["free_spacing"] = config.free_hit_spacing
    path = cache_dir(config) / f"songs-{split}-{cache_key(parts)}.npz"
    data = cached(path, lambda: grooves.pack(grooves.training_songs(kits, per_kit, synthetic, first_seed, bands,
                                                                  config.free_song_fraction,
                                                                  free_spacing=config.free_hit_spacing)),
                   log, f"{split} songs ({per_kit} per kit on {', '.join(k.name for k in kits)}, {synthetic} on "
                        f"synthetic kits, rendered accompaniment mixed in)")
    return grooves.unpack(data)


def part_song_set(config: Any, log: Any, split: str) -> list[grooves.Song]:
    """The cached excerpts of the human-written songs of ``split`` (train or val; :mod:`.parts`):
    ``--part-windows`` excerpts (validation: at most 2) of ``--part-seconds`` per song, each on a training kit
    drawn at random (one in five on a procedural kit), made another kit by :mod:`.augment` with
    ``--kit-augmentation``, with the song's own accompaniment on a training soundfont that plays General MIDI."""
    from . import parts

    windows = config.part_windows if split == "train" else min(2, config.part_windows)
    if not windows:
        return []
    songs, skipped = parts.read_songs(parts.part_dirs(config.part_dirs), (split,),
                                      cache_dir(config) / parts.PARTS_CACHE)
    kits = kit_sources(config, log)
    bands = band_sources(kits)
    jobs = []
    for i, song in enumerate(songs):
        pieces = parts.excerpts(song, config.part_seconds)
        rng = np.random.default_rng([zlib.crc32(song.name.encode()), 0 if split == "train" else 1])
        for j in sorted(rng.choice(len(pieces), min(windows, len(pieces)), replace=False).tolist()):
            kit = None if rng.random() < 0.2 else kits[int(rng.integers(len(kits)))]
            band = bands[int(rng.integers(len(bands)))]
            jobs.append((pieces[j], kit.path if kit else None, kit.renderer if kit else "", (band.path, band.renderer),
                         (zlib.crc32(song.name.encode()), j, 0 if split == "train" else 1), config.kit_augmentation))
    parts_key = {"v": CACHE_VERSION, "parts": 1, "split": split, "songs": [s.name for s in songs],
                 "kits": [[soundfont_id(k.path), k.renderer] for k in kits], "windows": windows,
                 "seconds": config.part_seconds, "augment": config.kit_augmentation}
    path = cache_dir(config) / f"parts-{split}-{cache_key(parts_key)}.npz"

    def render() -> dict[str, np.ndarray]:
        if len(jobs) < 4:
            return grooves.pack([parts.training_song(j) for j in jobs])
        with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn")) as pool:
            return grooves.pack(list(pool.map(parts.training_song, jobs, chunksize=2)))

    if skipped and log is not None:
        log.info("beatsight-transcriber: human-written songs skipped: %s",
                 ", ".join(f"{n} {why}" for why, n in sorted(skipped.items())))
    augmented = ", kits augmented" if config.kit_augmentation else ""
    data = cached(path, render, log, f"{split} excerpts of {len(songs)} human-written songs ({len(jobs)} of "
                                     f"{config.part_seconds:g} s{augmented})")
    return grooves.unpack(data)


def targets(song: grooves.Song, start: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Onset targets ``[length, classes]`` of frames ``start..start+length`` (1 at a hit's frame, 0.5 at the frames
    either side: a hit between two frames is not wrong on either) and the hits inside, times from ``start``."""
    y = np.zeros((length, len(COMPONENTS)), np.float32)
    frame = np.round(song.hits[:, 0] * FPS).astype(np.int64) - start
    inside = (frame >= 0) & (frame < length)
    for f, c in zip(frame[inside], song.hits[inside, 1].astype(np.int64)):
        for d, v in ((-1, 0.5), (1, 0.5), (0, 1.0)):
            if 0 <= f + d < length:
                y[f + d, c] = max(y[f + d, c], v)
    ref = song.hits[inside].copy()
    ref[:, 0] -= start / FPS
    return y, ref


class SongChunks(torch.utils.data.Dataset):
    """Items ``(frames [L, mels], targets [L, classes], hits [n, 2], class weights [classes])``. Training: as many
    random crops per epoch as the songs hold chunks, each with a random gain (+-2 in log power); otherwise every
    song cut in order. The class weights (1 each unless given) scale each class's hit frames in the loss."""

    def __init__(self, songs: list[grooves.Song], chunk_frames: int, random_crops: bool,
                 weights: np.ndarray | None = None) -> None:
        self.songs, self.length, self.random = songs, chunk_frames, random_crops
        self.weights = torch.from_numpy(np.asarray(weights if weights is not None else np.ones(len(COMPONENTS)),
                                                   np.float32))
        if random_crops:
            total = sum(len(s.frames) for s in songs)
            self.index = [(-1, -1)] * max(1, total // chunk_frames)
        else:
            self.index = [(i, s) for i, song in enumerate(songs) for s in range(0, len(song.frames), chunk_frames)]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.random:  # the trainer seeds NumPy's global state per item (DataSplits.seeded_items)
            i = np.random.randint(len(self.songs))
            start = np.random.randint(max(1, len(self.songs[i].frames) - self.length + 1))
            gain = np.random.uniform(-2.0, 2.0)
        else:
            (i, start), gain = self.index[k], 0.0
        song = self.songs[i]
        x = np.full((self.length, song.frames.shape[1]), FLOOR, np.float32)
        piece = song.frames[start:start + self.length].astype(np.float32)
        x[:len(piece)] = piece + gain
        y, ref = targets(song, start, self.length)
        return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(ref), self.weights


def collate(items: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, torch.Tensor, list, torch.Tensor]:
    """Stack frames and targets; the hits stay a list (their counts differ); one copy of the class weights."""
    return torch.stack([i[0] for i in items]), torch.stack([i[1] for i in items]), [i[2] for i in items], items[0][3]


def load_default(config: Any, ctx: Any) -> DataSplits:
    """Dataset factory ``default``: songs rendered with the training kits and synthesised kits (announced)."""
    train = song_set(config, ctx.log, "train") + part_song_set(config, ctx.log, "train")
    val = song_set(config, ctx.log, "val") + part_song_set(config, ctx.log, "val")
    ctx.log.info("beatsight-transcriber: training on the EMBEDDED DEFAULT: %d songs (%.0f s) of random grooves on "
                 "%s and synthetic kits, with accompaniment (no --dataset given)", len(train),
                 sum(len(s.frames) for s in train) / FPS, ", ".join(k.name for k in kit_sources(config, None)))
    sample = np.concatenate([s.frames[::10] for s in train]).astype(np.float32)
    # Kits without a china or ride bell play those hits on a stand-in (labelled as played), so the training songs
    # hold fewer of them: weighting each class by its inverse frequency evens that out.
    weights = (class_weights(np.concatenate([s.hits[:, 1] for s in train]).astype(np.int64))
               if config.class_weighting else None)
    info = {"components": list(COMPONENTS), "fps": FPS, "band_mean": sample.mean(0).tolist(),
            "band_std": (sample.std(0) + 1e-3).tolist(), "dataset": "default",
            "class_weights": dict(zip(COMPONENTS, (weights if weights is not None else
                                                    np.ones(len(COMPONENTS))).round(3).tolist()))}
    length = int(round(config.chunk_seconds * FPS))
    return DataSplits(train=SongChunks(train, length, True, weights), val=SongChunks(val, length, False, weights),
                      collate_fn=collate,
                      info=info, report={"train": grooves.describe(train), "val": grooves.describe(val)},
                      seeded_items=True)
