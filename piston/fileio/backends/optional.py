"""Backends on optional client libraries: petrel (``petrel_client``), lmdb and memcached.

Each imports its client when it is built and raises ``ImportError`` naming what to install when
the client is absent. Only the read path (``get``/``get_text``) is implemented for lmdb and
memcached; petrel delegates the full API to its client.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from .base import BaseStorageBackend


class PetrelBackend(BaseStorageBackend):
    """Petrel (Ceph/S3) backend through ``petrel_client``.

    Args:
        path_mapping: Substrings of paths to replace before use (``{src: dst}``).
        enable_mc: Whether the petrel client uses memcached.
        conf_path: Petrel client config file.
    """

    def __init__(
        self,
        path_mapping: dict | None = None,
        enable_mc: bool = True,
        conf_path: str | None = None,
    ) -> None:
        try:
            from petrel_client import client
        except ImportError as e:
            raise ImportError(
                "PetrelBackend needs petrel_client: install it (pip install petrel-client, or your "
                "cluster's Petrel SDK), or read s3:// paths through fsspec with `pip install s3fs`."
            ) from e
        self._client = client.Client(conf_path=conf_path, enable_mc=enable_mc)
        if path_mapping is not None and not isinstance(path_mapping, dict):
            raise TypeError(f"path_mapping should be a dict or None, but got {type(path_mapping)}")
        self.path_mapping = path_mapping

    def _map_path(self, filepath: str | Path) -> str:
        filepath = str(filepath)
        for k, v in (self.path_mapping or {}).items():
            filepath = filepath.replace(k, v, 1)
        return filepath.replace("\\", "/")

    def get(self, filepath: str | Path) -> bytes:
        """Read bytes."""
        return memoryview(self._client.Get(self._map_path(filepath))).tobytes()

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Read text."""
        return self.get(filepath).decode(encoding)

    def put(self, obj: bytes, filepath: str | Path) -> None:
        """Write bytes."""
        self._client.put(self._map_path(filepath), obj)

    def put_text(self, obj: str, filepath: str | Path, encoding: str = "utf-8") -> None:
        """Write text."""
        self.put(obj.encode(encoding), filepath)

    def exists(self, filepath: str | Path) -> bool:
        """Whether the object or prefix exists."""
        path = self._map_path(filepath)
        return self._client.contains(path) or self._client.isdir(path)

    def isdir(self, filepath: str | Path) -> bool:
        """Whether the path is a prefix (directory)."""
        return self._client.isdir(self._map_path(filepath))

    def isfile(self, filepath: str | Path) -> bool:
        """Whether the object exists."""
        return self._client.contains(self._map_path(filepath))

    def join_path(self, filepath: str | Path, *filepaths: str | Path) -> str:
        """Join with ``/``."""
        return "/".join([str(filepath).rstrip("/")] + [str(p).strip("/") for p in filepaths])

    def remove(self, filepath: str | Path) -> None:
        """Delete an object."""
        self._client.delete(self._map_path(filepath))

    def generate_presigned_url(
        self, url: str, client_method: str = "get_object", expires_in: int = 3600
    ) -> str:
        """A presigned URL for ``url``."""
        return self._client.generate_presigned_url(self._map_path(url), client_method, expires_in)


class LmdbBackend(BaseStorageBackend):
    """Read values from an LMDB database by ASCII key.

    Args:
        db_path: Path of the LMDB database.
        readonly, lock, readahead: Passed to ``lmdb.open``.
        **kwargs: More ``lmdb.open`` arguments.
    """

    def __init__(
        self,
        db_path: str | Path,
        readonly: bool = True,
        lock: bool = False,
        readahead: bool = False,
        **kwargs: Any,
    ) -> None:
        try:
            import lmdb
        except ImportError as e:
            raise ImportError("LmdbBackend needs lmdb: pip install lmdb") from e
        self.db_path = str(db_path)
        self._client = lmdb.open(
            self.db_path, readonly=readonly, lock=lock, readahead=readahead, **kwargs
        )

    def get(self, filepath: str | Path) -> bytes:
        """Read the value stored under the key ``filepath``."""
        with self._client.begin(write=False) as txn:
            return txn.get(str(filepath).encode("ascii"))

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Not supported by LMDB values."""
        raise NotImplementedError("LmdbBackend stores bytes; use get()")


class MemcachedBackend(BaseStorageBackend):
    """Read values from memcached through the ``mc`` client.

    Args:
        server_list_cfg: Server list config file.
        client_cfg: Client config file.
        sys_path: Folder to add to ``sys.path`` before importing ``mc``.
    """

    def __init__(self, server_list_cfg: str, client_cfg: str, sys_path: str | None = None) -> None:
        if sys_path is not None:
            sys.path.append(sys_path)
        try:
            import mc
        except ImportError as e:
            raise ImportError(
                "MemcachedBackend needs the memcached client `mc`: install it "
                "(pip install memcached) or pass sys_path= pointing at it"
            ) from e
        self._client = mc.MemcachedClient.GetInstance(server_list_cfg, client_cfg)
        self._mc_buffer = mc.pyvector()
        self._mc = mc

    def get(self, filepath: str | Path) -> bytes:
        """Read the value stored under ``filepath``."""
        self._client.Get(str(filepath), self._mc_buffer)
        return self._mc.ConvertBuffer(self._mc_buffer)

    def get_text(self, filepath: str | Path, encoding: str = "utf-8") -> str:
        """Not supported by memcached values."""
        raise NotImplementedError("MemcachedBackend stores bytes; use get()")
