"""Lazy imports for pure-Python configs: ``LazyObject`` and ``LazyAttr``.

While a lazy-import config is parsed, ``from torch.optim import SGD`` binds ``SGD`` to a
``LazyObject`` instead of importing torch. ``str()`` gives the dotted name (what ``to_dict`` and
dumps show); ``build()`` imports and returns the real object (what ``ConfigDict`` hands out on
access once parsing is over).
"""

from __future__ import annotations

import importlib
from typing import Any


class LazyObject:
    """A module, or a name imported from a module, that is imported only on :meth:`build`.

    Args:
        module: Module name, or a list of module names (``import a.b`` binds ``a`` but must also
            import ``a.b``; the first entry is the bound object).
        imported: Name imported from ``module`` (``from module import imported``), or None.
        location: Where the import was written (``file, line N``), for error messages.
    """

    def __init__(
        self, module: str | list[str], imported: str | None = None, location: str | None = None
    ) -> None:
        if not isinstance(module, str) and not (
            isinstance(module, list) and all(isinstance(m, str) for m in module)
        ):
            raise TypeError(f"module should be a str or a list of str, but got {module!r}")
        self._module = module
        self._imported = imported
        self.location = location

    def build(self) -> Any:
        """Import and return the object."""
        modules = [self._module] if isinstance(self._module, str) else self._module
        try:
            loaded = [importlib.import_module(m) for m in modules]
        except ImportError as e:
            raise ImportError(
                f"Failed to import {self._module} (imported at {self.location}): {e}"
            ) from e
        obj = loaded[0]
        if self._imported is None:
            return obj
        if not hasattr(obj, self._imported):
            raise ImportError(
                f"Failed to import {self._imported} from {self._module} "
                f"(imported at {self.location})"
            )
        return getattr(obj, self._imported)

    def __str__(self) -> str:
        module = self._module if isinstance(self._module, str) else self._module[0]
        return module if self._imported is None else f"{module}.{self._imported}"

    def __repr__(self) -> str:
        return f"<LazyObject {str(self)!r}>"

    def __getattr__(self, name: str) -> LazyAttr:
        if name.startswith("__") or name in ("_module", "_imported", "location"):
            raise AttributeError(name)
        return LazyAttr(name, self, self.location)

    def __reduce__(self) -> tuple:
        return LazyObject, (self._module, self._imported, self.location)

    def __deepcopy__(self, memo: dict) -> LazyObject:
        return LazyObject(self._module, self._imported, self.location)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyObject) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


class LazyAttr:
    """An attribute of a :class:`LazyObject` (or of another ``LazyAttr``), resolved on build.

    Args:
        name: Attribute name.
        source: Object the attribute is read from.
        location: Where it was written, for error messages.
    """

    def __init__(self, name: str, source: LazyObject | LazyAttr, location: str | None = None):
        self.name = name
        self.source = source
        self.location = location

    def build(self) -> Any:
        """Build the source and return its attribute."""
        obj = self.source.build()
        try:
            return getattr(obj, self.name)
        except AttributeError as e:
            raise ImportError(
                f"Failed to get {self.name} from {self.source} (used at {self.location})"
            ) from e

    def __str__(self) -> str:
        return f"{self.source}.{self.name}"

    def __repr__(self) -> str:
        return f"<LazyAttr {str(self)!r}>"

    def __getattr__(self, name: str) -> LazyAttr:
        if name.startswith("__") or name in ("name", "source", "location"):
            raise AttributeError(name)
        return LazyAttr(name, self, self.location)

    def __reduce__(self) -> tuple:
        return LazyAttr, (self.name, self.source, self.location)

    def __deepcopy__(self, memo: dict) -> LazyAttr:
        return LazyAttr(self.name, self.source, self.location)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LazyAttr) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))
