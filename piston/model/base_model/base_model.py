"""BaseModel: the model interface the loops drive (``train_step``/``val_step``/``test_step``).

Design note: ``train_step`` is the heart of the per-iteration path (DESIGN.md §3). It
preprocesses, runs the forward pass inside ``optim_wrapper.optim_context``, sums the losses and
hands the total to ``optim_wrapper.update_params``. The returned log variables are *detached
tensors on the model's device*: turning them into Python numbers would block the host until the
device catches up, so that is left to the message hub, which does it in one batched transfer
when a logger reads them.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn

from piston.registry import MODELS

from ..base_module import BaseModule
from .data_preprocessor import BaseDataPreprocessor

__all__ = ["BaseModel"]


class BaseModel(BaseModule):
    """Base class of models driven by the Runner.

    Subclasses implement ``forward(..., mode)`` with ``mode`` in ``'loss'`` (dict of losses),
    ``'predict'`` (predictions, any sequence) and ``'tensor'`` (raw outputs).

    Args:
        data_preprocessor: Preprocessor module or its config; ``None`` uses
            ``BaseDataPreprocessor`` (moves the batch to the model's device).
        init_cfg: Weight initialisation config, see ``BaseModule``.
    """

    def __init__(
        self,
        data_preprocessor: dict | nn.Module | None = None,
        init_cfg: dict | list[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        if data_preprocessor is None:
            data_preprocessor = {"type": "BaseDataPreprocessor"}
        if isinstance(data_preprocessor, nn.Module):
            self.data_preprocessor = data_preprocessor
        elif isinstance(data_preprocessor, dict):
            self.data_preprocessor = MODELS.build(data_preprocessor)
        else:
            raise TypeError(
                "data_preprocessor should be a `dict` or `nn.Module` instance, "
                f"but got {type(data_preprocessor)}"
            )

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, torch.Tensor]:
        """Preprocess, forward in ``'loss'`` mode, parse losses and update the parameters.

        Args:
            data: A batch from the dataloader.
            optim_wrapper: The ``OptimWrapper`` that runs backward and the optimizer step.

        Returns:
            Log variables (``'loss'`` first), detached tensors: no host-device sync happens.
        """
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode="loss")
        parsed_losses, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(parsed_losses)
        return log_vars

    def val_step(self, data: dict | tuple | list) -> list:
        """Preprocess and forward in ``'predict'`` mode."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def test_step(self, data: dict | tuple | list) -> list:
        """Preprocess and forward in ``'predict'`` mode."""
        data = self.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def parse_losses(
        self, losses: dict[str, torch.Tensor | list[torch.Tensor]]
    ) -> tuple[torch.Tensor, OrderedDict]:
        """Reduce the forward's loss dict to the total loss and log variables.

        Each tensor is averaged, each list of tensors becomes the sum of their means, and the
        total is the sum of the entries whose key contains ``'loss'``.

        Returns:
            ``(loss, log_vars)``: the total loss (with graph) and an OrderedDict with ``'loss'``
            first, then every item, all detached tensors.
        """
        # Per-iteration path: a 0-dim loss is its own mean, and the total starts from the first
        # loss rather than from ``0``; both give bit-identical values and gradients while
        # adding no autograd nodes (``mean``/``0 +`` each cost a forward op and a backward node).
        # One pass: the total is summed left to right in key order, as before.
        log_vars = []
        loss: Any = None
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                value = value if value.dim() == 0 else value.mean()
            elif isinstance(value, (list, tuple)) and all(
                isinstance(item, torch.Tensor) for item in value
            ):
                value = sum(item.mean() for item in value)
            else:
                raise TypeError(
                    f"{name} is not a tensor or list of tensors, but got {type(value)}; "
                    "forward(mode='loss') must return a dict of tensors."
                )
            log_vars.append((name, value))
            if "loss" in name:
                loss = value if loss is None else loss + value
        if loss is None:
            loss = 0
        # ``'loss'`` first; an item named ``'loss'`` keeps that place and sets the value.
        total = loss.detach() if isinstance(loss, torch.Tensor) else loss
        out = OrderedDict(loss=total)
        for name, value in log_vars:
            if value is loss:  # a single loss is the total: one detached tensor for both
                out[name] = total
            else:
                out[name] = value.detach() if isinstance(value, torch.Tensor) else value
        return loss, out

    def _run_forward(self, data: dict | tuple | list, mode: str) -> Any:
        """Call ``self(**data, mode=mode)`` for a dict, ``self(*data, mode=mode)`` for a sequence."""
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(
            f"Output of `data_preprocessor` should be list, tuple or dict, but got {type(data)}"
        )

    @abstractmethod
    def forward(
        self, inputs: torch.Tensor, data_samples: list | None = None, mode: str = "tensor"
    ) -> Any:
        """Forward in ``'loss'``, ``'predict'`` or ``'tensor'`` mode."""

    # Moving the model also moves where the preprocessor sends batches.
    def to(self, *args: Any, **kwargs: Any) -> nn.Module:
        device = torch._C._nn._parse_to(*args, **kwargs)[0]
        if device is not None:
            self._set_device(torch.device(device))
        return super().to(*args, **kwargs)

    def cuda(self, device: int | str | torch.device | None = None) -> nn.Module:
        if device is None or isinstance(device, int):
            device = torch.device("cuda", torch.cuda.current_device() if device is None else device)
        self._set_device(torch.device(device))
        return super().cuda(device)

    def musa(self, device: int | str | torch.device | None = None) -> nn.Module:
        return self._move_to("musa", device)

    def npu(self, device: int | str | torch.device | None = None) -> nn.Module:
        return self._move_to("npu", device)

    def mlu(self, device: int | str | torch.device | None = None) -> nn.Module:
        return self._move_to("mlu", device)

    def cpu(self, *args: Any, **kwargs: Any) -> nn.Module:
        self._set_device(torch.device("cpu"))
        return super().cpu()

    def _move_to(self, kind: str, device: int | str | torch.device | None) -> nn.Module:
        if device is None or isinstance(device, int):
            device = torch.device(kind, device)
        device = torch.device(device)
        self._set_device(device)
        return self._apply(lambda t: t.to(device))

    def _set_device(self, device: torch.device) -> None:
        """Record ``device`` on every ``BaseDataPreprocessor`` inside the model."""

        def apply_fn(module: nn.Module) -> None:
            if isinstance(module, BaseDataPreprocessor):
                module._device = device

        self.apply(apply_fn)
