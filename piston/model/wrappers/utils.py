"""``is_model_wrapper``: is a module one of the registered model wrappers?"""

from __future__ import annotations

import torch.nn as nn

from piston.registry import MODEL_WRAPPERS, Registry

__all__ = ["is_model_wrapper"]


def is_model_wrapper(model: nn.Module, registry: Registry = MODEL_WRAPPERS) -> bool:
    """Whether ``model`` is an instance of a class in ``registry`` or any of its children.

    Downstream registries (e.g. ``mmdet``'s MODEL_WRAPPERS) count, so wrappers registered there
    are recognised too.
    """
    wrappers = tuple(obj for obj in registry.module_dict.values() if isinstance(obj, type))
    if wrappers and isinstance(model, wrappers):
        return True
    return any(is_model_wrapper(model, child) for child in registry.children.values())
