"""Common base of the visualization backends and their lazy environment setup.

Design note: a backend does no I/O and imports no tracker library when it is built; the first
call of a method decorated with ``force_init_env`` runs ``_init_env()`` once. So building the
Visualizer from a config is cheap, and a backend that is never written to never touches disk.
"""

from __future__ import annotations

import functools
import importlib
import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from piston.logging import print_log

__all__ = ["BaseVisBackend", "force_init_env", "require", "to_plain"]

_F = TypeVar("_F", bound=Callable[..., Any])


def force_init_env(old_func: _F) -> _F:
    """Run the backend's ``_init_env()`` once before the first call of ``old_func``."""

    @functools.wraps(old_func)
    def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(obj, "_init_env"):
            raise AttributeError(f"{type(obj)} does not have an _init_env method.")
        if not getattr(obj, "_env_initialized", False):
            print_log(
                f"Attribute `_env_initialized` of {type(obj).__name__} is not set or False, "
                "`_init_env` will be called and `_env_initialized` will be set to True.",
                logger="current",
                level=logging.DEBUG,
            )
            obj._init_env()
            obj._env_initialized = True
        return old_func(obj, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def require(module: str, package: str, backend: str) -> Any:
    """Import ``module`` or raise an ImportError naming the ``pip install`` to run."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f'{backend} needs {package}: run "pip install {package}".') from exc


_PLAIN = (float, int, str, bool)


def to_plain(value: Any) -> Any:
    """Convert tensors and numpy values (also inside dicts/lists) to Python numbers and lists.

    Called when a backend writes, i.e. every logging interval, never per iteration.
    """
    if isinstance(value, dict):
        # Usual case (a log record): plain numbers, returned as a new dict without recursion.
        if all(type(item) in _PLAIN for item in value.values()):
            return dict(value)
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a tensor
        value = value.detach()
        return value.item() if value.numel() == 1 else value.tolist()
    if hasattr(value, "dtype") and hasattr(value, "tolist"):  # numpy array or scalar
        return value.tolist()
    return value


class BaseVisBackend(metaclass=ABCMeta):
    """Base class of the visualization backends.

    Args:
        save_dir: Directory the backend writes to.
    """

    def __init__(self, save_dir: str) -> None:
        self._save_dir = save_dir

    @property
    @abstractmethod
    def experiment(self) -> Any:
        """The backend's underlying writer or run object."""

    @abstractmethod
    def _init_env(self) -> Any:
        """Set up the environment (directories, writers); called once, lazily."""

    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config."""

    def add_graph(self, model: Any, data_batch: Any, **kwargs: Any) -> None:
        """Record the model graph."""

    def add_image(self, name: str, image: Any, step: int = 0, **kwargs: Any) -> None:
        """Record an RGB uint8 image."""

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record one scalar."""

    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Record several scalars."""

    def close(self) -> None:
        """Flush and release resources."""
