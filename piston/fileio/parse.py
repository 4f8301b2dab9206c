"""Small text-file readers: ``list_from_file`` and ``dict_from_file``."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

from .io import _resolve_backend


def list_from_file(
    filename: str | Path,
    prefix: str = "",
    offset: int = 0,
    max_num: int = 0,
    encoding: str = "utf-8",
    file_client_args: dict | None = None,
    backend_args: dict | None = None,
) -> list[str]:
    """Read the lines of a text file into a list.

    Args:
        filename: Path or URI.
        prefix: Prepended to each item.
        offset: Number of lines to skip first.
        max_num: At most this many items when > 0.
        encoding: Text encoding.
        file_client_args: Deprecated, use ``backend_args``.
        backend_args: Arguments of the storage backend.
    """
    backend = _resolve_backend(str(filename), file_client_args, backend_args)
    items = []
    with StringIO(backend.get_text(filename, encoding)) as f:
        for _ in range(offset):
            f.readline()
        for line in f:
            if 0 < max_num <= len(items):
                break
            items.append(prefix + line.rstrip("\n\r"))
    return items


def dict_from_file(
    filename: str | Path,
    key_type: type = str,
    encoding: str = "utf-8",
    file_client_args: dict | None = None,
    backend_args: dict | None = None,
) -> dict[Any, Any]:
    """Read a whitespace-separated text file into a dict.

    Each line holds a key and one value (stored as a string) or several (stored as a list).

    Args:
        filename: Path or URI.
        key_type: Type the keys are cast to.
        encoding: Text encoding.
        file_client_args: Deprecated, use ``backend_args``.
        backend_args: Arguments of the storage backend.
    """
    backend = _resolve_backend(str(filename), file_client_args, backend_args)
    mapping: dict[Any, Any] = {}
    with StringIO(backend.get_text(filename, encoding)) as f:
        for lineno, line in enumerate(f, 1):
            items = line.rstrip("\n").split()
            if len(items) < 2:
                raise AssertionError(
                    f"{filename}, line {lineno}: expected a key and at least one value, "
                    f"got {line.rstrip()!r}"
                )
            key = key_type(items[0])
            mapping[key] = items[1:] if len(items) > 2 else items[1]
    return mapping
