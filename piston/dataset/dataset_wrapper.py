"""Dataset wrappers: ``ConcatDataset``, ``RepeatDataset`` and ``ClassBalancedDataset``.

Design note: wrappers hold built datasets (configs are built through ``DATASETS`` at once) and
only map their own index to (dataset, sample) indices. The mapping needs the wrapped lengths, so
it is computed in ``full_init()``; with ``lazy_init=True`` nothing is loaded until first use.
"""

from __future__ import annotations

import bisect
import copy
import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np
from torch.utils.data import ConcatDataset as _TorchConcatDataset

from piston.logging import print_log
from piston.registry import DATASETS

from .base_dataset import BaseDataset, force_full_init

_DatasetLike = Any  # BaseDataset or another wrapper


def _build_dataset(dataset: Any, owner: str) -> _DatasetLike:
    if isinstance(dataset, dict):
        return DATASETS.build(dataset)
    if isinstance(dataset, (BaseDataset, ConcatDataset, RepeatDataset, ClassBalancedDataset)):
        return dataset
    raise TypeError(
        f"elements in datasets sequence should be config or `BaseDataset` instance, but got "
        f"{type(dataset)} (in {owner})"
    )


def _no_subset(wrapper: Any) -> NoReturn:
    name = type(wrapper).__name__
    raise NotImplementedError(
        f"`{name}` does not support `get_subset` and `get_subset_` interfaces because this "
        "will lead to ambiguous implementation of some methods. If you want to use `get_subset` "
        f"or `get_subset_` interfaces, please use them in the wrapped dataset first and then "
        f"use `{name}`."
    )


def _warn_lazy() -> None:
    print_log(
        "Please call `full_init` method manually to accelerate the speed.",
        logger="current",
        level=logging.WARNING,
    )


@DATASETS.register_module()
class ConcatDataset(_TorchConcatDataset):
    """Concatenation of datasets whose metainfo agree.

    Args:
        datasets: Built datasets or their configs.
        lazy_init: Postpone ``full_init()`` of the wrapped datasets.
        ignore_keys: Metainfo keys allowed to differ; the first dataset's value is kept.
    """

    def __init__(
        self,
        datasets: Sequence[BaseDataset | dict],
        lazy_init: bool = False,
        ignore_keys: str | list[str] | None = None,
    ) -> None:
        self.datasets: list[_DatasetLike] = [
            _build_dataset(dataset, "ConcatDataset") for dataset in datasets
        ]
        if not self.datasets:
            raise ValueError("ConcatDataset needs at least one dataset, but got none")
        if ignore_keys is None:
            self.ignore_keys: list[str] = []
        elif isinstance(ignore_keys, str):
            self.ignore_keys = [ignore_keys]
        elif isinstance(ignore_keys, list):
            self.ignore_keys = ignore_keys
        else:
            raise TypeError(f"ignore_keys should be a list or str, but got {type(ignore_keys)}")
        self._metainfo = self.datasets[0].metainfo
        self._check_metainfo()
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def _check_metainfo(self) -> None:
        metainfos = [dataset.metainfo for dataset in self.datasets]
        meta_keys: set[str] = set()
        for metainfo in metainfos:
            meta_keys |= metainfo.keys()
        first = metainfos[0]
        for i, metainfo in enumerate(metainfos, 1):
            for key in sorted(meta_keys - set(self.ignore_keys)):
                if key not in metainfo or key not in first:
                    missing = i if key not in metainfo else 1
                    raise ValueError(
                        f"{key} does not in the meta information of the {missing}-th dataset; "
                        "add it or pass it in `ignore_keys`"
                    )
                if type(first[key]) is not type(metainfo[key]):
                    raise TypeError(
                        f"The type {type(metainfo[key])} of {key} in the {i}-th dataset "
                        f"should be the same with the first dataset {type(first[key])}"
                    )
                if isinstance(first[key], np.ndarray):
                    equal = np.array_equal(first[key], metainfo[key])
                else:
                    equal = first[key] == metainfo[key]
                if not equal:
                    raise ValueError(
                        f"The meta information of the {i}-th dataset does not match meta "
                        f"information of the first dataset for key {key!r}: "
                        f"{metainfo[key]!r} != {first[key]!r}"
                    )

    @property
    def metainfo(self) -> dict:
        """Deep copy of the first dataset's metainfo."""
        return copy.deepcopy(self._metainfo)

    def full_init(self) -> None:
        """Fully initialize the wrapped datasets and compute cumulative sizes."""
        if self._fully_initialized:
            return
        for dataset in self.datasets:
            dataset.full_init()
        super().__init__(self.datasets)
        self._fully_initialized = True

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> tuple[int, int]:
        if idx < 0:
            if -idx > len(self):
                raise ValueError(
                    f"absolute value of index ({idx}) should not exceed dataset length "
                    f"({len(self)})."
                )
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return dataset_idx, sample_idx

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of the sample at ``idx`` of the concatenation."""
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx].get_data_info(sample_idx)

    @force_full_init
    def __len__(self) -> int:
        return super().__len__()

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            _warn_lazy()
            self.full_init()
        dataset_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.datasets[dataset_idx][sample_idx]

    def get_subset_(self, indices: Sequence[int] | int) -> None:
        """Not supported by wrappers: subset the wrapped datasets instead."""
        _no_subset(self)

    def get_subset(self, indices: Sequence[int] | int) -> BaseDataset:
        """Not supported by wrappers: subset the wrapped datasets instead."""
        _no_subset(self)


class _SingleWrapper:
    """Shared pieces of wrappers around one dataset."""

    _fully_initialized: bool

    def __init__(self, dataset: BaseDataset | dict) -> None:
        self.dataset: _DatasetLike = _build_dataset(dataset, type(self).__name__)
        self._metainfo = self.dataset.metainfo

    @property
    def metainfo(self) -> dict:
        """Deep copy of the wrapped dataset's metainfo."""
        return copy.deepcopy(self._metainfo)

    def _get_ori_dataset_idx(self, idx: int) -> int:
        raise NotImplementedError

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of the wrapped sample behind ``idx``."""
        return self.dataset.get_data_info(self._get_ori_dataset_idx(idx))

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            _warn_lazy()
            self.full_init()
        return self.dataset[self._get_ori_dataset_idx(idx)]

    def full_init(self) -> None:
        raise NotImplementedError

    def get_subset_(self, indices: Sequence[int] | int) -> None:
        """Not supported by wrappers: subset the wrapped datasets instead."""
        _no_subset(self)

    def get_subset(self, indices: Sequence[int] | int) -> BaseDataset:
        """Not supported by wrappers: subset the wrapped datasets instead."""
        _no_subset(self)


@DATASETS.register_module()
class RepeatDataset(_SingleWrapper):
    """A dataset repeated ``times`` times (useful when an epoch is too short).

    Args:
        dataset: Built dataset or its config.
        times: Number of repeats.
        lazy_init: Postpone ``full_init()`` of the wrapped dataset.
    """

    def __init__(self, dataset: BaseDataset | dict, times: int, lazy_init: bool = False) -> None:
        super().__init__(dataset)
        self.times = times
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Fully initialize the wrapped dataset and record its length."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        self._ori_len = len(self.dataset)
        self._fully_initialized = True

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> int:
        return idx % self._ori_len

    @force_full_init
    def __len__(self) -> int:
        return self.times * self._ori_len


@DATASETS.register_module()
class ClassBalancedDataset(_SingleWrapper):
    """Repeat rare-category samples more often (LVIS-style repeat factor sampling).

    A category ``c`` present in a fraction ``f_c`` of the samples gets the factor
    ``max(1, sqrt(oversample_thr / f_c))``; a sample is repeated ``ceil(r)`` times where ``r`` is
    the largest factor among its categories (1 without categories).

    Args:
        dataset: Built dataset or its config; must implement ``get_cat_ids``.
        oversample_thr: Frequency threshold below which categories are oversampled.
        lazy_init: Postpone ``full_init()`` of the wrapped dataset.
    """

    def __init__(
        self, dataset: BaseDataset | dict, oversample_thr: float, lazy_init: bool = False
    ) -> None:
        super().__init__(dataset)
        self.oversample_thr = oversample_thr
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Fully initialize the wrapped dataset and compute the repeated indices."""
        if self._fully_initialized:
            return
        self.dataset.full_init()
        repeat_factors = self._get_repeat_factors(self.dataset, self.oversample_thr)
        repeat_indices: list[int] = []
        for dataset_index, repeat_factor in enumerate(repeat_factors):
            repeat_indices.extend([dataset_index] * math.ceil(repeat_factor))
        self.repeat_indices = repeat_indices
        self._fully_initialized = True

    def _get_repeat_factors(self, dataset: _DatasetLike, repeat_thr: float) -> list[float]:
        num_images = len(dataset)
        cat_ids_per_image = [set(dataset.get_cat_ids(idx)) for idx in range(num_images)]
        category_freq: dict[int, float] = defaultdict(float)
        for cat_ids in cat_ids_per_image:
            for cat_id in cat_ids:
                category_freq[cat_id] += 1
        category_repeat = {
            cat_id: max(1.0, math.sqrt(repeat_thr / (count / num_images)))
            for cat_id, count in category_freq.items()
        }
        return [
            max(category_repeat[cat_id] for cat_id in cat_ids) if cat_ids else 1.0
            for cat_ids in cat_ids_per_image
        ]

    @force_full_init
    def _get_ori_dataset_idx(self, idx: int) -> int:
        return self.repeat_indices[idx]

    @force_full_init
    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of the wrapped sample behind ``idx``."""
        return self.dataset.get_cat_ids(self._get_ori_dataset_idx(idx))

    @force_full_init
    def __len__(self) -> int:
        return len(self.repeat_indices)
