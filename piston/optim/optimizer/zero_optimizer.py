"""ZeroRedundancyOptimizer: torch's ZeRO-1 optimizer with the inner optimizer named by a string.

Design note: ``import torch.distributed.optim`` costs about half a second, so the class is
created on first use. Until then ``OPTIMIZERS`` holds a small factory under the same name that
creates the class, replaces itself in the registry and builds the optimizer; ``from
piston.optim import ZeroRedundancyOptimizer`` goes through :func:`get_zero_redundancy_optimizer`
(module ``__getattr__``).
"""

from __future__ import annotations

from typing import Any

import torch

from piston.registry import OPTIMIZERS

__all__ = ["get_zero_redundancy_optimizer"]

_ZERO_CLASS: type | None = None


def get_zero_redundancy_optimizer() -> type:
    """Return piston's ``ZeroRedundancyOptimizer`` class, creating (and registering) it once."""
    global _ZERO_CLASS
    if _ZERO_CLASS is not None:
        return _ZERO_CLASS
    from torch.distributed.optim import ZeroRedundancyOptimizer as _TorchZero

    class ZeroRedundancyOptimizer(_TorchZero):
        """Shards optimizer states across ranks (ZeRO stage 1).

        Args:
            params: Parameters or param groups.
            optimizer_type: Name of the inner optimizer in ``torch.optim`` (e.g. ``'AdamW'``).
            **kwargs: Passed to torch's ``ZeroRedundancyOptimizer`` and the inner optimizer.
        """

        def __init__(self, params: Any, optimizer_type: str, **kwargs: Any) -> None:
            optimizer_class = getattr(torch.optim, optimizer_type, None)
            if optimizer_class is None:
                raise ValueError(
                    f"optimizer_type={optimizer_type!r} is not an optimizer in torch.optim; "
                    "use a name such as 'SGD' or 'AdamW'."
                )
            super().__init__(params, optimizer_class, **kwargs)

        def state_dict(self) -> dict:
            """Consolidate the sharded state; the full state on rank 0, ``{}`` elsewhere."""
            from piston.dist import is_main_process

            self.consolidate_state_dict()
            return super().state_dict() if is_main_process() else {}

    ZeroRedundancyOptimizer.__module__ = "piston.optim"
    _ZERO_CLASS = ZeroRedundancyOptimizer
    OPTIMIZERS.register_module(name="ZeroRedundancyOptimizer", module=_ZERO_CLASS, force=True)
    return _ZERO_CLASS


def _build_zero_redundancy_optimizer(params: Any, optimizer_type: str, **kwargs: Any) -> Any:
    """Registry placeholder: create the class lazily, then build the optimizer."""
    return get_zero_redundancy_optimizer()(params, optimizer_type, **kwargs)


def register_zero_redundancy_optimizer() -> None:
    """Register the lazy placeholder under ``'ZeroRedundancyOptimizer'`` (idempotent)."""
    if "ZeroRedundancyOptimizer" not in OPTIMIZERS.module_dict:
        OPTIMIZERS.register_module(
            name="ZeroRedundancyOptimizer", module=_build_zero_redundancy_optimizer
        )


def __getattr__(name: str) -> Any:
    # ``from piston.optim.optimizer.zero_optimizer import ZeroRedundancyOptimizer`` (MMEngine's
    # module path) creates the class on first access.
    if name == "ZeroRedundancyOptimizer":
        return get_zero_redundancy_optimizer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
