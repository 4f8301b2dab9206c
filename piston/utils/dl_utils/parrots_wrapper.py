"""Names downstream code imports from ``dl_utils.parrots_wrapper`` (PyTorch only here)."""

from __future__ import annotations

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd, _ConvTransposeMixin
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.nn.modules.pooling import (
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _MaxPoolNd,
)
from torch.utils.data import DataLoader

from .torch_version import TORCH_VERSION

__all__ = [
    "TORCH_VERSION",
    "DataLoader",
    "SyncBatchNorm",
    "_AdaptiveAvgPoolNd",
    "_AdaptiveMaxPoolNd",
    "_AvgPoolNd",
    "_BatchNorm",
    "_ConvNd",
    "_ConvTransposeMixin",
    "_InstanceNorm",
    "_MaxPoolNd",
    "get_build_config",
    "is_rocm_pytorch",
]

SyncBatchNorm = torch.nn.SyncBatchNorm


def is_rocm_pytorch() -> bool:
    """Whether this PyTorch build targets ROCm (HIP)."""
    return getattr(torch.version, "hip", None) is not None


def get_build_config() -> str:
    """PyTorch's build configuration (``torch.__config__.show()``)."""
    return torch.__config__.show()
