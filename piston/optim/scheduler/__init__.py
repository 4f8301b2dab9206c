"""Parameter schedulers: lr, momentum and generic parameter families, one family per module."""

from __future__ import annotations

from piston.optim.scheduler.constant import ConstantLR, ConstantMomentum, ConstantParamScheduler
from piston.optim.scheduler.cosine_annealing import (
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineAnnealingParamScheduler,
)
from piston.optim.scheduler.cosine_restart import (
    CosineRestartLR,
    CosineRestartMomentum,
    CosineRestartParamScheduler,
)
from piston.optim.scheduler.exponential import (
    ExponentialLR,
    ExponentialMomentum,
    ExponentialParamScheduler,
)
from piston.optim.scheduler.linear import LinearLR, LinearMomentum, LinearParamScheduler
from piston.optim.scheduler.multi_step import (
    MultiStepLR,
    MultiStepMomentum,
    MultiStepParamScheduler,
)
from piston.optim.scheduler.one_cycle import OneCycleLR, OneCycleParamScheduler
from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    _ParamScheduler,
)
from piston.optim.scheduler.poly import PolyLR, PolyMomentum, PolyParamScheduler
from piston.optim.scheduler.reduce_on_plateau import (
    ReduceOnPlateauLR,
    ReduceOnPlateauMomentum,
    ReduceOnPlateauParamScheduler,
)
from piston.optim.scheduler.step import StepLR, StepMomentum, StepParamScheduler

__all__ = [
    "INF",
    "ConstantLR",
    "ConstantMomentum",
    "ConstantParamScheduler",
    "CosineAnnealingLR",
    "CosineAnnealingMomentum",
    "CosineAnnealingParamScheduler",
    "CosineRestartLR",
    "CosineRestartMomentum",
    "CosineRestartParamScheduler",
    "ExponentialLR",
    "ExponentialMomentum",
    "ExponentialParamScheduler",
    "LRSchedulerMixin",
    "LinearLR",
    "LinearMomentum",
    "LinearParamScheduler",
    "MomentumSchedulerMixin",
    "MultiStepLR",
    "MultiStepMomentum",
    "MultiStepParamScheduler",
    "OneCycleLR",
    "OneCycleParamScheduler",
    "PolyLR",
    "PolyMomentum",
    "PolyParamScheduler",
    "ReduceOnPlateauLR",
    "ReduceOnPlateauMomentum",
    "ReduceOnPlateauParamScheduler",
    "StepLR",
    "StepMomentum",
    "StepParamScheduler",
    "_ParamScheduler",
]
