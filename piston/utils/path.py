"""Filesystem path helpers."""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from .misc import _REQUIRED, _spec_or_old

__all__ = [
    "check_file_exist",
    "fopen",
    "is_abs",
    "is_filepath",
    "mkdir_or_exist",
    "scandir",
    "symlink",
]


def is_filepath(x: Any) -> bool:
    """Whether ``x`` is a str or a ``pathlib.Path``."""
    return isinstance(x, (str, Path))


def fopen(path: str | Path = _REQUIRED, *args: Any, filepath: Any = _REQUIRED, **kwargs: Any) -> IO:
    """``open(path, *args, **kwargs)`` for a str or ``Path``; anything else raises ``ValueError``.

    ``filepath`` is an alias of ``path`` (MMEngine's name).
    """
    path = _spec_or_old("fopen", "path", path, "filepath", filepath)
    if isinstance(path, (str, Path)):
        return open(path, *args, **kwargs)
    raise ValueError(f"`path` should be a string or a Path, but got {type(path)}")


def check_file_exist(filename: str | Path, msg_tmpl: str = 'file "{}" does not exist') -> None:
    """Raise ``FileNotFoundError`` (with ``msg_tmpl`` filled) if ``filename`` is not a file."""
    if not osp.isfile(filename):
        raise FileNotFoundError(msg_tmpl.format(filename))


def mkdir_or_exist(dir_name: str | Path, mode: int = 0o777) -> None:
    """Create ``dir_name`` and its parents if missing; ``''`` is a no-op; ``~`` is expanded."""
    if dir_name == "":
        return
    dir_name = osp.expanduser(dir_name)
    os.makedirs(dir_name, mode=mode, exist_ok=True)


def symlink(src: str | Path, dst: str | Path, overwrite: bool = True, **kwargs: Any) -> None:
    """Create a symlink ``dst -> src``, replacing an existing ``dst`` when ``overwrite``."""
    if os.path.lexists(dst) and overwrite:
        os.remove(dst)
    os.symlink(src, dst, **kwargs)


def scandir(
    dir_path: str | Path,
    suffix: str | tuple[str, ...] | None = None,
    recursive: bool = False,
    case_sensitive: bool = True,
) -> Generator[str, None, None]:
    """Yield paths of files under ``dir_path`` relative to it, skipping hidden entries.

    Args:
        dir_path: Folder to scan.
        suffix: Only yield files ending with this suffix (or one of these suffixes).
        recursive: Also scan sub-folders.
        case_sensitive: Compare suffixes case-sensitively.
    """
    if isinstance(dir_path, (str, Path)):
        dir_path = str(dir_path)
    else:
        raise TypeError(f'"dir_path" must be a string or Path object, but got {type(dir_path)}')
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f'"suffix" must be a string or tuple of strings, but got {type(suffix)}')
    if suffix is not None and not case_sensitive:
        suffix = suffix.lower() if isinstance(suffix, str) else tuple(s.lower() for s in suffix)
    root = dir_path

    def _scan(path: str) -> Generator[str, None, None]:
        for entry in os.scandir(path):
            if entry.name.startswith("."):
                continue
            if entry.is_file():
                rel_path = osp.relpath(entry.path, root)
                name = rel_path if case_sensitive else rel_path.lower()
                if suffix is None or name.endswith(suffix):
                    yield rel_path
            elif recursive and entry.is_dir():
                yield from _scan(entry.path)

    return _scan(dir_path)


def is_abs(path: str) -> bool:
    """Whether ``path`` is absolute or a URL starting with ``http://``, ``https://``, ``s3://``."""
    return osp.isabs(path) or path.startswith(("http://", "https://", "s3://"))
