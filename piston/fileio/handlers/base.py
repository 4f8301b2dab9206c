"""Base class of the format handlers used by ``load``/``dump``."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any


class BaseFileHandler(metaclass=ABCMeta):
    """Reads and writes one serialization format.

    ``str_like`` says whether the format is text (``True``) or binary (``False``); ``load`` and
    ``dump`` pick ``get_text``/``put_text`` or ``get``/``put`` accordingly.
    """

    str_like = True

    @abstractmethod
    def load_from_fileobj(self, file: Any, **kwargs: Any) -> Any:
        """Deserialize from an open file object."""

    @abstractmethod
    def dump_to_fileobj(self, obj: Any, file: Any, **kwargs: Any) -> None:
        """Serialize ``obj`` into an open file object."""

    @abstractmethod
    def dump_to_str(self, obj: Any, **kwargs: Any) -> str:
        """Serialize ``obj`` to a string."""

    def load_from_path(self, filepath: str, mode: str = "r", **kwargs: Any) -> Any:
        """Deserialize from a local path."""
        encoding = None if "b" in mode else "utf-8"
        with open(filepath, mode, encoding=encoding) as f:
            return self.load_from_fileobj(f, **kwargs)

    def dump_to_path(self, obj: Any, filepath: str, mode: str = "w", **kwargs: Any) -> None:
        """Serialize ``obj`` to a local path."""
        encoding = None if "b" in mode else "utf-8"
        with open(filepath, mode, encoding=encoding) as f:
            self.dump_to_fileobj(obj, f, **kwargs)
