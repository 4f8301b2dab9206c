"""The ``file_handlers`` table (extension → handler instance) and ``register_handler``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import BaseFileHandler
from .json_handler import JsonHandler
from .pickle_handler import PickleHandler
from .yaml_handler import YamlHandler

file_handlers: dict[str, BaseFileHandler] = {
    "json": JsonHandler(),
    "yaml": YamlHandler(),
    "yml": YamlHandler(),
    "pickle": PickleHandler(),
    "pkl": PickleHandler(),
}


def _register_handler(handler: BaseFileHandler, file_formats: str | list[str]) -> None:
    if not isinstance(handler, BaseFileHandler):
        raise TypeError(f"handler must be a child of BaseFileHandler, not {type(handler)}")
    if isinstance(file_formats, str):
        file_formats = [file_formats]
    if not isinstance(file_formats, list) or not all(isinstance(f, str) for f in file_formats):
        raise TypeError(f"file_formats must be a str or a list of str, but got {file_formats!r}")
    for ext in file_formats:
        file_handlers[ext] = handler


def register_handler(file_formats: str | list[str], **kwargs: Any) -> Callable[[type], type]:
    """Class decorator registering a handler class for ``file_formats`` (``**kwargs`` build it)."""

    def wrap(cls: type) -> type:
        _register_handler(cls(**kwargs), file_formats)
        return cls

    return wrap
