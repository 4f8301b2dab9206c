"""Activation checkpointing for named sub-modules (``cfg.activation_checkpointing``).

Design note: the wrapped ``forward`` is a method bound to the module, and the original forward
is kept on the module as a bound method too, so ``copy.deepcopy`` (EMA/SWA averaged models,
``EMAHook``) gives the copy a forward that runs on the copy's own weights, not the source's.
"""

from __future__ import annotations

import types
from typing import Any

import torch.nn as nn
from torch.utils.checkpoint import checkpoint

__all__ = ["turn_on_activation_checkpointing"]

_ORIGINAL = "_piston_checkpointed_forward"


def _checkpointed_forward(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
    forward = getattr(self, _ORIGINAL)
    if not self.training:  # nothing is kept for backward in eval: run as is
        return forward(*args, **kwargs)
    return checkpoint(forward, *args, use_reentrant=False, **kwargs)


def _wrap_forward(module: nn.Module) -> None:
    if _ORIGINAL in module.__dict__:  # already wrapped: recomputing twice gains nothing
        return
    object.__setattr__(module, _ORIGINAL, module.forward)
    module.forward = types.MethodType(_checkpointed_forward, module)  # type: ignore[method-assign]


def turn_on_activation_checkpointing(model: nn.Module, modules: str | list[str]) -> None:
    """Recompute the activations of ``modules`` (dotted names) in the backward pass.

    In training mode each named sub-module's forward runs under
    ``torch.utils.checkpoint.checkpoint`` (non-reentrant), so its intermediate activations are
    freed after the forward and recomputed during backward; in eval mode it runs unchanged.

    Args:
        model: The model holding the sub-modules.
        modules: A dotted sub-module name (``'backbone.layer1'``) or a list of them.

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
