"""Singleton cache of backend instances (``get_file_backend(..., enable_singleton=True)``)."""

from __future__ import annotations

from typing import Any

_cache: dict[str, Any] = {}


def clear() -> None:
    """Drop every cached backend instance."""
    _cache.clear()
