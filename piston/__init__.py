"""piston: a PyTorch training engine with MMEngine's public API.

``import piston`` re-exports every public name of :mod:`piston.config`, :mod:`piston.fileio`,
:mod:`piston.logging`, :mod:`piston.registry` and :mod:`piston.utils` (``piston.Config``,
``piston.load``, ``piston.MODELS``, ...). They are resolved on first access (PEP 562) so that
``import piston`` itself, and every ``import piston.<sub>``, which imports this file first, stays
cheap.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

__version__ = "0.1.0"


def _parse_version_info(version: str) -> tuple:
    parts: list[int | str] = []
    for piece in version.split("."):
        if piece.isdigit():
            parts.append(int(piece))
        elif "rc" in piece:
            number, _, rc = piece.partition("rc")
            parts.extend([int(number), f"rc{rc}"])
        else:
            parts.append(piece)
    return tuple(parts)


version_info = _parse_version_info(__version__)

_REEXPORTED = ("config", "fileio", "logging", "registry", "utils")


def _public_names(module: Any) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    return list(names)


def __getattr__(name: str) -> Any:
    if name == "__all__":
        names = ["__version__", "version_info"]
        for sub in _REEXPORTED:
            names += _public_names(importlib.import_module(f"{__name__}.{sub}"))
        return list(dict.fromkeys(names))
    here = os.path.dirname(__file__)
    if os.path.isdir(os.path.join(here, name)) or os.path.isfile(os.path.join(here, f"{name}.py")):
        # `from piston import dist` probes the attribute before importing the submodule:
        # answer at once instead of importing the re-exported packages.
        raise AttributeError(f"module 'piston' has no attribute {name!r}")
    for sub in _REEXPORTED:
        module = importlib.import_module(f"{__name__}.{sub}")
        if name in _public_names(module):
            value = getattr(module, name)
            globals()[name] = value
            return value
    raise AttributeError(f"module 'piston' has no attribute {name!r}")
