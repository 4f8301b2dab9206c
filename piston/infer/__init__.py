"""High-level inference API base class."""

from __future__ import annotations

from .infer import BaseInferencer

__all__ = ["BaseInferencer"]
