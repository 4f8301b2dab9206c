"""The installed PyTorch version string."""

from __future__ import annotations

import torch

__all__ = ["TORCH_VERSION"]

TORCH_VERSION: str = torch.__version__
