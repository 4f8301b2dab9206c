"""CosineAnnealing family: cosine from the base value to ``eta_min`` over ``T_max`` steps.

The update is the recursive (chainable) form, equal to the closed form
``eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2`` when nothing else changes the
value, and composing multiplicatively with other schedulers when something does.
"""

from __future__ import annotations

import math
from typing import Any

from piston.optim._errors import OptimArgumentError
from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
    check_iter_conversion,
    convert_begin_end,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["CosineAnnealingLR", "CosineAnnealingMomentum", "CosineAnnealingParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    """Cosine annealing from the base value to ``eta_min`` (or ``base * eta_min_ratio``).

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        T_max: Steps of a half period; defaults to ``end - begin``.
        eta_min: Minimum value. Give at most one of ``eta_min`` and ``eta_min_ratio``
            (neither means ``eta_min=0``).
        eta_min_ratio: Minimum value as a ratio of the base value.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        T_max: int | None = None,
        eta_min: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
        eta_min_ratio: float | None = None,
    ) -> None:
        if eta_min is None and eta_min_ratio is None:
            eta_min = 0.0
        if not ((eta_min is None) ^ (eta_min_ratio is None)):
            raise OptimArgumentError(
                f"Either `eta_min` or `eta_min_ratio` should be specified, not both "
                f"(got eta_min={eta_min}, eta_min_ratio={eta_min_ratio})."
            )
        self.T_max = T_max or (end - begin)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(  # type: ignore[override]
        cls,
        *args: Any,
        T_max: int | None = None,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> CosineAnnealingParamScheduler:
        """Epoch-based ``T_max``, ``begin`` and ``end`` converted to iterations."""
        check_iter_conversion(by_epoch, epoch_length)
        if T_max is not None:
            T_max = T_max * epoch_length  # type: ignore[operator]
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(*args, T_max=T_max, begin=begin, end=end, by_epoch=False, **kwargs)

    def _eta_min(self, base_value: float) -> float:
        if self.eta_min_ratio is None:
            return self.eta_min  # type: ignore[return-value]
        return base_value * self.eta_min_ratio

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        name, t, T = self.param_name, self.last_step, self.T_max
        if t == 0:
            return [group[name] for group in groups]
        if (t - 1 - T) % (2 * T) == 0:
            return [
                group[name] + (base - self._eta_min(base)) * (1 - math.cos(math.pi / T)) / 2
                for base, group in zip(self.base_values, groups)
            ]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [
            ratio * (group[name] - self._eta_min(base)) + self._eta_min(base)
            for base, group in zip(self.base_values, groups)
        ]


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(LRSchedulerMixin, CosineAnnealingParamScheduler):
    """:class:`CosineAnnealingParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(MomentumSchedulerMixin, CosineAnnealingParamScheduler):
    """:class:`CosineAnnealingParamScheduler` for momentum (``betas[0]`` for Adam)."""
