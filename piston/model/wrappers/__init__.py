"""Model wrappers registered in MODEL_WRAPPERS, and ``is_model_wrapper``.

``MMFullyShardedDataParallel`` is imported on first use: torch's FSDP package is expensive to
import and most runs never need it. Until then MODEL_WRAPPERS holds a placeholder under its
name that imports the real class when built.
"""

from __future__ import annotations

from typing import Any

from piston.registry import MODEL_WRAPPERS

from .distributed import MMDistributedDataParallel
from .seperate_distributed import MMSeparateDistributedDataParallel
from .utils import is_model_wrapper

__all__ = [
    "MMDistributedDataParallel",
    "MMFullyShardedDataParallel",
    "MMSeparateDistributedDataParallel",
    "is_model_wrapper",
]


def _fsdp_class() -> type:
    from .fully_sharded_distributed import MMFullyShardedDataParallel

    return MMFullyShardedDataParallel


class _LazyMMFullyShardedDataParallel:
    """Placeholder in MODEL_WRAPPERS: building it imports and builds the real FSDP wrapper."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return _fsdp_class()(*args, **kwargs)


if "MMFullyShardedDataParallel" not in MODEL_WRAPPERS.module_dict:
    MODEL_WRAPPERS.register_module(
        name="MMFullyShardedDataParallel", module=_LazyMMFullyShardedDataParallel
    )


def __getattr__(name: str) -> Any:
    if name == "MMFullyShardedDataParallel":
        return _fsdp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
