"""TensorboardVisBackend: a ``SummaryWriter`` event file under ``save_dir``.

tensorboard is optional: it is imported in ``_init_env``, on the first write.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import torch

from piston.registry import VISBACKENDS
from piston.visualization._base import BaseVisBackend, force_init_env

__all__ = ["TensorboardVisBackend"]


@VISBACKENDS.register_module()
class TensorboardVisBackend(BaseVisBackend):
    """Write scalars, images and the config text to a TensorBoard event file.

    Args:
        save_dir: Directory of the event file.
    """

    def __init__(self, save_dir: str) -> None:
        super().__init__(save_dir)

    def _init_env(self) -> None:
        os.makedirs(self._save_dir, exist_ok=True)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ImportError(
                'TensorboardVisBackend needs tensorboard: run "pip install tensorboard".'
            ) from exc
        self._tensorboard = SummaryWriter(self._save_dir)

    @property
    @force_init_env
    def experiment(self) -> Any:
        """The ``SummaryWriter``."""
        return self._tensorboard

    @force_init_env
    def add_config(self, config: Any, **kwargs: Any) -> None:
        """Record the config's ``pretty_text`` as the text ``config``."""
        self._tensorboard.add_text("config", config.pretty_text)

    @force_init_env
    def add_image(self, name: str, image: np.ndarray, step: int = 0, **kwargs: Any) -> None:
        """Record an RGB uint8 image (HWC)."""
        self._tensorboard.add_image(name, image, step, dataformats="HWC")

    @force_init_env
    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs: Any) -> None:
        """Record a number, tensor or numpy value; other types are warned about and skipped."""
        if isinstance(value, (int, float, torch.Tensor, np.ndarray, np.number)):
            self._tensorboard.add_scalar(name, value, step)
        else:
            warnings.warn(
                f"Got {type(value)}, but numpy array, torch tensor, int or float are expected. "
                f"Skip it: {name}"
            )

    @force_init_env
    def add_scalars(
        self, scalar_dict: dict, step: int = 0, file_path: str | None = None, **kwargs: Any
    ) -> None:
        """Record every item of ``scalar_dict`` at ``step`` (``file_path`` is unused)."""
        if not isinstance(scalar_dict, dict):
            raise AssertionError(f"scalar_dict must be a dict, but got {type(scalar_dict)}.")
        if "step" in scalar_dict:
            raise AssertionError("Please set it directly with the `step` argument.")
        for key, value in scalar_dict.items():
            self.add_scalar(key, value, step)

    def close(self) -> None:
        """Close the writer (if it was created)."""
        if hasattr(self, "_tensorboard"):
            self._tensorboard.close()
