"""The functional file API: each call picks a backend from its path and delegates to it.

``load``/``dump`` (a format handler from ``file_handlers`` plus a backend) live here too, so
``from piston.fileio.io import load, dump, register_handler`` works as with MMEngine.

Backend choice (``get_file_backend``): ``backend_args=dict(backend=name, ...)`` selects by name;
otherwise the URI prefix does (``''`` → local, ``http``/``https`` → HTTP, ``petrel``/``s3`` →
petrel). A prefix no backend claims but fsspec knows (``memory``, ``file``, ``gs``, ...) is served
by :class:`FsspecBackend`; so is ``s3`` when ``petrel_client`` is not installed.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

from .backends import BaseStorageBackend, FsspecBackend, PetrelBackend, backends, prefix_to_backends
from .backends import _instances as _singletons
from .backends.fsspec_backend import fsspec_knows
from .handlers import file_handlers, register_handler

__all__ = [
    "copy_if_symlink_fails",
    "copyfile",
    "copyfile_from_local",
    "copyfile_to_local",
    "copytree",
    "copytree_from_local",
    "copytree_to_local",
    "dump",
    "exists",
    "file_handlers",
    "generate_presigned_url",
    "get",
    "get_file_backend",
    "get_local_path",
    "get_text",
    "isdir",
    "isfile",
    "join_path",
    "list_dir_or_file",
    "load",
    "put",
    "put_text",
    "register_handler",
    "remove",
    "rmtree",
]


def _parse_uri_prefix(uri: str | Path) -> str:
    """``'s3://b/k'`` → ``'s3'``; ``'cluster:s3://b/k'`` → ``'s3'``; a plain path → ``''``."""
    uri = str(uri)
    if "://" not in uri:
        return ""
    prefix = uri.split("://")[0]
    if ":" in prefix:
        prefix = prefix.split(":")[1]
    return prefix


def _petrel_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("petrel_client") is not None


def _build_backend(prefix: str, backend_args: dict) -> BaseStorageBackend:
    backend_args = dict(backend_args)
    if "backend" in backend_args:
        name = backend_args.pop("backend")
        if name not in backends:
            raise ValueError(
                f"backend {name!r} is not registered; registered backends: {sorted(backends)}. "
                "Register it with piston.fileio.register_backend."
            )
        return backends[name](**backend_args)
    cls = prefix_to_backends.get(prefix)
    if cls is PetrelBackend and not _petrel_installed() and fsspec_knows(prefix):
        cls = None
    if cls is None:
        if fsspec_knows(prefix):
            return FsspecBackend(prefix, **backend_args)
        raise ValueError(
            f"no storage backend serves the prefix {prefix!r}; registered prefixes: "
            f"{sorted(prefix_to_backends)}, plus any protocol fsspec knows"
        )
    return cls(**backend_args)


def get_file_backend(
    uri: str | Path | None = None,
    *,
    backend_args: dict | None = None,
    enable_singleton: bool = False,
) -> BaseStorageBackend:
    """Return a storage backend for ``uri`` (by prefix) or ``backend_args['backend']`` (by name).

    Args:
        uri: Path or URI used to infer the backend.
        backend_args: Backend constructor arguments, optionally with ``backend=<name>``.
        enable_singleton: Reuse one instance per prefix and arguments.

    Example:
        >>> get_file_backend('memory://bucket/a.txt').name
        'FsspecBackend'
    """
    backend_args = {} if backend_args is None else backend_args
    if uri is None and "backend" not in backend_args:
        raise ValueError(
            'uri should not be None when "backend" does not exist in backend_args: '
            "pass a path/URI or backend_args=dict(backend='local')"
        )
    prefix = "" if uri is None else _parse_uri_prefix(uri)
    if not enable_singleton:
        return _build_backend(prefix, backend_args)
    key = f"{prefix}:{json.dumps(backend_args, sort_keys=True, default=str)}"
    if key not in _singletons._cache:
        _singletons._cache[key] = _build_backend(prefix, backend_args)
    return _singletons._cache[key]


def _backend(path: str | Path, backend_args: dict | None) -> Any:
    return get_file_backend(path, backend_args=backend_args, enable_singleton=True)


def get(filepath: str | Path, backend_args: dict | None = None) -> bytes:
    """Read bytes from ``filepath``."""
    return _backend(filepath, backend_args).get(filepath)


def get_text(
    filepath: str | Path, encoding: str = "utf-8", backend_args: dict | None = None
) -> str:
    """Read text from ``filepath``."""
    return _backend(filepath, backend_args).get_text(filepath, encoding)


def put(obj: bytes, filepath: str | Path, backend_args: dict | None = None) -> None:
    """Write bytes to ``filepath`` (parent folders are created)."""
    _backend(filepath, backend_args).put(obj, filepath)


def put_text(obj: str, filepath: str | Path, backend_args: dict | None = None) -> None:
    """Write text (utf-8) to ``filepath`` (parent folders are created)."""
    _backend(filepath, backend_args).put_text(obj, filepath)


def exists(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether ``filepath`` exists."""
    return _backend(filepath, backend_args).exists(filepath)


def isdir(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether ``filepath`` is a directory."""
    return _backend(filepath, backend_args).isdir(filepath)


def isfile(filepath: str | Path, backend_args: dict | None = None) -> bool:
    """Whether ``filepath`` is a file."""
    return _backend(filepath, backend_args).isfile(filepath)


def join_path(
    filepath: str | Path, *filepaths: str | Path, backend_args: dict | None = None
) -> str | Path:
    """Join path components the way the backend of ``filepath`` does."""
    return _backend(filepath, backend_args).join_path(filepath, *filepaths)


@contextmanager
def get_local_path(
    filepath: str | Path, backend_args: dict | None = None
) -> Generator[str | Path, None, None]:
    """Yield a local path for ``filepath`` (a temporary copy for remote files)."""
    with _backend(filepath, backend_args).get_local_path(filepath) as local_path:
        yield local_path


def copyfile(src: str | Path, dst: str | Path, backend_args: dict | None = None) -> str | Path:
    """Copy a file (``dst`` may be a folder); return the target path."""
    return _backend(src, backend_args).copyfile(src, dst)


def copytree(src: str | Path, dst: str | Path, backend_args: dict | None = None) -> str | Path:
    """Copy a folder (``dst`` must not exist); return ``dst``."""
    return _backend(src, backend_args).copytree(src, dst)


def copyfile_from_local(
    src: str | Path, dst: str | Path, backend_args: dict | None = None
) -> str | Path:
    """Copy the local file ``src`` to ``dst`` in the backend of ``dst``."""
    return _backend(dst, backend_args).copyfile_from_local(src, dst)


def copytree_from_local(
    src: str | Path, dst: str | Path, backend_args: dict | None = None
) -> str | Path:
    """Copy the local folder ``src`` to ``dst`` in the backend of ``dst``."""
    return _backend(dst, backend_args).copytree_from_local(src, dst)


def copyfile_to_local(
    src: str | Path, dst: str | Path, backend_args: dict | None = None
) -> str | Path:
    """Copy ``src`` from the backend of ``dst`` to the local path ``dst``."""
    return _backend(dst, backend_args).copyfile_to_local(src, dst)


def copytree_to_local(
    src: str | Path, dst: str | Path, backend_args: dict | None = None
) -> str | Path:
    """Copy the folder ``src`` to the local folder ``dst``."""
    return _backend(dst, backend_args).copytree_to_local(src, dst)


def remove(filepath: str | Path, backend_args: dict | None = None) -> None:
    """Remove a file (a missing path raises FileNotFoundError, a folder IsADirectoryError)."""
    _backend(filepath, backend_args).remove(filepath)


def rmtree(dir_path: str | Path, backend_args: dict | None = None) -> None:
    """Remove a folder recursively."""
    _backend(dir_path, backend_args).rmtree(dir_path)


def copy_if_symlink_fails(
    src: str | Path, dst: str | Path, backend_args: dict | None = None
) -> bool:
    """Symlink ``dst`` → ``src`` or copy when linking fails; return whether it linked."""
    return _backend(src, backend_args).copy_if_symlink_fails(src, dst)


def list_dir_or_file(
    dir_path: str | Path,
    list_dir: bool = True,
    list_file: bool = True,
    suffix: str | tuple[str, ...] | None = None,
    recursive: bool = False,
    backend_args: dict | None = None,
) -> Iterator[str]:
    """Yield folders and/or files under ``dir_path``, relative to it."""
    return _backend(dir_path, backend_args).list_dir_or_file(
        dir_path, list_dir, list_file, suffix, recursive
    )


def generate_presigned_url(
    url: str,
    client_method: str = "get_object",
    expires_in: int = 3600,
    backend_args: dict | None = None,
) -> str:
    """A presigned URL for ``url`` (petrel, and fsspec filesystems that can sign)."""
    backend = _backend(url, backend_args)
    if not hasattr(backend, "generate_presigned_url"):
        raise NotImplementedError(f"{backend.name} cannot generate presigned URLs for {url}")
    return backend.generate_presigned_url(url, client_method, expires_in)


# ---------------------------------------------------------------------------------- load / dump
def _resolve_backend(file: str, file_client_args: dict | None, backend_args: dict | None) -> Any:
    if file_client_args is not None:
        warnings.warn(
            '"file_client_args" will be deprecated in future. Please use "backend_args" instead',
            DeprecationWarning,
            stacklevel=3,
        )
        if backend_args is not None:
            raise ValueError(
                '"file_client_args" and "backend_args" cannot be set at the same time.'
            )
        from .file_client import FileClient

        with warnings.catch_warnings():  # already warned about file_client_args above
            warnings.simplefilter("ignore", DeprecationWarning)
            return FileClient.infer_client(file_client_args, file)
    return get_file_backend(file, backend_args=backend_args, enable_singleton=True)


def load(
    file: str | Path | Any,
    file_format: str | None = None,
    file_client_args: dict | None = None,
    backend_args: dict | None = None,
    **kwargs: Any,
) -> Any:
    """Load data from a json/yaml/pickle file (path, URI or file object).

    Args:
        file: Path, URI, or an object with ``read``.
        file_format: Format; inferred from the extension of a path when None.
        file_client_args: Deprecated, use ``backend_args``.
        backend_args: Arguments of the storage backend.
        **kwargs: Passed to the handler.

    Example:
        >>> load('memory://cfg/a.json')  # doctest: +SKIP
    """
    if isinstance(file, Path):
        file = str(file)
    if file_format is None and isinstance(file, str):
        file_format = file.split(".")[-1]
    if file_format not in file_handlers:
        raise TypeError(
            f"Unsupported format: {file_format}; registered formats: {sorted(file_handlers)}"
        )
    handler = file_handlers[file_format]
    if isinstance(file, str):
        backend = _resolve_backend(file, file_client_args, backend_args)
        if handler.str_like:
            with StringIO(backend.get_text(file)) as f:
                return handler.load_from_fileobj(f, **kwargs)
        with BytesIO(backend.get(file)) as f:
            return handler.load_from_fileobj(f, **kwargs)
    if hasattr(file, "read"):
        return handler.load_from_fileobj(file, **kwargs)
    raise TypeError(f'"file" must be a filepath str or a file-object, but got {type(file)}')


def dump(
    obj: Any,
    file: str | Path | Any | None = None,
    file_format: str | None = None,
    file_client_args: dict | None = None,
    backend_args: dict | None = None,
    **kwargs: Any,
) -> str | bytes | None:
    """Dump ``obj`` as json/yaml/pickle to a path, URI or file object, or return it as a string.

    Args:
        obj: Object to serialize.
        file: Path, URI, an object with ``write``, or None to return the serialized string.
        file_format: Format; inferred from the extension of a path when None.
        file_client_args: Deprecated, use ``backend_args``.
        backend_args: Arguments of the storage backend.
        **kwargs: Passed to the handler.
    """
    if isinstance(file, Path):
        file = str(file)
    if file_format is None:
        if isinstance(file, str):
            file_format = file.split(".")[-1]
        elif file is None:
            raise ValueError("file_format must be specified since file is None")
    if file_format not in file_handlers:
        raise TypeError(
            f"Unsupported format: {file_format}; registered formats: {sorted(file_handlers)}"
        )
    handler = file_handlers[file_format]
    if file is None:
        return handler.dump_to_str(obj, **kwargs)
    if isinstance(file, str):
        backend = _resolve_backend(file, file_client_args, backend_args)
        if handler.str_like:
            with StringIO() as f:
                handler.dump_to_fileobj(obj, f, **kwargs)
                backend.put_text(f.getvalue(), file)
        else:
            with BytesIO() as f:
                handler.dump_to_fileobj(obj, f, **kwargs)
                backend.put(f.getvalue(), file)
        return None
    if hasattr(file, "write"):
        handler.dump_to_fileobj(obj, file, **kwargs)
        return None
    raise TypeError(f'"file" must be a filename str or a file-object, but got {type(file)}')
