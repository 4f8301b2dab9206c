"""Configs: ``Config`` (files with ``_base_`` inheritance or lazy imports), ``ConfigDict``,
``DictAction`` for ``--cfg-options``, and ``read_base`` for pure-Python configs."""

from __future__ import annotations

from .config import Config
from .config_dict import ConfigDict
from .dict_action import DictAction
from .utils import ConfigParsingError, read_base

__all__ = ["Config", "ConfigDict", "ConfigParsingError", "DictAction", "read_base"]
