"""Sample order derived from (seed, epoch), sharded across ranks, resumable at any position."""

from __future__ import annotations

import random
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .seeding import derive_seed


class EpochSampler(Sampler):
    """Yields indices of a permutation fixed by (seed, epoch), this rank's share of it, starting at ``start``
    (samples already consumed this epoch, for mid-epoch resume). With ``item_seeds`` it yields
    ``(index, sample_seed)`` pairs for :class:`KeyedDataset` instead.

    Ranks take interleaved shares (``perm[rank::world]``), padded by wrapping so every rank sees the same count;
    the union of one step's batches over ranks is then exactly the single-process batch of the same global size.
    """

    def __init__(self, size: int, seed: int, shuffle: bool = True, rank: int = 0, world_size: int = 1,
                 item_seeds: bool = True) -> None:
        self.size, self.seed, self.shuffle, self.item_seeds = size, seed, shuffle, item_seeds
        self.rank, self.world_size = rank, world_size
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def _order(self) -> list[int]:
        if self.shuffle:
            g = torch.Generator().manual_seed(derive_seed(self.seed, self.epoch))
            perm = torch.randperm(self.size, generator=g).tolist()
        else:
            perm = list(range(self.size))
        if self.world_size > 1:
            per_rank = -(-self.size // self.world_size)
            perm = (perm * self.world_size)[: per_rank * self.world_size]
            perm = perm[self.rank :: self.world_size]
        return perm

    def __len__(self) -> int:
        return max(0, -(-self.size // self.world_size) - self.start)

    def __iter__(self) -> Iterator[Any]:
        if not self.item_seeds:  # plain indices: no per-item wrapper, no hashing
            yield from self._order()[self.start :]
            return
        epoch = self.epoch if self.shuffle else -1
        for index in self._order()[self.start :]:
            yield index, derive_seed(self.seed, epoch, index)


class KeyedDataset(Dataset):
    """Accepts the sampler's ``(index, seed)`` keys: each item runs under its own RNG seed (Python, NumPy,
    torch), so random augmentation is identical whatever the worker count or resume point; the caller's RNG
    state is restored afterwards."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        saved = (random.getstate(), np.random.get_state(), torch.get_rng_state())
        random.seed(seed)
        np.random.seed(seed % (2**32))
        torch.manual_seed(seed)
        try:
            return self.dataset[index]
        finally:
            random.setstate(saved[0])
            np.random.set_state(saved[1])
            torch.set_rng_state(saved[2])
