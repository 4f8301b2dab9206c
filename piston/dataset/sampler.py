"""Rank-aware samplers with a resumable position: ``DefaultSampler`` and ``InfiniteSampler``.

Design note: both samplers are deterministic functions of (seed, epoch, rank, world size), so a
position is just a count. The data loader prefetches, so the sampler cannot know how many of the
indices it yielded were actually trained on; the runner tells it with ``set_consumed()`` right
before ``state_dict()``. ``load_state_dict()`` turns the saved count into a number of indices to
drop once, at the next ``__iter__``: the list (or stream) is sliced before iteration starts, so
resuming costs no per-iteration bookkeeping and no loading of batches that would be thrown away.

The count is saved per rank together with the world size; a different world size on resume maps
it through global positions (``consumed * world_size`` samples of the epoch's order were seen),
so each rank skips exactly the positions of the global order that were already consumed.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Mapping, Sized
from typing import Any

import torch
from torch.utils.data import Sampler

from piston.dist import get_dist_info, sync_random_seed
from piston.logging import print_log
from piston.registry import DATA_SAMPLERS


def _check_consumed(num_samples: Any, owner: str) -> int:
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 0:
        raise ValueError(
            f"{owner}.set_consumed expects a non-negative int (samples consumed on this rank), "
            f"but got {num_samples!r}"
        )
    return num_samples


def _rank_skip(state: Mapping, rank: int, world_size: int, owner: str) -> int:
    """Indices this rank should drop given a saved per-rank ``consumed`` count."""
    missing = [key for key in ("consumed", "world_size") if key not in state]
    if missing:
        raise KeyError(f"{owner} state is missing {missing}; got keys {sorted(state)}")
    consumed, saved_world_size = int(state["consumed"]), int(state["world_size"])
    if saved_world_size == world_size:
        return consumed
    global_consumed = consumed * saved_world_size
    print_log(
        f"{owner}: the checkpoint was saved with world_size={saved_world_size} and is resumed "
        f"with world_size={world_size}; skipping the first {global_consumed} samples of the "
        "global order instead.",
        logger="current",
        level=logging.WARNING,
    )
    return max(0, math.ceil((global_consumed - rank) / world_size))


def _same_data(state: Mapping, dataset_length: int, shuffle: bool, owner: str) -> bool:
    saved = (state.get("dataset_length", dataset_length), state.get("shuffle", shuffle))
    if saved == (dataset_length, shuffle):
        return True
    print_log(
        f"{owner}: the checkpoint's sampler saw (dataset_length, shuffle)={saved} but this one "
        f"has {(dataset_length, shuffle)}; the position inside the epoch is not restored.",
        logger="current",
        level=logging.WARNING,
    )
    return False


@DATA_SAMPLERS.register_module()
class DefaultSampler(Sampler):
    """Sampler for finite epochs that shards the dataset across ranks.

    Each epoch is ``randperm(len(dataset))`` from a generator seeded with ``seed + epoch``
    (or ``range`` without shuffle), padded by repetition to a multiple of the world size when
    ``round_up``, and rank ``r`` takes every ``world_size``-th index starting at ``r``.

    Position state (exact resume): ``state_dict()`` returns a plain dict ``{'epoch', 'seed',
    'shuffle', 'round_up', 'world_size', 'dataset_length', 'consumed'}``, where ``consumed`` is
    the number of this epoch's indices that this rank's loader has used, counted from the start
    of the epoch, as last reported with ``set_consumed(num_samples)``. The runner calls
    ``sampler.set_consumed(batches_done_this_epoch * batch_size)`` just before
    ``state_dict()``. After ``load_state_dict(state)``, the next ``__iter__`` yields only the
    remaining ``num_samples - consumed`` indices of that epoch (in the uninterrupted order);
    ``set_epoch`` with another epoch clears the position and later epochs are whole.
    ``len(sampler)`` stays ``num_samples``.

    Args:
        dataset: Dataset to sample (only its length is used).
        shuffle: Shuffle the indices each epoch.
        seed: Shuffle seed; None draws one and synchronizes it across ranks.
        round_up: Pad so that every rank gets the same number of samples.
    """

    def __init__(
        self,
        dataset: Sized,
        shuffle: bool = True,
        seed: int | None = None,
        round_up: bool = True,
    ) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.round_up = round_up
        if self.round_up:
            self.num_samples = math.ceil(len(self.dataset) / world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((len(self.dataset) - rank) / world_size)
            self.total_size = len(self.dataset)
        self._consumed = 0  # of self.epoch, on this rank, as told by set_consumed
        self._skip = 0  # indices to drop at the next __iter__ (set by load_state_dict)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            indices = list(range(len(self.dataset)))
        if self.round_up:
            indices = (indices * int(self.total_size / len(indices) + 1))[: self.total_size]
        indices = indices[self.rank : self.total_size : self.world_size]
        if self._skip:
            indices = indices[self._skip :]
            self._skip = 0
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (it seeds the shuffle); a new epoch clears the saved position."""
        if epoch != self.epoch:
            self._consumed = 0
            self._skip = 0
        self.epoch = epoch

    def set_consumed(self, num_samples: int) -> None:
        """Record how many indices of the current epoch this rank has consumed so far."""
        self._consumed = _check_consumed(num_samples, type(self).__name__)

    def state_dict(self) -> dict:
        """Plain dict with the epoch, seed and position (see the class docstring)."""
        return {
            "epoch": self.epoch,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "round_up": self.round_up,
            "world_size": self.world_size,
            "dataset_length": len(self.dataset),
            "consumed": self._consumed,
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore the epoch, seed and position saved by ``state_dict()``."""
        name = type(self).__name__
        if not isinstance(state, Mapping):
            raise TypeError(f"{name}.load_state_dict expects a dict, but got {type(state)}")
        for key in ("epoch", "seed"):
            if key not in state:
                raise KeyError(f"{name} state is missing {key!r}; got keys {sorted(state)}")
        self.epoch = int(state["epoch"])
        self.seed = int(state["seed"])
        skip = _rank_skip(state, self.rank, self.world_size, name)
        if not _same_data(state, len(self.dataset), self.shuffle, name):
            skip = 0
        self._skip = self._consumed = min(skip, self.num_samples)


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler):
    """Endless sampler for iteration-based training: no dataloader restarts between epochs.

    A generator seeded once with ``seed`` yields successive permutations of the dataset (or
    ``range`` repeatedly without shuffle); rank ``r`` takes every ``world_size``-th element of
    that stream starting at ``r``. The stream is created once, so iterating the sampler again
    continues it.

    Position state (exact resume): ``state_dict()`` returns ``{'seed', 'shuffle', 'world_size',
    'dataset_length', 'consumed'}`` where ``consumed`` is the number of indices this rank's
    loader has used since the stream started (``runner.iter * batch_size`` for an
    iteration-based loop), as last reported with ``set_consumed(num_samples)``. After
    ``load_state_dict(state)`` the stream continues right after those indices, as an
    uninterrupted run would; with shuffle, restoring regenerates the skipped permutations once.
    Restore before the data loader iterator is created: an iterator made earlier has already
    taken (and prefetched from) the old stream, and a warning says so.

    Args:
        dataset: Dataset to sample (only its length is used).
        shuffle: Shuffle the indices of each pass.
        seed: Shuffle seed; None draws one and synchronizes it across ranks.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: int | None = None) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.size = len(dataset)
        self._consumed = 0
        self._iterated = False  # whether a loader already pulls from ``self.indices``
        self.indices = self._indices_of_rank()

    def _infinite_indices(self, start_pass: int = 0) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        if self.shuffle:
            for _ in range(start_pass):  # advance the generator exactly as the passes did
                torch.randperm(self.size, generator=generator)
        while True:
            if self.shuffle:
                yield from torch.randperm(self.size, generator=generator).tolist()
            else:
                yield from range(self.size)

    def _indices_of_rank(self, skip: int = 0) -> Iterator[int]:
        if self.size == 0:
            raise ValueError("InfiniteSampler cannot sample from an empty dataset")
        start = self.rank + skip * self.world_size  # position in the global stream
        start_pass, offset = divmod(start, self.size)
        stream = self._infinite_indices(start_pass)
        yield from itertools.islice(stream, offset, None, self.world_size)

    def __iter__(self) -> Iterator[int]:
        # the shared stream itself, not a generator around it: closing an abandoned iterator
        # must not close the stream
        self._iterated = True
        return self.indices

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """No-op: the stream does not depend on the epoch."""

    def set_consumed(self, num_samples: int) -> None:
        """Record how many indices of the stream this rank has consumed so far."""
        self._consumed = _check_consumed(num_samples, type(self).__name__)

    def state_dict(self) -> dict:
        """Plain dict with the seed and position (see the class docstring)."""
        return {
            "seed": self.seed,
            "shuffle": self.shuffle,
            "world_size": self.world_size,
            "dataset_length": self.size,
            "consumed": self._consumed,
        }

    def load_state_dict(self, state: Mapping) -> None:
        """Restore the seed and position saved by ``state_dict()``."""
        name = type(self).__name__
        if not isinstance(state, Mapping):
            raise TypeError(f"{name}.load_state_dict expects a dict, but got {type(state)}")
        if "seed" not in state:
            raise KeyError(f"{name} state is missing 'seed'; got keys {sorted(state)}")
        self.seed = int(state["seed"])
        skip = _rank_skip(state, self.rank, self.world_size, name)
        if not _same_data(state, self.size, self.shuffle, name):
            skip = 0
        if self._iterated:
            print_log(
                f"{name}.load_state_dict was called after a data loader started iterating the "
                "sampler; that iterator keeps the old stream (and its prefetched indices). "
                "Restore the sampler before calling iter() on the data loader, or create a "
                "new iterator.",
                logger="current",
                level=logging.WARNING,
            )
            self._iterated = False
        self._consumed = skip
        self.indices = self._indices_of_rank(skip)
