"""MMEngine's module path for the backends (``piston.visualization.vis_backend.X``)."""

from __future__ import annotations

from piston.visualization._base import BaseVisBackend, force_init_env
from piston.visualization._local import LocalVisBackend
from piston.visualization._mlflow import MLflowVisBackend
from piston.visualization._others import (
    AimVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    NeptuneVisBackend,
)
from piston.visualization._tensorboard import TensorboardVisBackend
from piston.visualization._wandb import WandbVisBackend

__all__ = [
    "AimVisBackend",
    "BaseVisBackend",
    "ClearMLVisBackend",
    "DVCLiveVisBackend",
    "LocalVisBackend",
    "MLflowVisBackend",
    "NeptuneVisBackend",
    "TensorboardVisBackend",
    "WandbVisBackend",
    "force_init_env",
]
