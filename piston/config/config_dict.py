"""``ConfigDict``: the attribute-access dict behind every nested mapping of a config.

Semantics follow ``addict.Dict`` except that a missing key never creates a child: ``cfg.a``
raises ``AttributeError`` and ``cfg['a']`` raises ``KeyError``. Plain dicts (also inside lists
and tuples) become ``ConfigDict`` when stored. Lazy-import objects are built on access unless the
class flag ``lazy`` is set (it is while a lazy-import config is being parsed).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .lazy import LazyAttr, LazyObject

DELETE_KEY = "_delete_"


class ConfigDict(dict):
    """A dict with attribute access and recursive ``update``/``merge``.

    Example:
        >>> cfg = ConfigDict(model=dict(type='ResNet', depth=50))
        >>> cfg.model.depth
        50
        >>> cfg.update(model=dict(depth=101)); cfg.model
        {'type': 'ResNet', 'depth': 101}
    """

    lazy = False

    def __init__(*args: Any, **kwargs: Any) -> None:
        self, *args = args
        if len(args) > 1:
            raise TypeError(f"ConfigDict expected at most 1 positional argument, got {len(args)}")
        if args and args[0] is not None:
            source = args[0]
            # dict.items: copying a ConfigDict must not build (import) its lazy objects.
            pairs = dict.items(source) if isinstance(source, dict) else source
            for key, value in pairs:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    @classmethod
    def _hook(cls, item: Any) -> Any:
        if type(item) in (dict, OrderedDict):
            return cls(item)
        if type(item) in (list, tuple):
            return type(item)(cls._hook(elem) for elem in item)
        return item

    @staticmethod
    def _build_lazy(value: Any) -> Any:
        if not ConfigDict.lazy and isinstance(value, (LazyObject, LazyAttr)):
            return value.build()
        return value

    # --- item and attribute access ---------------------------------------------------------
    def __setitem__(self, key: Any, value: Any) -> None:
        dict.__setitem__(self, key, self._hook(value))

    def __getitem__(self, key: Any) -> Any:
        return self._build_lazy(dict.__getitem__(self, key))

    def __iter__(self) -> Iterator[Any]:
        # Overriding __iter__ makes CPython's ``dict(cfg)``, ``{**cfg}`` and ``f(**cfg)`` use
        # keys()/__getitem__ instead of copying raw values, so the LazyObject values of a
        # lazy-import config (``type=SGD``) are built there too, as on any other access.
        return dict.__iter__(self)

    def __getattr__(self, name: str) -> Any:
        try:
            value = dict.__getitem__(self, name)
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None
        return self._build_lazy(value)

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute '{name}'"
            ) from None

    def get(self, key: Any, default: Any = None) -> Any:
        """``self[key]`` or ``default`` when missing."""
        return self._build_lazy(dict.get(self, key, default))

    def pop(self, key: Any, default: Any = None) -> Any:
        """Remove ``key`` and return its value, or ``default`` (never raises)."""
        return self._build_lazy(dict.pop(self, key, default))

    def setdefault(self, key: Any, default: Any = None) -> Any:
        """Set ``key`` to ``default`` if missing; return ``self[key]``."""
        if key not in self:
            self[key] = default
        return self[key]

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        """List of ``(key, value)`` pairs (lazy objects built)."""
        return [(key, self._build_lazy(value)) for key, value in dict.items(self)]

    def values(self) -> list[Any]:  # type: ignore[override]
        """List of values (lazy objects built)."""
        return [self._build_lazy(value) for value in dict.values(self)]

    # --- merging ---------------------------------------------------------------------------
    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Recursive update: a dict value updates an existing dict value in place."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 positional argument, got {len(args)}")
        other: dict[Any, Any] = {}
        if args and args[0] is not None:
            source = args[0]
            other.update(dict.items(source) if isinstance(source, dict) else source)
        other.update(kwargs)
        for key, value in other.items():
            old = dict.get(self, key)
            if isinstance(old, dict) and isinstance(value, dict):
                old.update(value)
            else:
                self[key] = value

    def __ior__(self, other: Iterable) -> ConfigDict:
        self.update(other)
        return self

    def merge(self, other: dict) -> None:
        """Recursively merge ``other`` in place, honoring ``_delete_=True`` in ``other``."""
        raw = dict(dict.items(other)) if isinstance(other, dict) else dict(other)
        _merge_into(copy.deepcopy(raw), self)

    # --- copies, pickling, comparison ---------------------------------------------------------
    def copy(self) -> ConfigDict:
        """Shallow copy."""
        new = type(self)()
        dict.update(new, dict.items(self))  # raw values: copying must not build lazy objects
        return new

    def __copy__(self) -> ConfigDict:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> ConfigDict:
        new = type(self)()
        memo[id(self)] = new
        for key, value in dict.items(self):
            dict.__setitem__(new, copy.deepcopy(key, memo), copy.deepcopy(value, memo))
        return new

    def __reduce_ex__(self, protocol: Any) -> tuple:
        return type(self), (), None, None, iter(dict.items(self))

    def __setstate__(self, state: Any) -> None:
        # Pickles of addict-style dicts (MMEngine's ConfigDict, e.g. inside checkpoints) carry
        # the items again as ``state``: store them as items, never as instance attributes.
        if isinstance(state, dict):
            for key, value in dict.items(state):
                self[key] = value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ConfigDict):
            return self.to_dict() == other.to_dict()
        if isinstance(other, dict):
            return dict(dict.items(self)) == other
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict:
        """Plain nested dicts; lazy objects become their dotted-name strings."""
        return _to_plain(self)


def _to_plain(value: Any) -> Any:
    if isinstance(value, ConfigDict):
        return {key: _to_plain(item) for key, item in dict.items(value)}
    if isinstance(value, dict) and type(value) in (dict, OrderedDict):
        return {key: _to_plain(item) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_to_plain(item) for item in value)
    if isinstance(value, (LazyObject, LazyAttr)):
        return str(value)
    return value


def _merge_into(a: dict, b: ConfigDict) -> None:
    """In-place recursive merge of ``a`` into ``b`` for :meth:`ConfigDict.merge`."""
    if a.pop(DELETE_KEY, False):
        b.clear()
    for key, value in a.items():
        old = dict.get(b, key)
        if isinstance(value, dict) and isinstance(old, dict) and not value.get(DELETE_KEY, False):
            if not isinstance(old, ConfigDict):
                old = ConfigDict(old)
                dict.__setitem__(b, key, old)
            _merge_into(dict(dict.items(value)), old)
        else:
            if isinstance(value, dict):
                fresh = ConfigDict()
                _merge_into(dict(dict.items(value)), fresh)
                value = fresh
            b[key] = value
