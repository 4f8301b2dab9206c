"""Read-only HTTP(S) backend on the standard library (``urllib``): no extra dependency."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Generator
from contextlib import contextmanager

from .base import BaseStorageBackend


class HTTPBackend(BaseStorageBackend):
    """HTTP and HTTPS backend (``get``, ``get_text``, ``get_local_path``)."""

    def get(self, filepath: str) -> bytes:
        """Download ``filepath`` and return its bytes."""
        from urllib.request import urlopen  # 30 ms of imports: only when used

        with urlopen(filepath) as response:
            return response.read()

    def get_text(self, filepath: str, encoding: str = "utf-8") -> str:
        """Download ``filepath`` and decode it."""
        return self.get(filepath).decode(encoding)

    @contextmanager
    def get_local_path(self, filepath: str) -> Generator[str, None, None]:
        """Download to a temporary file, yield its path and remove it on exit."""
        fd, tmp = tempfile.mkstemp()
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(self.get(filepath))
            yield tmp
        finally:
            os.remove(tmp)
