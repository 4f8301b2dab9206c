"""Pickle handler (binary; protocol 2 by default on dump)."""

from __future__ import annotations

import pickle
from typing import Any

from .base import BaseFileHandler


class PickleHandler(BaseFileHandler):
    """Pickle format."""

    str_like = False

    def load_from_fileobj(self, file: Any, **kwargs: Any) -> Any:
        """``pickle.load``."""
        return pickle.load(file, **kwargs)

    def load_from_path(  # type: ignore[override]
        self, path: str | None = None, **kwargs: Any
    ) -> Any:
        """Load from a local path (binary)."""
        return super().load_from_path(path, mode="rb", **kwargs)

    def dump_to_str(self, obj: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
        """``pickle.dumps`` (bytes)."""
        kwargs.setdefault("protocol", 2)
        return pickle.dumps(obj, **kwargs)

    def dump_to_fileobj(self, obj: Any, file: Any, **kwargs: Any) -> None:
        """``pickle.dump``."""
        kwargs.setdefault("protocol", 2)
        pickle.dump(obj, file, **kwargs)

    def dump_to_path(  # type: ignore[override]
        self, obj: Any, path: str | None = None, **kwargs: Any
    ) -> None:
        """Dump to a local path (binary)."""
        super().dump_to_path(obj, path, mode="wb", **kwargs)
