"""MMEngine-style module path ``piston.fileio.backends.memcached_backend`` (the class lives in ``optional``)."""

from __future__ import annotations

from .optional import MemcachedBackend

__all__ = ["MemcachedBackend"]
