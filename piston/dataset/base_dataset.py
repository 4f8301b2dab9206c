"""``BaseDataset``, ``Compose`` and ``force_full_init``.

Design note: a dataset is built in two steps. Construction only resolves metainfo, paths and
the pipeline, so building it is cheap (``lazy_init=True`` stops there); ``full_init()`` loads
and filters the annotations. With ``serialize_data=True`` the data list is then pickled into
one contiguous ``uint8`` numpy buffer plus an ``int64`` end-address array. Forked dataloader
workers read from that buffer without writing to it, so its pages stay shared; a list of Python
dicts would instead be copied page by page into every worker as reference counts and the
garbage collector touch each object (copy-on-read).
"""

from __future__ import annotations

import copy
import functools
import logging
import os.path as osp
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from piston.config import Config
from piston.fileio import join_path, list_from_file, load
from piston.logging import print_log
from piston.registry import TRANSFORMS


def _is_abs(path: str) -> bool:
    return osp.isabs(path) or "://" in path


def _trim_heap() -> None:
    """Hand freed heap pages back to the OS (glibc), so forked workers don't inherit them.

    Freeing a large data list leaves most of its pages in the allocator's free lists; without a
    trim the process keeps them resident (tens of MB for 200,000 records).
    """
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


class Compose:
    """Apply transforms in order; stop and return None as soon as one returns None.

    Args:
        transforms: Transforms as config dicts (built with ``TRANSFORMS``) or callables.
    """

    def __init__(self, transforms: Sequence[dict | Callable] | None) -> None:
        self.transforms: list[Callable] = []
        if transforms is None:
            transforms = []
        if isinstance(transforms, dict) or callable(transforms):
            transforms = [transforms]  # a single transform
        if isinstance(transforms, str) or not isinstance(transforms, Sequence):
            raise TypeError(
                f"transforms must be a sequence of dicts or callables, but got {type(transforms)}"
            )
        for transform in transforms:
            if isinstance(transform, dict):
                built = TRANSFORMS.build(transform)
                if not callable(built):
                    raise TypeError(
                        f"transform should be a callable object, but {transform!r} built a "
                        f"{type(built).__name__}"
                    )
                self.transforms.append(built)
            elif callable(transform):
                self.transforms.append(transform)
            else:
                raise TypeError(
                    f"transform must be a callable object or dict, but got {type(transform)}"
                )

    def __call__(self, data: dict) -> dict | None:
        for transform in self.transforms:
            data = transform(data)
            if data is None:
                return None
        return data

    def __repr__(self) -> str:
        lines = "".join(f"\n    {transform}" for transform in self.transforms)
        return f"{type(self).__name__}({lines}\n)"


def force_full_init(old_func: Callable) -> Callable:
    """Decorate a dataset method so that it runs ``full_init()`` first when needed."""

    @functools.wraps(old_func)
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(obj, "full_init"):
            raise AttributeError(f"{type(obj)} does not have full_init method.")
        if not getattr(obj, "_fully_initialized", False):
            print_log(
                f"Attribute `_fully_initialized` is not defined in {type(obj)} or "
                f"`type(obj)._fully_initialized is False, `full_init` will be called and "
                f"{type(obj)}._fully_initialized will be set to True",
                logger="current",
                level=logging.WARNING,
            )
            obj.full_init()
            obj._fully_initialized = True
        return old_func(obj, *args, **kwargs)

    return wrapper


class BaseDataset(Dataset):
    """Base class of map-style datasets described by an annotation file.

    Subclasses usually override ``load_data_list`` (or ``parse_data_info``) and set
    ``METAINFO``. ``dataset[i]`` returns ``pipeline(get_data_info(i))``.

    Args:
        ann_file: Annotation file (json/yaml/pickle with ``metainfo`` and ``data_list``),
            relative to ``data_root`` unless absolute.
        metainfo: Overrides ``METAINFO`` per key; a string value naming a file is read as a list.
        data_root: Root joined to ``ann_file`` and ``data_prefix``.
        data_prefix: Prefix joined to the values of the same keys of each raw item.
        filter_cfg: Filtering config for subclasses' ``filter_data``.
        indices: Keep a subset: first ``n`` (int >= 0), last ``|n|`` (int < 0) or these indices.
        serialize_data: Pack the data list into one numpy buffer (shared by workers).
        pipeline: Transforms (dicts or callables) applied to each sample.
        test_mode: A None from the pipeline raises instead of refetching another sample.
        lazy_init: Skip ``full_init()`` at construction.
        max_refetch: Retries with random indices when the pipeline returns None.
    """

    METAINFO: dict = {}
    _fully_initialized: bool = False

    def __init__(
        self,
        ann_file: str | None = "",
        metainfo: Mapping | Config | None = None,
        data_root: str | None = "",
        data_prefix: dict = {"img_path": ""},  # noqa: B006 (spec'd default, copied below)
        filter_cfg: dict | None = None,
        indices: int | Sequence[int] | None = None,
        serialize_data: bool = True,
        pipeline: list[dict | Callable] = [],  # noqa: B006 (spec'd default, never mutated)
        test_mode: bool = False,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ) -> None:
        self.ann_file = ann_file
        self._metainfo = self._load_metainfo(copy.deepcopy(metainfo))
        self.data_root = data_root
        self.data_prefix = copy.copy(data_prefix)
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self.data_list: list[dict] = []
        self.data_bytes: np.ndarray
        self.data_address: np.ndarray
        self._join_prefix()
        self.pipeline = Compose(pipeline)
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------------ initialisation
    def full_init(self) -> None:
        """Load, filter, subset and (optionally) serialize the data list. Idempotent."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = self._get_unserialized_subset(self._indices)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize_data()
        self._fully_initialized = True

    @property
    def metainfo(self) -> dict:
        """Deep copy of the dataset's meta information."""
        return copy.deepcopy(self._metainfo)

    def parse_data_info(self, raw_data_info: dict) -> dict | list[dict]:
        """Join each ``data_prefix`` value to the item's value under the same key."""
        for prefix_key, prefix in self.data_prefix.items():
            if prefix_key not in raw_data_info:
                raise AssertionError(
                    f"raw_data_info: {raw_data_info} dose not contain prefix key "
                    f"{prefix_key}, please check your data_prefix."
                )
            raw_data_info[prefix_key] = join_path(prefix, raw_data_info[prefix_key])
        return raw_data_info

    def filter_data(self) -> list[dict]:
        """Filter the data list; the base class keeps everything (``filter_cfg`` is unused)."""
        return self.data_list

    def get_cat_ids(self, idx: int) -> list[int]:
        """Category ids of sample ``idx`` (needed by ``ClassBalancedDataset``)."""
        raise NotImplementedError(f"{type(self)} must implement `get_cat_ids` method")

    def load_data_list(self) -> list[dict]:
        """Read the annotation file and parse each raw item with ``parse_data_info``."""
        annotations = load(self.ann_file)
        if not isinstance(annotations, dict):
            raise TypeError(
                f"The annotations loaded from annotation file should be a dict, but got "
                f"{type(annotations)} from {self.ann_file}!"
            )
        if "data_list" not in annotations or "metainfo" not in annotations:
            raise ValueError(
                f"Annotation must have data_list and metainfo keys, but {self.ann_file} has "
                f"{sorted(annotations)}"
            )
        for key, value in annotations["metainfo"].items():
            self._metainfo.setdefault(key, value)
        data_list = []
        for raw_data_info in annotations["data_list"]:
            data_info = self.parse_data_info(raw_data_info)
            if isinstance(data_info, dict):
                data_list.append(data_info)
            elif isinstance(data_info, list):
                for item in data_info:
                    if not isinstance(item, dict):
                        raise TypeError(
                            f"data_info must be list of dict, but got {type(item)} in a list "
                            "returned by parse_data_info"
                        )
                data_list.extend(data_info)
            else:
                raise TypeError(
                    f"data_info should be a dict or list of dict, but got {type(data_info)}"
                )
        return data_list

    @classmethod
    def _load_metainfo(cls, metainfo: Mapping | Config | None = None) -> dict:
        cls_metainfo = copy.deepcopy(cls.METAINFO)
        if metainfo is None:
            return cls_metainfo
        if not isinstance(metainfo, (Mapping, Config)):
            raise TypeError(f"metainfo should be a Mapping or Config, but got {type(metainfo)}")
        for key, value in metainfo.items():
            if isinstance(value, str):
                try:
                    cls_metainfo[key] = list_from_file(value)
                except (TypeError, FileNotFoundError, OSError):
                    print_log(
                        f"{value} is not a meta file, simply parsed as meta information",
                        logger="current",
                        level=logging.WARNING,
                    )
                    cls_metainfo[key] = value
            else:
                cls_metainfo[key] = value
        return cls_metainfo

    def _join_prefix(self) -> None:
        if self.ann_file and not _is_abs(self.ann_file) and self.data_root:
            self.ann_file = join_path(self.data_root, self.ann_file)
        for data_key, prefix in self.data_prefix.items():
            if not isinstance(prefix, str):
                raise TypeError(
                    f"prefix should be a string, but got {type(prefix)} for data_prefix key "
                    f"{data_key!r}"
                )
            if not _is_abs(prefix) and self.data_root:
                self.data_prefix[data_key] = join_path(self.data_root, prefix)

    # ------------------------------------------------------------------ serialization
    def _serialize_data(self) -> tuple[np.ndarray, np.ndarray]:
        chunks = [pickle.dumps(item, protocol=4) for item in self.data_list]
        address_list = np.fromiter((len(chunk) for chunk in chunks), np.int64, len(chunks))
        data_address = np.cumsum(address_list)
        data_bytes = np.frombuffer(b"".join(chunks), dtype=np.uint8).copy()
        # the list is no longer needed and would defeat the point of sharing one buffer
        self.data_list.clear()
        del chunks
        _trim_heap()
        return data_bytes, data_address

    # ------------------------------------------------------------------ access
    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Copy of the annotation of sample ``idx``, with ``sample_idx`` added."""
        # the stored items, not ``len(self)``: subclasses may override ``__len__``
        length = len(self.data_address) if self.serialize_data else len(self.data_list)
        if not -length <= idx < length:
            raise IndexError(f"index {idx} is out of range for a dataset of length {length}")
        if idx < 0:
            idx = length + idx
        if self.serialize_data:
            start = 0 if idx == 0 else int(self.data_address[idx - 1])
            end = int(self.data_address[idx])
            data_info = pickle.loads(memoryview(self.data_bytes[start:end]))
        else:
            data_info = copy.deepcopy(self.data_list[idx])
        data_info["sample_idx"] = idx
        return data_info

    def prepare_data(self, idx: int) -> Any:
        """``pipeline(get_data_info(idx))``."""
        return self.pipeline(self.get_data_info(idx))

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            print_log(
                "Please call `full_init()` method manually to accelerate the speed.",
                logger="current",
                level=logging.WARNING,
            )
            self.full_init()
        if self.test_mode:
            data = self.prepare_data(idx)
            if data is None:
                raise Exception(
                    f"Test time pipline should not get `None` data_sample (index {idx})"
                )
            return data
        for _ in range(self.max_refetch + 1):
            data = self.prepare_data(idx)
            if data is None:
                idx = self._rand_another()
                continue
            return data
        raise Exception(
            f"Cannot find valid image after {self.max_refetch}! Please check your image path "
            "and pipeline"
        )

    def _rand_another(self) -> int:
        return np.random.randint(0, len(self))

    @force_full_init
    def __len__(self) -> int:
        if self.serialize_data:
            return len(self.data_address)
        return len(self.data_list)

    # ------------------------------------------------------------------ subsets
    @force_full_init
    def get_subset_(self, indices: Sequence[int] | int) -> None:
        """Keep only the samples selected by ``indices``, in place."""
        if self.serialize_data:
            self.data_bytes, self.data_address = self._get_serialized_subset(indices)
        else:
            self.data_list = self._get_unserialized_subset(indices)

    @force_full_init
    def get_subset(self, indices: Sequence[int] | int) -> BaseDataset:
        """A new dataset holding only the samples selected by ``indices``."""
        sub_dataset = self._copy_without_annotation()
        if self.serialize_data:
            sub_dataset.data_bytes, sub_dataset.data_address = self._get_serialized_subset(indices)
        else:
            # the subset owns its items: editing them must not change this dataset
            sub_dataset.data_list = copy.deepcopy(self._get_unserialized_subset(indices))
        return sub_dataset

    def _check_indices(self, indices: Any, length: int) -> list[int] | slice:
        if isinstance(indices, (bool, str)) or not isinstance(
            indices, (int, np.integer, Sequence, np.ndarray)
        ):
            raise TypeError(
                f"indices should be an int or a sequence of int, but got {type(indices)}"
            )
        if isinstance(indices, (int, np.integer)):
            indices = int(indices)
            return slice(0, indices) if indices >= 0 else slice(length + indices, length)
        indices = [int(i) for i in indices]
        for i in indices:
            if not -length <= i < length:
                raise IndexError(f"index {i} is out of range for a dataset of length {length}")
        return [i % length for i in indices]

    def _get_unserialized_subset(self, indices: Sequence[int] | int) -> list[dict]:
        selected = self._check_indices(indices, len(self.data_list))
        if isinstance(selected, slice):
            return self.data_list[max(selected.start, 0) : selected.stop]
        return [self.data_list[i] for i in selected]

    def _get_serialized_subset(self, indices: Sequence[int] | int) -> tuple[np.ndarray, np.ndarray]:
        length = len(self.data_address)
        selected = self._check_indices(indices, length)
        starts = np.concatenate([[0], self.data_address[:-1]])
        if isinstance(selected, slice):
            start, stop = max(selected.start, 0), min(selected.stop, length)
            if stop <= start:
                return np.zeros(0, np.uint8), np.zeros(0, np.int64)
            lo, hi = int(starts[start]), int(self.data_address[stop - 1])
            return self.data_bytes[lo:hi].copy(), self.data_address[start:stop] - lo
        chunks = [self.data_bytes[starts[i] : self.data_address[i]] for i in selected]
        sizes = np.fromiter((len(chunk) for chunk in chunks), np.int64, len(chunks))
        data_bytes = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
        return data_bytes, np.cumsum(sizes)

    def _copy_without_annotation(self, memo: dict | None = None) -> BaseDataset:
        cls = self.__class__
        other = cls.__new__(cls)
        memo = {} if memo is None else memo
        memo[id(self)] = other
        for key, value in self.__dict__.items():
            if key in ("data_list", "data_address", "data_bytes"):
                continue
            object.__setattr__(other, key, copy.deepcopy(value, memo))
        other.data_list = []
        return other
