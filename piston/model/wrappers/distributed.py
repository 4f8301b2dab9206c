"""MMDistributedDataParallel: torch DDP plus the ``train_step``/``val_step``/``test_step`` API.

Design note: ``train_step`` runs the forward through the DDP wrapper itself (so gradient
all-reduce hooks fire) but uses the wrapped model's preprocessor and ``parse_losses``; like
``BaseModel.train_step`` it returns detached tensors and never synchronises with the device.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.parallel import DataParallel, DistributedDataParallel

from piston.registry import MODEL_WRAPPERS

from ..utils import detect_anomalous_params

__all__ = ["MMDistributedDataParallel"]

MODEL_WRAPPERS.register_module(module=DistributedDataParallel)
MODEL_WRAPPERS.register_module(module=DataParallel)


@MODEL_WRAPPERS.register_module()
class MMDistributedDataParallel(DistributedDataParallel):
    """``DistributedDataParallel`` that the Runner's loops can drive.

    Args:
        module: Model to wrap (usually a ``BaseModel``).
        detect_anomalous_params: After each update, log every trainable parameter that did not
            take part in the loss (slow; for debugging ``find_unused_parameters`` errors).
        **kwargs: Passed to ``DistributedDataParallel`` (``device_ids``, ``broadcast_buffers``,
            ``find_unused_parameters``...).
    """

    def __init__(
        self, module: torch.nn.Module, detect_anomalous_params: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, torch.Tensor]:
        """Like ``BaseModel.train_step``, with the forward pass going through DDP."""
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode="loss")
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        if self.detect_anomalous_params:
            detect_anomalous_params(parsed_loss, model=self)
        return log_vars

    def val_step(self, data: dict | tuple | list) -> list:
        """Delegate to the wrapped model's ``val_step``."""
        return self.module.val_step(data)

    def test_step(self, data: dict | tuple | list) -> list:
        """Delegate to the wrapped model's ``test_step``."""
        return self.module.test_step(data)

    def _run_forward(self, data: dict | tuple | list, mode: str) -> Any:
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(
            f"Output of `data_preprocessor` should be list, tuple or dict, but got {type(data)}"
        )
