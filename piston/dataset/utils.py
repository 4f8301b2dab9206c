"""Collate functions (``pseudo_collate``, ``default_collate``) and ``worker_init_fn``.

Design note: both collates walk the batch structure the same way (namedtuples, sequences,
mappings) and differ only at the leaves: ``pseudo_collate`` keeps leaves as lists, so samples of
different sizes survive to the data preprocessor, while ``default_collate`` hands tensors and
numbers to torch's collate to be stacked.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data._utils.collate import default_collate as torch_default_collate

from piston.registry import FUNCTIONS
from piston.structures import BaseDataElement

COLLATE_FUNCTIONS = FUNCTIONS


def worker_init_fn(
    worker_id: int,
    num_workers: int,
    rank: int,
    seed: int,
    disable_subprocess_warning: bool = False,
) -> None:
    """Seed numpy, ``random`` and torch in a dataloader worker.

    The seed is ``num_workers * rank + worker_id + seed``, distinct for every worker of every
    rank and reproducible across runs.

    Args:
        worker_id: Index of the worker in its data loader.
        num_workers: Workers per data loader.
        rank: Rank of the process.
        seed: Base seed (the runner's, synchronized across ranks).
        disable_subprocess_warning: Silence warnings in every worker but worker 0.
    """
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed % 2**32)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    if disable_subprocess_warning and worker_id != 0:
        warnings.simplefilter("ignore")


def _collate(data_batch: Sequence, leaf: Callable[[Sequence], Any], recurse: Callable) -> Any:
    data_item = data_batch[0]
    data_item_type = type(data_item)
    if isinstance(data_item, (str, bytes)):
        return data_batch
    if isinstance(data_item, tuple) and hasattr(data_item, "_fields"):  # namedtuple
        return data_item_type(*(recurse(samples) for samples in zip(*data_batch)))
    if isinstance(data_item, Sequence):
        size = len(data_item)
        if not all(len(item) == size for item in data_batch):
            raise RuntimeError(
                "each data_item in batch should have the same length, but got lengths "
                f"{[len(item) for item in data_batch]}"
            )
        transposed = [recurse(samples) for samples in zip(*data_batch)]
        if isinstance(data_item, tuple):
            return transposed
        try:
            return data_item_type(transposed)
        except TypeError:
            return transposed
    if isinstance(data_item, Mapping):
        return data_item_type({key: recurse([d[key] for d in data_batch]) for key in data_item})
    return leaf(data_batch)


@FUNCTIONS.register_module()
def pseudo_collate(data_batch: Sequence) -> Any:
    """Transpose a list of samples without stacking anything.

    Example:
        >>> batch = pseudo_collate([dict(x=torch.ones(2)), dict(x=torch.zeros(3))])
        >>> [t.shape for t in batch['x']]
        [torch.Size([2]), torch.Size([3])]
    """
    return _collate(data_batch, _as_is, pseudo_collate)


def _as_is(data_batch: Sequence) -> Sequence:
    return data_batch


def _default_leaf(data_batch: Sequence) -> Any:
    if isinstance(data_batch[0], BaseDataElement):
        return data_batch
    return torch_default_collate(data_batch)


@FUNCTIONS.register_module()
def default_collate(data_batch: Sequence) -> Any:
    """Transpose a list of samples, stacking tensors and numbers with torch's collate.

    Data elements, strings and bytes stay lists.

    Example:
        >>> imgs, labels = default_collate([(torch.ones(1, 8, 8), 3), (torch.zeros(1, 8, 8), 5)])
        >>> imgs.shape, labels
        (torch.Size([2, 1, 8, 8]), tensor([3, 5]))
    """
    return _collate(data_batch, _default_leaf, default_collate)
