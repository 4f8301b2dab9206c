"""MMEngine's module path for the learning-rate schedulers (``...scheduler.lr_scheduler``).

Downstream code (e.g. mmdet's quadratic warm-up) imports ``LRSchedulerMixin`` and the ``*LR``
classes from this path; piston defines them per family, so this module only re-exports them.
"""

from __future__ import annotations

from piston.optim.scheduler.constant import ConstantLR
from piston.optim.scheduler.cosine_annealing import CosineAnnealingLR
from piston.optim.scheduler.cosine_restart import CosineRestartLR
from piston.optim.scheduler.exponential import ExponentialLR
from piston.optim.scheduler.linear import LinearLR
from piston.optim.scheduler.multi_step import MultiStepLR
from piston.optim.scheduler.one_cycle import OneCycleLR
from piston.optim.scheduler.param_scheduler import LRSchedulerMixin
from piston.optim.scheduler.poly import PolyLR
from piston.optim.scheduler.reduce_on_plateau import ReduceOnPlateauLR
from piston.optim.scheduler.step import StepLR

__all__ = [
    "ConstantLR",
    "CosineAnnealingLR",
    "CosineRestartLR",
    "ExponentialLR",
    "LRSchedulerMixin",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PolyLR",
    "ReduceOnPlateauLR",
    "StepLR",
]
