"""Visualization: the ``Visualizer`` and its backends (local files, TensorBoard, trackers).

Importing this package registers ``Visualizer`` in ``VISUALIZERS`` and the backends in
``VISBACKENDS``; tracker libraries are imported only when a backend first writes.
"""

from __future__ import annotations

from piston.visualization.vis_backend import (
    AimVisBackend,
    BaseVisBackend,
    ClearMLVisBackend,
    DVCLiveVisBackend,
    LocalVisBackend,
    MLflowVisBackend,
    NeptuneVisBackend,
    TensorboardVisBackend,
    WandbVisBackend,
    force_init_env,
)
from piston.visualization.visualizer import Visualizer

__all__ = [
    "AimVisBackend",
    "BaseVisBackend",
    "ClearMLVisBackend",
    "DVCLiveVisBackend",
    "LocalVisBackend",
    "MLflowVisBackend",
    "NeptuneVisBackend",
    "TensorboardVisBackend",
    "Visualizer",
    "WandbVisBackend",
    "force_init_env",
]
