"""CosineRestart family: cosine annealing with warm restarts over explicit periods."""

from __future__ import annotations

import math
from collections.abc import Sequence
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

__all__ = ["CosineRestartLR", "CosineRestartMomentum", "CosineRestartParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    """Cosine annealing restarted at the start of each period.

    Period ``i`` starts at ``base * restart_weights[i]`` and anneals towards ``eta_min`` (or
    ``base * eta_min_ratio``) over ``periods[i]`` steps. After the last period the value is
    left unchanged.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        periods: Length of each period, in steps.
        restart_weights: Weight of the base value at each restart (same length as ``periods``).
        eta_min: Minimum value (exactly one of ``eta_min`` and ``eta_min_ratio``).
        eta_min_ratio: Minimum value as a ratio of the base value.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        periods: list[int],
        restart_weights: Sequence[float] = (1,),
        eta_min: float | None = None,
        eta_min_ratio: float | None = None,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not ((eta_min is None) ^ (eta_min_ratio is None)):
            raise OptimArgumentError(
                "Either `eta_min` or `eta_min_ratio` should be specified (exactly one), but got "
                f"eta_min={eta_min}, eta_min_ratio={eta_min_ratio}."
            )
        if len(periods) != len(restart_weights):
            raise OptimArgumentError(
                f"periods and restart_weights should have the same length, but got "
                f"periods={list(periods)} and restart_weights={list(restart_weights)}."
            )
        if any(not isinstance(p, int) or p < 1 for p in periods):
            raise OptimArgumentError(f"periods must be positive ints, but got {list(periods)}.")
        self.periods = list(periods)
        self.restart_weights = list(restart_weights)
        self.eta_min = eta_min
        self.eta_min_ratio = eta_min_ratio
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(  # type: ignore[override]
        cls,
        *args: Any,
        periods: list[int],
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> CosineRestartParamScheduler:
        """Epoch-based ``periods``, ``begin`` and ``end`` converted to iterations."""
        check_iter_conversion(by_epoch, epoch_length)
        periods = [p * epoch_length for p in periods]  # type: ignore[operator]
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(*args, periods=periods, begin=begin, end=end, by_epoch=False, **kwargs)

    @staticmethod
    def get_position_from_periods(iteration: int, cumulative_periods: list[int]) -> int | None:
        """Index of the period containing ``iteration``, or None after the last period."""
        for i, period in enumerate(cumulative_periods):
            if iteration < period:
                return i
        return None

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        idx = self.get_position_from_periods(self.last_step, self.cumulative_periods)
        if idx is None:
            return [group[self.param_name] for group in groups]
        weight = self.restart_weights[idx]
        restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        period = self.periods[idx]
        step = self.last_step - restart
        values = []
        for base, group in zip(self.base_values, groups):
            eta_max = base * weight
            eta_min = self.eta_min if self.eta_min_ratio is None else base * self.eta_min_ratio
            if step == 0:
                values.append(eta_max)
                continue
            ratio = (1 + math.cos(math.pi * step / period)) / (
                1 + math.cos(math.pi * (step - 1) / period)
            )
            values.append(ratio * (group[self.param_name] - eta_min) + eta_min)
        return values


@PARAM_SCHEDULERS.register_module()
class CosineRestartLR(LRSchedulerMixin, CosineRestartParamScheduler):
    """:class:`CosineRestartParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(MomentumSchedulerMixin, CosineRestartParamScheduler):
    """:class:`CosineRestartParamScheduler` for momentum (``betas[0]`` for Adam)."""
