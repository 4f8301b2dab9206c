"""``InstanceData``: per-instance annotations or predictions whose data fields share a length.

Design note: the length invariant is enforced on assignment, so indexing can treat every field
alike. Tensors and numpy arrays are indexed natively; strings, lists, tuples and objects that
offer ``__getitem__`` plus ``cat`` are gathered one element at a time and joined, which is what
downstream libraries rely on for fields such as masks or text labels.
"""

from __future__ import annotations

import itertools
from collections.abc import Sized
from typing import Any

import numpy as np
import torch

from .base_data_element import _PRIVATE_SETS, BaseDataElement

_BOOL_DTYPES = (torch.bool, torch.uint8)

# Type aliases that downstream code imports from this module (annotations only).
BoolTypeTensor = torch.BoolTensor | torch.cuda.BoolTensor
LongTypeTensor = torch.LongTensor | torch.cuda.LongTensor
IndexType = str | slice | int | list | LongTypeTensor | BoolTypeTensor | np.ndarray


class InstanceData(BaseDataElement):
    """Data element whose data fields all have the same length (number of instances).

    Example:
        >>> inst = InstanceData(bboxes=torch.rand(3, 4), labels=[1, 2, 3])
        >>> len(inst), len(inst[torch.tensor([True, False, True])])
        (3, 2)
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE_SETS:
            super().__setattr__(name, value)
            return
        if not isinstance(value, Sized):
            raise AssertionError(
                f"value of field {name!r} must contain `__len__` attribute, but got "
                f"{type(value).__name__}"
            )
        if len(self) > 0 and len(value) != len(self):
            raise AssertionError(
                f"The length of values {len(value)} (field {name!r}) is not consistent with "
                f"the length of this :obj:`InstanceData` {len(self)}"
            )
        super().__setattr__(name, value)

    __setitem__ = __setattr__

    def __len__(self) -> int:
        if self._data_fields:
            return len(self.values()[0])
        return 0

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, list):
            item = np.array(item, dtype=np.int64) if len(item) == 0 else np.array(item)
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(item.astype(np.int64) if item.dtype == np.int32 else item)
        if isinstance(item, str):
            return getattr(self, item)
        if isinstance(item, (int, np.integer)):
            item = int(item)
            if item >= len(self) or item < -len(self):
                raise IndexError(
                    f"Index {item} out of range for InstanceData of length {len(self)}"
                )
            item = slice(item, None, len(self))

        new_data = self.__class__(metainfo=self.metainfo)
        if isinstance(item, torch.Tensor):
            self._index_by_tensor(item, new_data)
        elif isinstance(item, slice):
            for key, value in self.items():
                new_data[key] = value[item]
        else:
            raise TypeError(
                f"InstanceData indices must be str, int, slice, list, numpy array or "
                f"LongTensor/BoolTensor, but got {type(item).__name__}"
            )
        return new_data

    def _index_by_tensor(self, item: torch.Tensor, new_data: InstanceData) -> None:
        if item.dim() != 1:
            raise AssertionError(
                f"Only support to get the values along the first dimension, but the index has "
                f"shape {tuple(item.shape)}"
            )
        is_bool = item.dtype in _BOOL_DTYPES
        if is_bool and len(item) != len(self):
            raise AssertionError(
                f"The shape of the input(BoolTensor) {len(item)} does not match the shape of "
                f"the indexed tensor in results_field {len(self)} at first dimension."
            )
        if is_bool:
            item = item.bool()
        positions: list[int] | None = None
        for key, value in self.items():
            if isinstance(value, torch.Tensor):
                new_data[key] = value[item.to(value.device)]
            elif isinstance(value, np.ndarray):
                new_data[key] = value[item.cpu().numpy()]
            elif isinstance(value, (str, list, tuple)) or (
                hasattr(value, "__getitem__") and hasattr(value, "cat")
            ):
                if positions is None:
                    index = torch.nonzero(item).view(-1) if is_bool else item
                    positions = index.cpu().tolist()
                new_data[key] = _gather(value, positions)
            else:
                raise ValueError(
                    f"The type of field {key!r} is `{type(value)}`, which has no attribute of "
                    "`cat`, so it does not support slice with `bool` or `long` tensors"
                )

    @staticmethod
    def cat(instances_list: list[InstanceData]) -> InstanceData:
        """Concatenate instances field by field; metainfo comes from the first item.

        Raises:
            AssertionError: an item is not InstanceData, the list is empty, or key sets differ.
            ValueError: a field type cannot be concatenated.
        """
        if not all(isinstance(results, InstanceData) for results in instances_list):
            raise AssertionError("InstanceData.cat expects a list of InstanceData")
        if len(instances_list) == 0:
            raise AssertionError("InstanceData.cat expects a non-empty list")
        if len(instances_list) == 1:
            return instances_list[0]
        field_keys_list = [instances.all_keys() for instances in instances_list]
        if len({len(keys) for keys in field_keys_list}) != 1 or len(
            set(itertools.chain(*field_keys_list))
        ) != len(field_keys_list[0]):
            raise AssertionError(
                "There are different keys in `instances_list`, which is not allowed: "
                f"{[sorted(keys) for keys in field_keys_list]}"
            )
        first = instances_list[0]
        new_data = first.__class__(metainfo=first.metainfo)
        for key in first.keys():  # noqa: SIM118 (keys() hides property-backed names)
            values = [results[key] for results in instances_list]
            v0 = values[0]
            if isinstance(v0, torch.Tensor):
                new_values: Any = torch.cat(values, dim=0)
            elif isinstance(v0, np.ndarray):
                new_values = np.concatenate(values, axis=0)
            elif isinstance(v0, (str, list, tuple)):
                new_values = v0[:]
                for value in values[1:]:
                    new_values += value
            elif hasattr(v0, "cat"):
                new_values = v0.cat(values)
            else:
                raise ValueError(
                    f"The type of field {key!r} is `{type(v0)}` which has no attribute of `cat`"
                )
            new_data[key] = new_values
        return new_data


def _gather(value: Any, positions: list[int]) -> Any:
    """Pick ``value[i]`` for each position as length-1 slices and join them."""
    length = len(value)
    pieces = [value[slice(i, None, length)] for i in positions] or [value[slice(None, 0)]]
    if isinstance(value, (str, list, tuple)):
        joined = pieces[0]
        for piece in pieces[1:]:
            joined = joined + piece
        return joined
    return value.cat(pieces)
