"""MMEngine-style module path ``piston.fileio.backends.lmdb_backend`` (the class lives in ``optional``)."""

from __future__ import annotations

from .optional import LmdbBackend

__all__ = ["LmdbBackend"]
