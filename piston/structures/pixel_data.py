"""``PixelData``: pixel-level maps (segmentation, heat maps) sharing one (H, W)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from .base_data_element import _PRIVATE_SETS, BaseDataElement


class PixelData(BaseDataElement):
    """Data element whose data fields are ``(C, H, W)`` tensors or arrays with one (H, W).

    A 2-D value is expanded to ``(1, H, W)`` with a warning.

    Example:
        >>> seg = PixelData(sem_seg=torch.zeros(1, 4, 6))
        >>> seg.shape, seg[1:3, 2].shape
        ((4, 6), (2, 1))
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE_SETS:
            super().__setattr__(name, value)
            return
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            raise AssertionError(
                f"Can not set {type(value)} as field {name!r}, only support "
                f"{(torch.Tensor, np.ndarray)}"
            )
        if value.ndim not in (2, 3):
            raise AssertionError(
                f"The dim of value must be 2 or 3, but got {value.ndim} (field {name!r}, "
                f"shape {tuple(value.shape)})"
            )
        shape = self.shape
        if shape is not None and tuple(value.shape[-2:]) != shape:
            raise AssertionError(
                f"The height and width of values {tuple(value.shape[-2:])} (field {name!r}) is "
                f"not consistent with the shape of this :obj:`PixelData` {shape}"
            )
        if value.ndim == 2:
            value = value[None]
            warnings.warn(
                f"The shape of value will convert from (H, W) to (1, H, W) (field {name!r})",
                stacklevel=2,
            )
        super().__setattr__(name, value)

    __setitem__ = __setattr__

    def __getitem__(self, item: tuple[int | slice, int | slice]) -> PixelData:
        if not isinstance(item, tuple):
            raise TypeError(f"Unsupported type {type(item)} for slicing PixelData")
        if len(item) != 2:
            raise AssertionError(f"Only support to slice height and width, but got {item!r}")
        slices = []
        for index in item:
            if isinstance(index, (int, np.integer)):
                index = int(index)
                slices.append(slice(index, None if index == -1 else index + 1))
            elif isinstance(index, slice):
                slices.append(index)
            else:
                raise TypeError(
                    f"The type of element in input must be int or slice, but got {index!r}"
                )
        new_data = self.__class__(metainfo=self.metainfo)
        for key, value in self.items():
            new_data[key] = value[:, slices[0], slices[1]]
        return new_data

    @property
    def shape(self) -> tuple[int, int] | None:
        """``(H, W)`` shared by the data fields, or None when there are none."""
        if self._data_fields:
            return tuple(self.values()[0].shape[-2:])
        return None
