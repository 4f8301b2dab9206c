"""Local-disk backend: plain paths, ``os``/``shutil`` semantics.

``put``/``put_text`` write atomically (temporary file in the same folder, fsync, ``os.replace``),
so a crash mid-write never leaves a truncated file where a good one was.
"""

from __future__ import annotations

import os
import os.path as osp
import shutil
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path

from .base import BaseStorageBackend

_UMASK: int | None = None


def _file_mode() -> int:
    """Permission bits a plain ``open(path, 'w')`` would give a new file."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def _atomic_write(data: bytes, filepath: str) -> None:
    target = osp.realpath(filepath) if osp.islink(filepath) else filepath
    folder = osp.dirname(osp.abspath(target))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{osp.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        mode = os.stat(target).st_mode & 0o7777 if osp.exists(target) else _file_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class LocalBackend(BaseStorageBackend):
    """Raw local storage backend."""

    _allow_symlink = True

    def get(self, filepath: str | Path) -> bytes:
        """Read bytes from ``filepath``."""
        with open(filepath, "rb") as f:
            return f.read()

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Read text from ``filepath``."""
        with open(filepath, encoding=encoding) as f:
            return f.read()

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes to ``filepath`` (atomically), creating parent folders."""
        _atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write text to ``filepath`` (atomically), creating parent folders."""
        _atomic_write(obj.encode(encoding), str(filepath))

    def exists(self, filepath: str | Path) -> bool:
        """Whether ``filepath`` exists."""
        return osp.exists(filepath)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether ``filepath`` is a directory."""
        return osp.isdir(filepath)

    def isfile(self, filepath: str | Path) -> bool:
        """Whether ``filepath`` is a file."""
        return osp.isfile(filepath)

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join paths with ``os.path.join``."""
        return osp.join(filepath, *filepaths)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str | Path, None, None]:
        """Yield ``filepath`` itself: it is already local."""
        yield filepath

    def copyfile(self, src: str | Path, dst: str | Path) -> str:
        """Copy a file like ``shutil.copy`` (``dst`` may be a folder); return the target path."""
        return shutil.copy(src, dst)

    def copytree(self, src: str | Path, dst: str | Path) -> str:
        """Copy a folder like ``shutil.copytree`` (``dst`` must not exist); return ``dst``."""
        return shutil.copytree(src, dst)

    def copyfile_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copyfile` for a local backend."""
        return self.copyfile(src, dst)

    def copytree_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copytree` for a local backend."""
        return self.copytree(src, dst)

    def copyfile_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copyfile` for a local backend."""
        return self.copyfile(src, dst)

    def copytree_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Same as :meth:`copytree` for a local backend."""
        return self.copytree(src, dst)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file; a missing path or a directory raises."""
        if not osp.exists(filepath):
            raise FileNotFoundError(f"filepath {filepath} does not exist")
        if osp.isdir(filepath):
            raise IsADirectoryError(f"filepath {filepath} is a directory; use rmtree to remove it")
        os.remove(filepath)

    def rmtree(self, dir_path: str | Path) -> None:
        """Remove a folder recursively."""
        shutil.rmtree(dir_path)

    def copy_if_symlink_fails(self, src: str | Path, dst: str | Path) -> bool:
        """Symlink ``dst`` to ``src``; copy instead when that fails. Return whether it linked."""
        try:
            os.symlink(src, dst)
            return True
        except Exception:
            if self.isfile(src):
                self.copyfile(src, dst)
            else:
                self.copytree(src, dst)
            return False

    def list_dir_or_file(
        self,
        dir_path: str | Path,
        list_dir: bool = True,
        list_file: bool = True,
        suffix: str | tuple[str, ...] | None = None,
        recursive: bool = False,
    ) -> Iterator[str]:
        """Yield paths under ``dir_path`` relative to it (hidden files skipped)."""
        _check_list_args(list_dir, suffix)
        root = str(dir_path)

        def _scan(path: str) -> Iterator[str]:
            for entry in os.scandir(path):
                if not entry.name.startswith(".") and entry.is_file():
                    rel_path = osp.relpath(entry.path, root)
                    if list_file and (suffix is None or rel_path.endswith(suffix)):
                        yield rel_path
                elif osp.isdir(entry.path):
                    if list_dir:
                        yield osp.relpath(entry.path, root)
                    if recursive:
                        yield from _scan(entry.path)

        return _scan(root)


def _check_list_args(list_dir: bool, suffix: object) -> None:
    if list_dir and suffix is not None:
        raise TypeError("`suffix` should be None when `list_dir` is True")
    if suffix is not None and not isinstance(suffix, (str, tuple)):
        raise TypeError(f"`suffix` must be a string or tuple of strings, but got {suffix!r}")
