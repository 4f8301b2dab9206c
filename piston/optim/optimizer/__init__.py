"""Optimizer wrappers, the default constructor and optimizer registration.

Importing this package registers every ``torch.optim`` optimizer (and installed third-party
ones, lazily) in ``OPTIMIZERS``.
"""

from __future__ import annotations

from typing import Any

from piston.optim.optimizer.amp_optimizer_wrapper import AmpOptimWrapper
from piston.optim.optimizer.apex_optimizer_wrapper import ApexOptimWrapper
from piston.optim.optimizer.base import BaseOptimWrapper
from piston.optim.optimizer.builder import (
    build_optim_wrapper,
    register_optional_optimizers,
    register_torch_optimizers,
)
from piston.optim.optimizer.default_constructor import DefaultOptimWrapperConstructor
from piston.optim.optimizer.optimizer_wrapper import OptimWrapper
from piston.optim.optimizer.optimizer_wrapper_dict import OptimWrapperDict
from piston.optim.optimizer.zero_optimizer import (
    get_zero_redundancy_optimizer,
    register_zero_redundancy_optimizer,
)

TORCH_OPTIMIZERS = register_torch_optimizers()
register_zero_redundancy_optimizer()
register_optional_optimizers()

__all__ = [
    "TORCH_OPTIMIZERS",
    "AmpOptimWrapper",
    "ApexOptimWrapper",
    "BaseOptimWrapper",
    "DefaultOptimWrapperConstructor",
    "OptimWrapper",
    "OptimWrapperDict",
    "ZeroRedundancyOptimizer",
    "build_optim_wrapper",
]


def __getattr__(name: str) -> Any:
    # ZeroRedundancyOptimizer is created on first access: torch.distributed.optim is slow to import.
    if name == "ZeroRedundancyOptimizer":
        return get_zero_redundancy_optimizer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
