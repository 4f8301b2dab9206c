"""Utilities that need PyTorch (imported explicitly: ``piston.utils`` itself stays torch-free)."""

from __future__ import annotations

from .collect_env import collect_env
from .hub import load_url
from .misc import (
    has_batch_norm,
    is_jit_tracing,
    is_norm,
    mmcv_full_available,
    tensor2imgs,
    torch_meshgrid,
)
from .seed import set_random_seed
from .setup_env import set_multi_processing
from .time_counter import TimeCounter
from .torch_version import TORCH_VERSION

__all__ = [
    "TORCH_VERSION",
    "TimeCounter",
    "collect_env",
    "has_batch_norm",
    "is_jit_tracing",
    "is_norm",
    "load_url",
    "mmcv_full_available",
    "set_multi_processing",
    "set_random_seed",
    "tensor2imgs",
    "torch_meshgrid",
]
