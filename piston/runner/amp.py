"""``autocast``: one context manager for mixed precision on every device piston runs on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import torch

__all__ = ["autocast"]

_ACCELERATORS = ("cuda", "mlu", "npu", "musa")


@contextmanager
def autocast(
    device_type: str | None = None,
    dtype: torch.dtype | None = None,
    enabled: bool = True,
    cache_enabled: bool | None = None,
) -> Iterator[None]:
    """Wrap :class:`torch.autocast` with piston's device defaults.

    Args:
        device_type: ``'cuda'``, ``'cpu'``, ``'npu'``, ``'mlu'`` or ``'musa'``; defaults to
            ``piston.device.get_device()``.
        dtype: Autocast dtype. CUDA uses torch's default (float16) when None; CPU needs
            bfloat16 (the default there).
        enabled: ``False`` runs the body in full precision.
        cache_enabled: Forwarded to ``torch.autocast`` when given.

    Raises:
        RuntimeError: bfloat16 was asked for on a CUDA device that does not support it.
        ValueError: autocast was enabled on a device that has no autocast support.
    """
    if device_type is None:
        from piston.device import get_device

        device_type = get_device()
    kwargs: dict = {}
    if cache_enabled is not None:
        kwargs["cache_enabled"] = cache_enabled
    if device_type == "cuda":
        if dtype == torch.bfloat16 and enabled and not torch.cuda.is_bf16_supported():
            raise RuntimeError(
                "Current CUDA device does not support bfloat16. Please switch dtype to float16."
            )
        if dtype is None:
            dtype = torch.get_autocast_dtype("cuda")
        with torch.autocast(device_type="cuda", dtype=dtype, enabled=enabled, **kwargs):
            yield
    elif device_type == "cpu":
        if dtype is None:
            dtype = torch.bfloat16
        if enabled and dtype != torch.bfloat16:
            raise ValueError(
                f"In CPU autocast, only support `torch.bfloat16` dtype, but got dtype={dtype}. "
                "Pass dtype=torch.bfloat16 or enabled=False."
            )
        with torch.autocast(device_type="cpu", dtype=dtype, enabled=enabled, **kwargs):
            yield
    elif device_type in _ACCELERATORS[1:]:
        with torch.autocast(device_type=device_type, dtype=dtype, enabled=enabled, **kwargs):
            yield
    else:
        if enabled:
            raise ValueError(
                f"User specified autocast device_type must be 'cuda', 'cpu', 'npu', 'mlu' or "
                f"'musa', but got {device_type!r}. Pass enabled=False to run without autocast."
            )
        with nullcontext():
            yield
