"""MMEngine's module path for the momentum schedulers (``...scheduler.momentum_scheduler``).

Downstream code imports ``MomentumSchedulerMixin`` and the ``*Momentum`` classes from this
path; piston defines them per family, so this module only re-exports them.
"""

from __future__ import annotations

from piston.optim.scheduler.constant import ConstantMomentum
from piston.optim.scheduler.cosine_annealing import CosineAnnealingMomentum
from piston.optim.scheduler.cosine_restart import CosineRestartMomentum
from piston.optim.scheduler.exponential import ExponentialMomentum
from piston.optim.scheduler.linear import LinearMomentum
from piston.optim.scheduler.multi_step import MultiStepMomentum
from piston.optim.scheduler.param_scheduler import MomentumSchedulerMixin
from piston.optim.scheduler.poly import PolyMomentum
from piston.optim.scheduler.reduce_on_plateau import ReduceOnPlateauMomentum
from piston.optim.scheduler.step import StepMomentum

__all__ = [
    "ConstantMomentum",
    "CosineAnnealingMomentum",
    "CosineRestartMomentum",
    "ExponentialMomentum",
    "LinearMomentum",
    "MomentumSchedulerMixin",
    "MultiStepMomentum",
    "PolyMomentum",
    "ReduceOnPlateauMomentum",
    "StepMomentum",
]
