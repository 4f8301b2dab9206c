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

    def load_from_path(self, path: str | None = None, mode: str = "r", **kwargs: Any) -> Any:
        """Deserialize from a local path (``filepath=`` is accepted as MMEngine's name)."""
        path = _path_argument("load_from_path", path, kwargs)
        encoding = None if "b" in mode else "utf-8"
        with open(path, mode, encoding=encoding) as f:
            return self.load_from_fileobj(f, **kwargs)

    def dump_to_path(
        self, obj: Any, path: str | None = None, mode: str = "w", **kwargs: Any
    ) -> None:
        """Serialize ``obj`` to a local path (``filepath=`` is accepted as MMEngine's name)."""
        path = _path_argument("dump_to_path", path, kwargs)
        encoding = None if "b" in mode else "utf-8"
        with open(path, mode, encoding=encoding) as f:
            self.dump_to_fileobj(obj, f, **kwargs)


def _path_argument(method: str, path: str | None, kwargs: dict[str, Any]) -> str:
    """``path`` or, under MMEngine's name, ``kwargs['filepath']`` (popped); exactly one."""
    old = kwargs.pop("filepath", None)
    if old is None:
        if path is None:
            raise TypeError(f"{method}() missing 1 required argument: 'path'")
        return path
    if path is not None:
        raise TypeError(f"{method}() got both 'path' and 'filepath'; pass the path once, as 'path'")
    return old
