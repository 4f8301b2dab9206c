"""Datasets, wrappers, samplers, collate functions and the bundled demo dataset.

Importing this package registers the wrappers and ``DigitsDataset`` in ``DATASETS``, the samplers
in ``DATA_SAMPLERS`` and the collate functions in ``FUNCTIONS``.
"""

from __future__ import annotations

from .base_dataset import BaseDataset, Compose, force_full_init
from .dataset_wrapper import ClassBalancedDataset, ConcatDataset, RepeatDataset
from .digits import DigitsDataset
from .sampler import DefaultSampler, InfiniteSampler
from .utils import COLLATE_FUNCTIONS, default_collate, pseudo_collate, worker_init_fn

__all__ = [
    "BaseDataset",
    "Compose",
    "force_full_init",
    "ConcatDataset",
    "RepeatDataset",
    "ClassBalancedDataset",
    "DefaultSampler",
    "InfiniteSampler",
    "pseudo_collate",
    "default_collate",
    "worker_init_fn",
    "COLLATE_FUNCTIONS",
    "DigitsDataset",
]
