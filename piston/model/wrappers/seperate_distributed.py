"""MMSeparateDistributedDataParallel: wrap each trainable child separately (GANs).

Design note: the outer object subclasses DDP only so ``isinstance`` checks and the registry see
a DDP, but it skips DDP's constructor: each direct child with trainable parameters becomes its
own ``MMDistributedDataParallel`` (so each optimizer wrapper syncs only its part), the others
are just moved to the device. ``train_step`` is left to the wrapped model, which decides how to
use the sub-wrappers with an ``OptimWrapperDict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from piston.registry import MODEL_WRAPPERS

from .distributed import MMDistributedDataParallel

__all__ = ["MMSeparateDistributedDataParallel"]


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(DistributedDataParallel):
    """Wrap every direct child that has trainable parameters in ``MMDistributedDataParallel``.

    Args:
        module: Model whose children are wrapped.
        broadcast_buffers: Passed to each child's DDP.
        find_unused_parameters: Passed to each child's DDP.
        **kwargs: Other DDP arguments (``device_ids``...).
    """

    def __init__(
        self,
        module: nn.Module,
        broadcast_buffers: bool = False,
        find_unused_parameters: bool = False,
        **kwargs: Any,
    ) -> None:
        from piston.device import get_device

        nn.Module.__init__(self)  # deliberately not DDP.__init__: children are wrapped instead
        self.module = module
        device = get_device()
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            child = child.to(device)
            params = list(child.parameters())
            if any(p.requires_grad for p in params):
                child = MMDistributedDataParallel(
                    module=child,
                    broadcast_buffers=broadcast_buffers,
                    find_unused_parameters=find_unused_parameters,
                    **kwargs,
                )
            module._modules[name] = child

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict:
        """Delegate to the wrapped model (it drives its sub-wrappers itself)."""
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: dict | tuple | list) -> list:
        """Delegate to the wrapped model's ``val_step``."""
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> list:
        """Delegate to the wrapped model's ``test_step``."""
        return self.module.test_step(data)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Skip gradient synchronisation in every wrapped child."""
        with ExitStack() as stack:
            for child in self.module._modules.values():
                if isinstance(child, MMDistributedDataParallel):
                    stack.enter_context(child.no_sync())
            yield

    def train(self, mode: bool = True) -> MMSeparateDistributedDataParallel:
        """Set training mode on the wrapped model."""
        self.training = mode
        self.module.train(mode)
        return self

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Call the wrapped model directly."""
        return self.module(*args, **kwargs)
