"""AmpOptimWrapper: mixed-precision training with autocast and a GradScaler.

Design note: the device and the autocast dtype are resolved once, in ``__init__``, and a dtype
the device cannot autocast to (float16 on a CPU, for instance) is refused there with a clear
message rather than silently running in full precision. ``optim_context`` then only enters
piston's ``autocast`` with the stored settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from piston.optim._errors import OptimArgumentError
from piston.optim.optimizer.optimizer_wrapper import OptimWrapper
from piston.registry import OPTIM_WRAPPERS

__all__ = ["AmpOptimWrapper"]

_ACCELERATORS = ("cuda", "npu", "mlu", "musa")


def _resolve_device() -> str:
    from piston.device import get_device

    return get_device()


def _make_scaler(device: str, use_fsdp: bool, kwargs: dict) -> Any:
    if use_fsdp:
        from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler

        return ShardedGradScaler(device=device, **kwargs)
    return torch.amp.GradScaler(device, **kwargs)


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Optimizer wrapper for automatic mixed precision.

    Args:
        loss_scale: ``'dynamic'`` (a default ``GradScaler``), a number (static scale: the scaler
            starts at it and is reset to it after every step), or a dict of ``GradScaler``
            keyword arguments.
        dtype: Autocast dtype, a ``torch.dtype`` or one of ``'float16'``, ``'bfloat16'``,
            ``'float32'``, ``'float64'``. ``None`` uses the device's default (float16 on CUDA,
            bfloat16 on CPU).
        use_fsdp: Use FSDP's ``ShardedGradScaler``.
        **kwargs: Passed to :class:`OptimWrapper` (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).

    Raises:
        ValueError: The device cannot autocast to ``dtype`` (e.g. float16 on a CPU).
    """

    valid_dtypes = ("float16", "bfloat16", "float32", "float64")

    def __init__(
        self,
        loss_scale: str | float | dict = "dynamic",
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.device = _resolve_device()
        self.cast_dtype = self._resolve_dtype(dtype)
        self._scale_update_param: float | None = None
        if isinstance(loss_scale, str) and loss_scale == "dynamic":
            scaler_kwargs: dict = {}
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            scaler_kwargs = {"init_scale": float(loss_scale)}
        elif isinstance(loss_scale, dict):
            scaler_kwargs = dict(loss_scale)
        else:
            raise TypeError(
                f'loss_scale must be of type float, dict, or "dynamic", but got {loss_scale!r}.'
            )
        self.loss_scaler = _make_scaler(self.device, use_fsdp, scaler_kwargs)
        from piston.runner.amp import autocast

        self._autocast = autocast

    def _resolve_dtype(self, dtype: str | torch.dtype | None) -> torch.dtype | None:
        if isinstance(dtype, str):
            if dtype not in self.valid_dtypes:
                raise OptimArgumentError(
                    f"dtype should be any of {self.valid_dtypes}, got {dtype!r}."
                )
            dtype = getattr(torch, dtype)
        if dtype is not None and not isinstance(dtype, torch.dtype):
            raise TypeError(
                f"dtype should be None, a str in {self.valid_dtypes} or a torch.dtype, "
                f"but got {type(dtype)}."
            )
        if self.device == "cpu":
            if dtype is None:
                return torch.bfloat16
            if dtype != torch.bfloat16:
                raise OptimArgumentError(
                    f"AmpOptimWrapper got dtype={dtype} on device 'cpu', but CPU mixed precision "
                    "only supports torch.bfloat16. Use dtype='bfloat16' (or leave dtype=None), "
                    "or train on a GPU for float16."
                )
        elif self.device == "cuda" and dtype == torch.bfloat16:
            if not torch.cuda.is_bf16_supported():
                raise OptimArgumentError(
                    "AmpOptimWrapper got dtype=torch.bfloat16, but the current CUDA device does "
                    "not support bfloat16. Use dtype='float16'."
                )
        elif self.device not in _ACCELERATORS:
            raise OptimArgumentError(
                f"AmpOptimWrapper needs a CUDA, NPU, MLU or MUSA device, or the CPU with "
                f"bfloat16, but the current device is {self.device!r}. Use `OptimWrapper`."
            )
        return dtype

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Backpropagate the scaled loss and count the call."""
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        """Unscale and clip (if configured), step through the scaler and update the scale."""
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        """Optimizer state, plus ``loss_scaler`` (and ``base_param_settings`` when set)."""
        state_dict = super().state_dict()
        state_dict["loss_scaler"] = self.loss_scaler.state_dict()
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load optimizer and loss-scaler state (the input is not modified)."""
        state_dict = dict(state_dict)
        if "loss_scaler" in state_dict:
            self.loss_scaler.load_state_dict(state_dict.pop("loss_scaler"))
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The parent context (DDP ``no_sync``) plus autocast to ``cast_dtype``."""
        with (
            super().optim_context(model),
            self._autocast(device_type=self.device, dtype=self.cast_dtype),
        ):
            yield
