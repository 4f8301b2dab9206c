"""The storage-backend interface every backend implements.

A backend turns a path or URI into bytes and back. ``get``/``get_text`` are the minimum (read-only
backends such as HTTP stop there); full backends also implement the rest of the functional API of
:mod:`piston.fileio.io` with the same signatures minus ``backend_args``.
"""

from __future__ import annotations

import warnings
from abc import ABCMeta, abstractmethod
from pathlib import Path


class BaseStorageBackend(metaclass=ABCMeta):
    """Abstract storage backend.

    Subclasses implement at least :meth:`get` and :meth:`get_text`.
    """

    _allow_symlink = False

    @property
    def name(self) -> str:
        """Name of the backend class."""
        return self.__class__.__name__

    @property
    def allow_symlink(self) -> bool:
        """Deprecated: whether the backend can create symlinks."""
        warnings.warn(
            "allow_symlink will be deprecated in future; use copy_if_symlink_fails instead",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._allow_symlink

    @abstractmethod
    def get(self, filepath: str | Path) -> bytes:
        """Read the file at ``filepath`` as bytes."""

    @abstractmethod
    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Read the file at ``filepath`` as text."""
