"""Activation checkpointing for named sub-modules (``cfg.activation_checkpointing``)."""

from __future__ import annotations

from functools import wraps
from typing import Any

import torch.nn as nn
from torch.utils.checkpoint import checkpoint

__all__ = ["turn_on_activation_checkpointing"]


def _wrap_forward(module: nn.Module) -> None:
    forward = module.forward

    @wraps(forward)
    def checkpointed(*args: Any, **kwargs: Any) -> Any:
        if not module.training:
            return forward(*args, **kwargs)
        return checkpoint(forward, *args, use_reentrant=False, **kwargs)

    module.forward = checkpointed  # type: ignore[method-assign]


def turn_on_activation_checkpointing(model: nn.Module, modules: str | list[str]) -> None:
    """Recompute the activations of ``modules`` (dotted names) in the backward pass.

    Raises:
        KeyError: A name does not match any sub-module of ``model``.
    """
    names = [modules] if isinstance(modules, str) else list(modules)
    for name in names:
        try:
            submodule = model.get_submodule(name)
        except AttributeError:
            raise KeyError(
                f"activation_checkpointing: {name!r} is not a sub-module of "
                f"{type(model).__name__}; use dotted names such as 'backbone.layer1'."
            ) from None
        _wrap_forward(submodule)
