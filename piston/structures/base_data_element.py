"""``BaseDataElement``: the interface object passed between datasets, models and metrics.

Design note: an element keeps two disjoint sets of attribute names, *metainfo* fields (image
meta such as ``img_shape``) and *data* fields (annotations, predictions). Values live as plain
instance attributes so attribute access costs what it costs on any Python object; the two sets
only drive enumeration (``keys()``, ``items()``, ...), conversion (``to``, ``cpu``, ``numpy``) and
the checks that stop a name from being both. Subclasses validate values by overriding
``__setattr__`` (``InstanceData``, ``PixelData``) or by properties backed by private data
fields (``_gt_label`` behind ``gt_label``), which ``keys()`` hides.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

_PRIVATE_SETS = ("_metainfo_fields", "_data_fields")


class BaseDataElement:
    """Container of metainfo fields and data fields.

    Args:
        metainfo: Meta information (image size, scale factor, ...). Deep-copied.
        **kwargs: Data fields (annotations or predictions).

    Example:
        >>> sample = BaseDataElement(metainfo=dict(img_shape=(8, 8)), score=torch.ones(2))
        >>> sample.keys(), sample.metainfo_keys()
        (['score'], ['img_shape'])
    """

    def __init__(self, *, metainfo: dict | None = None, **kwargs: Any) -> None:
        self._metainfo_fields: set[str] = set()
        self._data_fields: set[str] = set()
        if metainfo is not None:
            self.set_metainfo(metainfo=metainfo)
        if kwargs:
            self.set_data(kwargs)

    # ------------------------------------------------------------------ setting fields
    def set_metainfo(self, metainfo: dict) -> None:
        """Add (deep copies of) the items of ``metainfo`` as metainfo fields."""
        if not isinstance(metainfo, dict):
            raise AssertionError(f"metainfo should be a dict, but got {type(metainfo).__name__}")
        for key, value in copy.deepcopy(metainfo).items():
            self.set_field(name=key, value=value, field_type="metainfo", dtype=None)

    def set_data(self, data: dict) -> None:
        """Set every item of ``data`` as a data field (through ``setattr``, so checks apply)."""
        if not isinstance(data, dict):
            raise AssertionError(f"data should be a dict, but got {type(data).__name__}")
        for key, value in data.items():
            setattr(self, key, value)

    def update(self, instance: BaseDataElement) -> None:
        """Copy the metainfo, then the data, of another element into this one."""
        if not isinstance(instance, BaseDataElement):
            raise AssertionError(
                f"update() expects a BaseDataElement, but got {type(instance).__name__}"
            )
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def set_field(
        self,
        value: Any,
        name: str,
        dtype: type | tuple[type, ...] | None = None,
        field_type: str = "data",
    ) -> None:
        """Set ``name`` as a metainfo or data field, optionally checking its type.

        Raises:
            AssertionError: ``field_type`` is not 'metainfo'/'data', or ``value`` is not a
                ``dtype``.
            AttributeError: ``name`` is already a field of the other kind.
        """
        if field_type not in ("metainfo", "data"):
            raise AssertionError(f"field_type must be 'metainfo' or 'data', but got {field_type!r}")
        if dtype is not None and not isinstance(value, dtype):
            raise AssertionError(
                f"{name} should be a {dtype} but got {type(value)} (field {name!r} of "
                f"{type(self).__name__})"
            )
        if field_type == "metainfo":
            if name in self._data_fields:
                raise AttributeError(
                    f"Cannot set {name} to be a field of metainfo because {name} is already "
                    "a data field"
                )
            fields = self._metainfo_fields
        else:
            if name in self._metainfo_fields:
                raise AttributeError(
                    f"Cannot set {name} to be a field of data because {name} is already a "
                    "metainfo field"
                )
            fields = self._data_fields
        # register the name only once the value is stored: a property setter that rejects the
        # value (``set_field(v, '_x', dtype=...)``) must not leave a field without a value
        object.__setattr__(self, name, value)
        fields.add(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE_SETS:
            if hasattr(self, name):
                raise AttributeError(
                    f"{name} has been used as a private attribute, which is immutable."
                )
            object.__setattr__(self, name, value)
        else:
            self.set_field(name=name, value=value, field_type="data", dtype=None)

    def __delattr__(self, item: str) -> None:
        if item in _PRIVATE_SETS:
            raise AttributeError(
                f"{item} has been used as a private attribute, which is immutable."
            )
        object.__delattr__(self, item)
        self._metainfo_fields.discard(item)
        self._data_fields.discard(item)

    __delitem__ = __delattr__

    def get(self, key: str, default: Any = None) -> Any:
        """``getattr(self, key, default)``."""
        return getattr(self, key, default)

    def pop(self, *args: Any) -> Any:
        """Remove a metainfo or data field and return its value (``dict.pop`` semantics)."""
        if not 1 <= len(args) <= 2:
            raise AssertionError(f"pop expected 1 or 2 arguments, got {len(args)}")
        name = args[0]
        for fields in (self._metainfo_fields, self._data_fields):
            if name in fields:
                if name not in self.__dict__:  # property-backed field: go through its deleter
                    value = getattr(self, name)
                    delattr(self, name)
                    return value
                fields.remove(name)
                return self.__dict__.pop(name)
        if len(args) == 2:
            return args[1]
        raise KeyError(f"{name} is not contained in metainfo or data of {type(self).__name__}")

    def __contains__(self, item: str) -> bool:
        return item in self._data_fields or item in self._metainfo_fields

    # ------------------------------------------------------------------ new elements
    def new(self, *, metainfo: dict | None = None, **kwargs: Any) -> BaseDataElement:
        """An element of the same class with ``metainfo`` (or a copy of self's) and ``kwargs``
        as data (or self's data, shallow, when no kwargs are given)."""
        new_data = self.__class__()
        new_data.set_metainfo(dict(self.metainfo_items()) if metainfo is None else metainfo)
        new_data.set_data(kwargs if kwargs else dict(self.items()))
        return new_data

    def clone(self) -> BaseDataElement:
        """Copy of this element: metainfo deep-copied, data fields shallow-copied."""
        clone_data = self.__class__()
        clone_data.set_metainfo(dict(self.metainfo_items()))
        clone_data.set_data(dict(self.items()))
        return clone_data

    # ------------------------------------------------------------------ enumeration
    def keys(self) -> list[str]:
        """Names of the data fields, hiding ``_x`` when the class defines a property ``x``."""
        private_keys = {
            "_" + key
            for key in self._data_fields
            if isinstance(getattr(type(self), key, None), property)
        }
        return list(self._data_fields - private_keys)

    def metainfo_keys(self) -> list[str]:
        """Names of the metainfo fields."""
        return list(self._metainfo_fields)

    def values(self) -> list:
        """Values of the data fields, in ``keys()`` order."""
        return [getattr(self, key) for key in self.keys()]

    def metainfo_values(self) -> list:
        """Values of the metainfo fields."""
        return [getattr(self, key) for key in self.metainfo_keys()]

    def all_keys(self) -> list[str]:
        """Metainfo keys followed by data keys."""
        return self.metainfo_keys() + self.keys()

    def all_values(self) -> list:
        """Metainfo values followed by data values."""
        return self.metainfo_values() + self.values()

    def all_items(self) -> Iterator[tuple[str, Any]]:
        """``(key, value)`` over metainfo then data fields."""
        for key in self.all_keys():
            yield key, getattr(self, key)

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(key, value)`` over data fields."""
        for key in self.keys():
            yield key, getattr(self, key)

    def metainfo_items(self) -> Iterator[tuple[str, Any]]:
        """``(key, value)`` over metainfo fields."""
        for key in self.metainfo_keys():
            yield key, getattr(self, key)

    @property
    def metainfo(self) -> dict:
        """Dict of the metainfo fields."""
        return dict(self.metainfo_items())

    # ------------------------------------------------------------------ conversion
    def _convert(self, fn: Any, types: tuple[type, ...]) -> BaseDataElement:
        new_data = self.new()
        for key, value in self.items():
            if isinstance(value, types):
                new_data.set_data({key: fn(value)})
        return new_data

    def to(self, *args: Any, **kwargs: Any) -> BaseDataElement:
        """New element whose data values that have ``.to`` are converted with these args."""
        new_data = self.new()
        for key, value in self.items():
            if hasattr(value, "to"):
                new_data.set_data({key: value.to(*args, **kwargs)})
        return new_data

    def cpu(self) -> BaseDataElement:
        """New element with tensors (and nested elements) on the CPU."""
        return self._convert(lambda v: v.cpu(), (torch.Tensor, BaseDataElement))

    def cuda(self) -> BaseDataElement:
        """New element with tensors (and nested elements) on the current CUDA device."""
        return self._convert(lambda v: v.cuda(), (torch.Tensor, BaseDataElement))

    def npu(self) -> BaseDataElement:
        """New element with tensors on an Ascend NPU (needs ``torch_npu``)."""
        return self._convert(lambda v: v.npu(), (torch.Tensor, BaseDataElement))

    def mlu(self) -> BaseDataElement:
        """New element with tensors on a Cambricon MLU (needs ``torch_mlu``)."""
        return self._convert(lambda v: v.mlu(), (torch.Tensor, BaseDataElement))

    def musa(self) -> BaseDataElement:
        """New element with tensors on a Moore Threads MUSA device (needs ``torch_musa``)."""
        return self._convert(lambda v: v.musa(), (torch.Tensor, BaseDataElement))

    def detach(self) -> BaseDataElement:
        """New element with tensors (and nested elements) detached from the graph."""
        return self._convert(lambda v: v.detach(), (torch.Tensor, BaseDataElement))

    def numpy(self) -> BaseDataElement:
        """New element with tensors turned into numpy arrays (``detach().cpu().numpy()``)."""

        def fn(value: Any) -> Any:
            if isinstance(value, BaseDataElement):
                return value.numpy()
            return value.detach().cpu().numpy()

        return self._convert(fn, (torch.Tensor, BaseDataElement))

    def to_tensor(self) -> BaseDataElement:
        """New element with numpy arrays turned into tensors (``torch.from_numpy``)."""

        def fn(value: Any) -> Any:
            if isinstance(value, BaseDataElement):
                return value.to_tensor()
            return torch.from_numpy(value)

        return self._convert(fn, (np.ndarray, BaseDataElement))

    def to_dict(self) -> dict:
        """All fields (metainfo and data) in one dict; nested elements converted too."""
        return {
            key: value.to_dict() if isinstance(value, BaseDataElement) else value
            for key, value in self.all_items()
        }

    # ------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        return _dump(self)


def _indent(text: str, num_spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * num_spaces
    return lines[0] + "\n" + "\n".join(pad + line for line in lines[1:])


def _dump(obj: Any) -> str:
    if isinstance(obj, dict):
        return "".join(f"\n{key}: {_indent(_dump(value), 4)}" for key, value in obj.items())
    if isinstance(obj, BaseDataElement):
        body = "\n\n    META INFORMATION"
        body += _indent(_dump(dict(obj.metainfo_items())), 4)
        body += "\n\n    DATA FIELDS"
        body += _indent(_dump(dict(obj.items())), 4)
        return f"<{type(obj).__name__}({body}\n) at {hex(id(obj))}>"
    return repr(obj)
