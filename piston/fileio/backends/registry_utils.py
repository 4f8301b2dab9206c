"""Name and prefix tables of storage backends, and ``register_backend``."""

from __future__ import annotations

import inspect
from collections.abc import Callable

from .base import BaseStorageBackend

backends: dict[str, type[BaseStorageBackend]] = {}
prefix_to_backends: dict[str, type[BaseStorageBackend]] = {}


def _register_backend(
    name: str,
    backend: type[BaseStorageBackend],
    force: bool = False,
    prefixes: str | list[str] | tuple[str, ...] | None = None,
) -> None:
    if not isinstance(name, str):
        raise TypeError(f"the backend name should be a string, but got {type(name)}")
    if not inspect.isclass(backend):
        raise TypeError(f"backend should be a class, but got {type(backend)}")
    if not issubclass(backend, BaseStorageBackend):
        raise TypeError(f"backend {backend} is not a subclass of BaseStorageBackend")
    if isinstance(prefixes, str):
        prefixes = [prefixes]
    prefixes = list(prefixes or [])
    if not all(isinstance(p, str) for p in prefixes):
        raise TypeError(f"prefixes should be str or a list of str, but got {prefixes!r}")
    if not force:
        if name in backends:
            raise ValueError(
                f"{name} is already registered as a storage backend, "
                'add "force=True" if you want to override it'
            )
        for prefix in prefixes:
            if prefix in prefix_to_backends:
                raise ValueError(
                    f"{prefix} is already registered as a storage backend prefix, "
                    'add "force=True" if you want to override it'
                )
    backends[name] = backend
    for prefix in prefixes:
        prefix_to_backends[prefix] = backend
    # Cached instances may be of the class just replaced.
    from . import _instances

    _instances.clear()


def register_backend(
    name: str,
    backend: type[BaseStorageBackend] | None = None,
    force: bool = False,
    prefixes: str | list[str] | tuple[str, ...] | None = None,
) -> Callable | None:
    """Register a storage backend under ``name`` and optional URI ``prefixes``.

    Usable as a call (``register_backend('x', XBackend)``) or as a class decorator
    (``@register_backend('x', prefixes='x')``).

    Args:
        name: Backend name, used with ``backend_args=dict(backend=name)``.
        backend: Backend class (a subclass of :class:`BaseStorageBackend`).
        force: Override an existing name or prefix instead of raising ``ValueError``.
        prefixes: URI prefixes (the part before ``://``) served by this backend.
    """
    if backend is not None:
        _register_backend(name, backend, force=force, prefixes=prefixes)
        return None

    def _register(backend_cls: type[BaseStorageBackend]) -> type[BaseStorageBackend]:
        _register_backend(name, backend_cls, force=force, prefixes=prefixes)
        return backend_cls

    return _register
