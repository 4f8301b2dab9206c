"""Model and tensor helpers: norm-layer detection, tensor-to-image, meshgrid, tracing."""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "has_batch_norm",
    "is_jit_tracing",
    "is_norm",
    "mmcv_full_available",
    "tensor2imgs",
    "torch_meshgrid",
]

_NORM_TYPES = (
    nn.modules.batchnorm._BatchNorm,
    nn.modules.instancenorm._InstanceNorm,
    nn.GroupNorm,
    nn.LayerNorm,
)


def is_norm(layer: nn.Module, exclude: type | tuple[type, ...] | None = None) -> bool:
    """Whether ``layer`` is a batch/instance/group/layer norm (and not of ``exclude`` types)."""
    if exclude is not None:
        if not isinstance(exclude, tuple):
            exclude = (exclude,)
        if not all(isinstance(item, type) for item in exclude):
            raise TypeError(
                f'"exclude" must be either None or type or a tuple of types, but got '
                f"{type(exclude)}: {exclude}"
            )
        if isinstance(layer, exclude):
            return False
    return isinstance(layer, _NORM_TYPES)


def has_batch_norm(model: nn.Module) -> bool:
    """Whether ``model`` contains a batch-norm layer (``_BatchNorm`` subclass)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def tensor2imgs(
    tensor: torch.Tensor,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    to_bgr: bool = True,
) -> list[np.ndarray]:
    """Turn a normalised ``(N, C, H, W)`` batch into a list of uint8 ``(H, W, C)`` images.

    Args:
        tensor: Batch with C equal to 1 or 3.
        mean: Per-channel mean used for normalisation (default 0).
        std: Per-channel std used for normalisation (default 1).
        to_bgr: Reverse the channel order of 3-channel images.
    """
    if torch.is_tensor(tensor) is False or tensor.ndim != 4:
        raise AssertionError(f"tensor must be a 4-D tensor (N, C, H, W), got {type(tensor)}")
    channels = tensor.size(1)
    if channels not in (1, 3):
        raise AssertionError(f"tensor must have 1 or 3 channels, got {channels}")
    mean = (0,) * channels if mean is None else mean
    std = (1,) * channels if std is None else std
    if len(mean) != channels or len(std) != channels:
        raise AssertionError(f"mean and std must have {channels} entries, got {mean} and {std}")
    mean_arr = np.array(mean, dtype=np.float32).reshape(1, 1, -1)
    std_arr = np.array(std, dtype=np.float32).reshape(1, 1, -1)
    images = tensor.detach().cpu().float().numpy().transpose(0, 2, 3, 1)
    out = []
    for image in images:
        image = image * std_arr + mean_arr
        if to_bgr and channels == 3:
            image = image[..., ::-1]
        out.append(np.ascontiguousarray(image.astype(np.uint8)))
    return out


def mmcv_full_available() -> bool:
    """Whether mmcv with compiled ops (``mmcv._ext``) is importable."""
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def torch_meshgrid(*tensors: Any) -> tuple[torch.Tensor, ...]:
    """``torch.meshgrid`` with ``indexing='ij'`` (no deprecation warning)."""
    return torch.meshgrid(*tensors, indexing="ij")


def is_jit_tracing() -> bool:
    """Whether the code runs under ``torch.jit.trace``."""
    return bool(torch.jit.is_tracing())
