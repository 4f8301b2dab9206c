"""``load``/``dump``: pick a handler by format, move the bytes through a storage backend."""

from __future__ import annotations

import warnings
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

from .handlers import file_handlers
from .io import get_file_backend


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
