"""Configs and models of installed packages by ``'pkg::config/path.py'``."""

from __future__ import annotations

from .hub import get_config, get_model

__all__ = ["get_config", "get_model"]
