"""AmpOptimWrapper: mixed-precision training with autocast and a GradScaler.

Design note: the device and the autocast dtype are resolved once, in ``__init__``, and a dtype
the device cannot autocast to (float16 on a CPU, for instance) is refused there with a clear
message rather than silently running in full precision. ``optim_context`` then only enters
piston's ``autocast`` with the stored settings.

bfloat16 has float32's exponent range, so it needs no loss scaling: with ``dtype=bfloat16`` and
``loss_scale='dynamic'`` (or ``loss_scale=None`` with any dtype) there is no active GradScaler.
A dynamic GradScaler reads its found-inf flag with ``.item()`` on every step, i.e. one
host-device sync per iteration (DESIGN.md §3); without it ``update_params`` is backward plus
``optimizer.step()``. ``loss_scaler`` is then a disabled ``GradScaler`` (API and checkpoint
compatibility: its state is ``{}``).
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
        loss_scale: ``'dynamic'`` (a default ``GradScaler``; none for bfloat16, which needs
            no scaling), a number (static scale: the scaler starts at it and is reset to it
            after every step), a dict of ``GradScaler`` keyword arguments, or ``None`` (no
            scaling).
        dtype: Autocast dtype, a ``torch.dtype`` or one of ``'float16'``, ``'bfloat16'``,
            ``'float32'``, ``'float64'``. ``None`` uses the device's default (float16 on CUDA).
            Without an accelerator ``None`` raises AssertionError (as the spec says);
            ``dtype='bfloat16'`` explicitly gives bf16 autocast on the CPU.
        use_fsdp: Use FSDP's ``ShardedGradScaler``.
        **kwargs: Passed to :class:`OptimWrapper` (``optimizer``, ``accumulative_counts``,
            ``clip_grad``).

    Raises:
        ValueError: The device cannot autocast to ``dtype`` (e.g. float16 on a CPU).
    """

    valid_dtypes = ("float16", "bfloat16", "float32", "float64")

    def __init__(
        self,
        loss_scale: str | float | dict | None = "dynamic",
        dtype: str | torch.dtype | None = None,
        use_fsdp: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.device = _resolve_device()
        self.cast_dtype = self._resolve_dtype(dtype)
        self._scale_update_param: float | None = None
        # bf16 needs no scaling, and a dynamic scaler costs a device sync per step.
        self._use_scaler = loss_scale is not None and not (
            loss_scale == "dynamic" and self.cast_dtype == torch.bfloat16
        )
        if loss_scale is None or (isinstance(loss_scale, str) and loss_scale == "dynamic"):
            scaler_kwargs: dict = {}
        elif isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool):
            self._scale_update_param = float(loss_scale)
            scaler_kwargs = {"init_scale": float(loss_scale)}
        elif isinstance(loss_scale, dict):
            scaler_kwargs = dict(loss_scale)
        else:
            raise TypeError(
                f'loss_scale must be of type float, dict, "dynamic" or None, but got '
                f"{loss_scale!r}."
            )
        if self._use_scaler:
            self.loss_scaler = _make_scaler(self.device, use_fsdp, scaler_kwargs)
        else:
            self.loss_scaler = torch.amp.GradScaler(self.device, enabled=False)
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
            if dtype is None:  # the spec: an accelerator is required
                raise OptimArgumentError(
                    "AmpOptimWrapper requires an accelerator (CUDA, NPU, MLU or MUSA), but none "
                    "is available. To autocast on the CPU, ask for it explicitly with "
                    "dtype='bfloat16' (CPU mixed precision supports only bfloat16), or use "
                    "OptimWrapper."
                )
            if dtype != torch.bfloat16:
                raise OptimArgumentError(
                    f"AmpOptimWrapper got dtype={dtype} on device 'cpu', but CPU mixed precision "
                    "only supports torch.bfloat16. Use dtype='bfloat16', or train on a GPU for "
                    "float16."
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
        if not self._use_scaler:
            loss.backward(**kwargs)
            self._inner_count += 1
            return
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs: Any) -> None:
        """Unscale and clip (if configured), step through the scaler and update the scale."""
        if not self._use_scaler:
            if self.clip_grad_kwargs:
                self._clip_grad()
            self.optimizer.step(**kwargs)
            return
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
        scaler_state = state_dict.pop("loss_scaler", None)
        # A run without a scaler saves ``{}``; an enabled scaler keeps its state then.
        if scaler_state and self._use_scaler:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """The parent context (DDP ``no_sync``) plus autocast to ``cast_dtype``."""
        with (
            super().optim_context(model),
            self._autocast(device_type=self.device, dtype=self.cast_dtype),
        ):
            yield
