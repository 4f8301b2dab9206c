"""A backend over any fsspec filesystem: ``memory://``, ``file://``, ``s3://``, ``gs://``, ...

fsspec is imported when the first such backend is built, never at ``import piston``. A protocol
whose fsspec implementation is not installed raises ``ImportError`` naming the package to install.
Paths keep their ``protocol://`` prefix on the way in and out; fsspec strips it internally.
"""

from __future__ import annotations

import os
import os.path as osp
import tempfile
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import BaseStorageBackend
from .local_backend import _check_list_args


def fsspec_knows(protocol: str) -> bool:
    """Whether fsspec has (or knows where to find) an implementation for ``protocol``."""
    if not protocol:
        return False
    from fsspec.registry import known_implementations, registry

    return protocol in registry or protocol in known_implementations


class FsspecBackend(BaseStorageBackend):
    """Storage backend on an fsspec filesystem.

    Args:
        protocol: fsspec protocol (the URI prefix), e.g. ``'memory'`` or ``'s3'``.
        **storage_options: Passed to ``fsspec.filesystem`` (credentials, endpoints, ...).
    """

    def __init__(self, protocol: str = "file", **storage_options: Any) -> None:
        try:
            import fsspec
        except ImportError as e:  # pragma: no cover - fsspec is a core dependency
            raise ImportError("FsspecBackend needs fsspec: pip install fsspec") from e
        try:
            self._fs = fsspec.filesystem(protocol, **storage_options)
        except ImportError as e:
            raise ImportError(
                f"Reading '{protocol}://' paths needs an fsspec implementation that is not "
                f"installed ({e}). Install it, e.g. `pip install {_pip_name(protocol)}`."
            ) from e
        except ValueError as e:
            raise ValueError(f"fsspec does not know the protocol {protocol!r}: {e}") from e
        self.protocol = protocol

    @property
    def fs(self) -> Any:
        """The underlying ``fsspec.AbstractFileSystem``."""
        return self._fs

    def _strip(self, path: str | Path) -> str:
        return self._fs._strip_protocol(str(path)).rstrip("/")

    def get(self, filepath: str | Path) -> bytes:
        """Read bytes."""
        return self._fs.cat_file(str(filepath))

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Read text."""
        return self.get(filepath).decode(encoding)

    def _makedirs(self, path: str) -> None:
        parent = path.rstrip("/").rsplit("/", 1)[0]
        try:
            self._fs.makedirs(parent, exist_ok=True)
        except (NotImplementedError, OSError):  # object stores have no real folders
            pass

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes, creating parent folders where the filesystem has them."""
        self._makedirs(str(filepath))
        self._fs.pipe_file(str(filepath), obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write text."""
        self.put(obj.encode(encoding), filepath)

    def exists(self, filepath: str | Path) -> bool:
        """Whether the path exists."""
        return self._fs.exists(str(filepath))

    def isdir(self, filepath: str | Path) -> bool:
        """Whether the path is a directory."""
        return self._fs.isdir(str(filepath))

    def isfile(self, filepath: str | Path) -> bool:
        """Whether the path is a file."""
        return self._fs.isfile(str(filepath))

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join with ``/``."""
        parts = [str(filepath).rstrip("/")]
        parts += [str(p).strip("/") for p in filepaths]
        return "/".join(parts)

    @contextmanager
    def get_local_path(self, filepath: str | Path) -> Generator[str, None, None]:
        """Download to a temporary local file, yield its path and remove it on exit."""
        suffix = osp.splitext(str(filepath))[1]
        fd, tmp = tempfile.mkstemp(suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.get(filepath))
            yield tmp
        finally:
            os.remove(tmp)

    def remove(self, filepath: str | Path) -> None:
        """Remove a file; a missing path or a directory raises."""
        if not self.exists(filepath):
            raise FileNotFoundError(f"filepath {filepath} does not exist")
        if self.isdir(filepath):
            raise IsADirectoryError(f"filepath {filepath} is a directory; use rmtree to remove it")
        self._fs.rm_file(str(filepath))

    def rmtree(self, dir_path: str | Path) -> None:
        """Remove a folder recursively."""
        self._fs.rm(str(dir_path), recursive=True)

    def _files_under(self, dir_path: str | Path) -> list[str]:
        root = self._strip(dir_path)
        return [name[len(root) + 1 :] for name in self._fs.find(str(dir_path))]

    def copyfile(self, src: str | Path, dst: str | Path) -> str:
        """Copy within the filesystem; ``dst`` may be a folder. Return the target path."""
        dst = str(dst)
        if self.isdir(dst):
            dst = self.join_path(dst, str(src).rstrip("/").rsplit("/", 1)[-1])
        self.put(self.get(src), dst)
        return dst

    def copytree(self, src: str | Path, dst: str | Path) -> str:
        """Copy a folder within the filesystem (``dst`` must not exist). Return ``dst``."""
        if self.exists(dst):
            raise FileExistsError(f"{dst} already exists")
        for rel in self._files_under(src):
            self.put(self.get(self.join_path(src, rel)), self.join_path(dst, rel))
        return str(dst)

    def copyfile_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Upload a local file; ``dst`` may be a folder. Return the target path."""
        dst = str(dst)
        if self.isdir(dst):
            dst = self.join_path(dst, osp.basename(src))
        with open(src, "rb") as f:
            self.put(f.read(), dst)
        return dst

    def copytree_from_local(self, src: str | Path, dst: str | Path) -> str:
        """Upload a local folder (``dst`` must not exist). Return ``dst``."""
        if self.exists(dst):
            raise FileExistsError(f"{dst} already exists")
        for folder, _, files in os.walk(src):
            for name in files:
                path = osp.join(folder, name)
                rel = osp.relpath(path, src).replace(os.sep, "/")
                self.copyfile_from_local(path, self.join_path(dst, rel))
        return str(dst)

    def copyfile_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Download a file; ``dst`` may be a local folder. Return the local path."""
        dst = str(dst)
        if osp.isdir(dst):
            dst = osp.join(dst, str(src).rstrip("/").rsplit("/", 1)[-1])
        os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(self.get(src))
        return dst

    def copytree_to_local(self, src: str | Path, dst: str | Path) -> str:
        """Download a folder (``dst`` must not exist). Return ``dst``."""
        if osp.exists(dst):
            raise FileExistsError(f"{dst} already exists")
        os.makedirs(dst)
        for rel in self._files_under(src):
            self.copyfile_to_local(self.join_path(src, rel), osp.join(dst, *rel.split("/")))
        return str(dst)

    def copy_if_symlink_fails(self, src: str | Path, dst: str | Path) -> bool:
        """fsspec filesystems have no symlinks: copy the file or folder and return False."""
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
        root = self._strip(dir_path)

        def _scan(path: str) -> Iterator[str]:
            for entry in self._fs.ls(path, detail=True):
                name = entry["name"].rstrip("/")
                rel = name[len(root) + 1 :]
                if entry["type"] == "directory":
                    if list_dir:
                        yield rel
                    if recursive:
                        yield from _scan(name)
                elif (
                    not name.rsplit("/", 1)[-1].startswith(".")
                    and list_file
                    and (suffix is None or rel.endswith(suffix))
                ):
                    yield rel

        return _scan(root)

    def generate_presigned_url(
        self, url: str, client_method: str = "get_object", expires_in: int = 3600
    ) -> str:
        """A signed URL, where the filesystem supports it (S3, GCS, ...)."""
        try:
            return self._fs.sign(url, expiration=expires_in)
        except NotImplementedError as e:
            raise NotImplementedError(
                f"the {self.protocol!r} filesystem cannot generate presigned URLs"
            ) from e


def _pip_name(protocol: str) -> str:
    from fsspec.registry import known_implementations

    err = known_implementations.get(protocol, {}).get("err", "")
    # fsspec's messages read like 'Install s3fs to access S3'.
    words = err.split()
    if len(words) >= 2 and words[0].lower() == "install":
        return words[1]
    return f"the fsspec implementation for {protocol}"
