"""Accelerator probes and memory statistics.

Vendor extensions (``torch_npu``, ``torch_mlu``, ``torch_dipu``, ``torch_musa``) are imported
only when installed; any failure while probing counts as "not available". The device type is
decided once, at import.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

__all__ = [
    "get_device",
    "get_max_cuda_memory",
    "get_max_musa_memory",
    "is_cuda_available",
    "is_dipu_available",
    "is_mlu_available",
    "is_mps_available",
    "is_musa_available",
    "is_npu_available",
    "is_npu_support_full_precision",
]


def _try_import(module: str) -> bool:
    try:
        if importlib.util.find_spec(module) is None:
            return False
        importlib.import_module(module)
    except Exception:
        return False
    return True


def _probe(fn: Any) -> bool:
    try:
        return bool(fn())
    except Exception:
        return False


def _npu() -> bool:
    return _try_import("torch_npu") and hasattr(torch, "npu") and torch.npu.is_available()


def _mlu() -> bool:
    if not hasattr(torch, "is_mlu_available"):
        _try_import("torch_mlu")
    return hasattr(torch, "is_mlu_available") and torch.is_mlu_available()


def _mps() -> bool:
    return hasattr(torch.backends, "mps") and torch.backends.mps.is_available()


def _dipu() -> bool:
    return _try_import("torch_dipu")


def _musa() -> bool:
    if not hasattr(torch, "musa"):
        _try_import("torch_musa")
    return hasattr(torch, "musa") and torch.musa.is_available()


IS_CUDA_AVAILABLE = _probe(torch.cuda.is_available)
IS_NPU_AVAILABLE = _probe(_npu)
IS_MLU_AVAILABLE = _probe(_mlu)
IS_MPS_AVAILABLE = _probe(_mps)
IS_DIPU_AVAILABLE = _probe(_dipu)
IS_MUSA_AVAILABLE = _probe(_musa)


def is_cuda_available() -> bool:
    """Whether CUDA is available."""
    return IS_CUDA_AVAILABLE


def is_npu_available() -> bool:
    """Whether an Ascend NPU (``torch_npu``) is available."""
    return IS_NPU_AVAILABLE


def is_mlu_available() -> bool:
    """Whether a Cambricon MLU is available."""
    return IS_MLU_AVAILABLE


def is_mps_available() -> bool:
    """Whether Apple's Metal Performance Shaders backend is available."""
    return IS_MPS_AVAILABLE


def is_dipu_available() -> bool:
    """Whether DIPU (``torch_dipu``) is available."""
    return IS_DIPU_AVAILABLE


def is_musa_available() -> bool:
    """Whether a Moore Threads MUSA device is available."""
    return IS_MUSA_AVAILABLE


def is_npu_support_full_precision() -> bool:
    """Whether the NPU SoC supports full-precision training (SoC version >= 220)."""
    if not IS_NPU_AVAILABLE:
        return False
    try:
        import torch_npu.npu.utils as npu_utils

        return npu_utils.get_soc_version() >= 220
    except Exception:
        return False


def _decide_device() -> str:
    for device, available in (
        ("npu", IS_NPU_AVAILABLE),
        ("cuda", IS_CUDA_AVAILABLE),
        ("mlu", IS_MLU_AVAILABLE),
        ("mps", IS_MPS_AVAILABLE),
        ("dipu", IS_DIPU_AVAILABLE),
        ("musa", IS_MUSA_AVAILABLE),
    ):
        if available:
            return device
    return "cpu"


DEVICE = _decide_device()


def get_device() -> str:
    """The first available device type of ``npu``, ``cuda``, ``mlu``, ``mps``, ``dipu``,
    ``musa``, else ``cpu``."""
    return DEVICE


def get_max_cuda_memory(device: torch.device | int | str | None = None) -> int:
    """Peak CUDA memory allocated on ``device`` in MB (``bytes // 2**20``), then reset the peak.

    Args:
        device: The device; default the current CUDA device.
    """
    mem = torch.cuda.max_memory_allocated(device=device)
    torch.cuda.reset_peak_memory_stats(device)
    return int(mem) // (1024 * 1024)


def get_max_musa_memory(device: torch.device | int | str | None = None) -> int:
    """Peak MUSA memory allocated on ``device`` in MB, then reset the peak."""
    mem = torch.musa.max_memory_allocated(device=device)
    torch.musa.reset_peak_memory_stats(device)
    return int(mem) // (1024 * 1024)
