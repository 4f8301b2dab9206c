"""Deprecated ``FileClient``: the pre-``get_file_backend`` interface, kept for old configs.

``file_client_args=dict(backend='disk')`` in old configs keeps working; every use warns.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .backends import (
    BaseStorageBackend,
    FsspecBackend,
    HTTPBackend,
    LmdbBackend,
    LocalBackend,
    MemcachedBackend,
    PetrelBackend,
)
from .backends.fsspec_backend import fsspec_knows


class HardDiskBackend(LocalBackend):
    """Deprecated alias of :class:`LocalBackend`."""

    def __init__(self) -> None:
        warnings.warn(
            '"HardDiskBackend" is deprecated, please use "LocalBackend" instead',
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__()

    @property
    def name(self) -> str:
        """Class name."""
        return self.__class__.__name__


class _CephBackend(BaseStorageBackend):
    """Legacy Ceph backend: needs the ``ceph`` client."""

    def __init__(self, path_mapping: dict | None = None) -> None:
        try:
            import ceph  # noqa: F401
        except ImportError as e:
            raise ImportError("the ceph backend needs the ceph client: pip install ceph") from e
        raise NotImplementedError("the ceph backend is deprecated; use the petrel backend")

    def get(self, filepath: str | Path) -> bytes:  # pragma: no cover - never constructed
        raise NotImplementedError

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:  # pragma: no cover
        raise NotImplementedError


class FileClient:
    """Deprecated generic file client; use :func:`piston.fileio.get_file_backend`.

    Args:
        backend: Backend name (``'disk'``, ``'ceph'``, ``'memcached'``, ``'lmdb'``, ``'petrel'``,
            ``'http'``, ``'fsspec'``).
        prefix: URI prefix used to pick the backend when ``backend`` is None.
        **kwargs: Backend constructor arguments.
    """

    _backends: dict[str, type[BaseStorageBackend]] = {
        "disk": HardDiskBackend,
        "ceph": _CephBackend,
        "memcached": MemcachedBackend,
        "lmdb": LmdbBackend,
        "petrel": PetrelBackend,
        "http": HTTPBackend,
        "fsspec": FsspecBackend,
    }
    _prefix_to_backends: dict[str, type[BaseStorageBackend]] = {
        "s3": PetrelBackend,
        "petrel": PetrelBackend,
        "http": HTTPBackend,
        "https": HTTPBackend,
    }
    _instances: dict[str, FileClient] = {}
    client: Any

    def __new__(cls, backend: str | None = None, prefix: str | None = None, **kwargs: Any):
        warnings.warn(
            '"FileClient" will be deprecated in future. Please use the io functions of '
            "piston.fileio (get_file_backend, get, put, exists, ...) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        if backend is None and prefix is None:
            backend = "disk"
        if backend is not None and backend not in cls._backends:
            raise ValueError(
                f"Backend {backend} is not supported. Currently supported ones "
                f"are {list(cls._backends.keys())}"
            )
        if (
            prefix is not None
            and prefix not in cls._prefix_to_backends
            and not fsspec_knows(prefix)
        ):
            raise ValueError(
                f"prefix {prefix} is not supported. Currently supported ones "
                f"are {list(cls._prefix_to_backends.keys())}"
            )
        arg_key = f"{backend}:{prefix}"
        for key, value in kwargs.items():
            arg_key += f":{key}:{value}"
        if arg_key in cls._instances:
            return cls._instances[arg_key]
        instance = super().__new__(cls)
        if backend is not None:
            instance.client = cls._backends[backend](**kwargs)
        elif prefix in cls._prefix_to_backends:
            instance.client = cls._prefix_to_backends[prefix](**kwargs)
        else:
            instance.client = FsspecBackend(prefix, **kwargs)
        cls._instances[arg_key] = instance
        return instance

    @property
    def name(self) -> str:
        """Name of the wrapped backend."""
        return self.client.name

    @property
    def allow_symlink(self) -> bool:
        """Whether the wrapped backend allows symlinks."""
        return self.client._allow_symlink

    @staticmethod
    def parse_uri_prefix(uri: str | Path) -> str | None:
        """The prefix of ``uri`` (``None`` for plain paths)."""
        from .io import _parse_uri_prefix

        return _parse_uri_prefix(uri) or None

    @classmethod
    def infer_client(
        cls, file_client_args: dict | None = None, uri: str | Path | None = None
    ) -> FileClient:
        """Build a client from ``file_client_args`` or, when None, from the prefix of ``uri``."""
        if file_client_args is None and uri is None:
            raise ValueError("file_client_args and uri cannot both be None")
        if file_client_args is None:
            return cls(prefix=cls.parse_uri_prefix(uri))  # type: ignore[arg-type]
        return cls(**file_client_args)

    @classmethod
    def register_backend(
        cls,
        name: str,
        backend: type[BaseStorageBackend] | None = None,
        force: bool = False,
        prefixes: str | list[str] | None = None,
    ) -> Any:
        """Register a backend class for ``FileClient`` (call or decorator)."""

        def _register(backend_cls: type[BaseStorageBackend]) -> type[BaseStorageBackend]:
            if not (isinstance(backend_cls, type) and issubclass(backend_cls, BaseStorageBackend)):
                raise TypeError(f"backend {backend_cls} is not a subclass of BaseStorageBackend")
            if name in cls._backends and not force:
                raise ValueError(f"{name} is already registered; add force=True to override it")
            cls._backends[name] = backend_cls
            for prefix in [prefixes] if isinstance(prefixes, str) else prefixes or []:
                if prefix in cls._prefix_to_backends and not force:
                    raise ValueError(f"{prefix} is already registered; add force=True")
                cls._prefix_to_backends[prefix] = backend_cls
            cls._instances.clear()
            return backend_cls

        if backend is not None:
            _register(backend)
            return None
        return _register

    def get(self, filepath: str | Path) -> bytes:
        """Read bytes."""
        return self.client.get(filepath)

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Read text."""
        return self.client.get_text(filepath, encoding)

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes."""
        self.client.put(obj, filepath)

    def put_text(self, obj: str, filepath: str | Path) -> None:
        """Write text."""
        self.client.put_text(obj, filepath)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file."""
        self.client.remove(filepath)

    def exists(self, filepath: str | Path) -> bool:
        """Whether the path exists."""
        return self.client.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether the path is a directory."""
        return self.client.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        """Whether the path is a file."""
        return self.client.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join paths."""
        return self.client.join_path(filepath, *filepaths)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        """Yield a local path for ``filepath``."""
        with self.client.get_local_path(str(filepath)) as local_path:
            yield local_path

    def list_dir_or_file(
        self,
        dir_path: str | Path,
        list_dir: bool = True,
        list_file: bool = True,
        suffix: str | tuple[str, ...] | None = None,
        recursive: bool = False,
    ) -> Iterator[str]:
        """Yield entries under ``dir_path``."""
        yield from self.client.list_dir_or_file(dir_path, list_dir, list_file, suffix, recursive)
