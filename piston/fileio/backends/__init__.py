"""Storage backends and their name/prefix registry."""

from __future__ import annotations

from .base import BaseStorageBackend
from .fsspec_backend import FsspecBackend
from .http_backend import HTTPBackend
from .local_backend import LocalBackend
from .optional import LmdbBackend, MemcachedBackend, PetrelBackend
from .registry_utils import backends, prefix_to_backends, register_backend

register_backend("local", LocalBackend, prefixes="")
register_backend("http", HTTPBackend, prefixes=["http", "https"])
register_backend("petrel", PetrelBackend, prefixes=["petrel", "s3"])
register_backend("lmdb", LmdbBackend)
register_backend("memcached", MemcachedBackend)
register_backend("fsspec", FsspecBackend)

__all__ = [
    "BaseStorageBackend",
    "FsspecBackend",
    "HTTPBackend",
    "LmdbBackend",
    "LocalBackend",
    "MemcachedBackend",
    "PetrelBackend",
    "backends",
    "prefix_to_backends",
    "register_backend",
]
