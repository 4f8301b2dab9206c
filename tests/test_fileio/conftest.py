"""fileio test helpers: a fresh fsspec in-memory folder per test, restored backend tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest


@pytest.fixture
def mem_root() -> Iterator[str]:
    """A unique ``memory://`` folder, removed after the test."""
    import fsspec

    root = f"memory://piston-test-{uuid.uuid4().hex}"
    yield root
    fs = fsspec.filesystem("memory")
    if fs.exists(root):
        fs.rm(root, recursive=True)


@pytest.fixture
def restore_backend_tables() -> Iterator[None]:
    """Undo ``register_backend``/``register_handler`` calls made by a test."""
    from piston.fileio.backends import _instances, backends, prefix_to_backends
    from piston.fileio.handlers import file_handlers

    saved = (dict(backends), dict(prefix_to_backends), dict(file_handlers))
    yield
    for table, old in zip((backends, prefix_to_backends, file_handlers), saved):
        table.clear()
        table.update(old)
    _instances.clear()
