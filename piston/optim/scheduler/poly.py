"""Poly family: polynomial decay from the current value to ``eta_min``."""

from __future__ import annotations

from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["PolyLR", "PolyMomentum", "PolyParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    """Polynomial decay: ``v <- (v - eta_min) * (1 - 1 / (T - t + 1)) ** power + eta_min`` with
    ``T = end - begin - 1``, reaching ``eta_min`` at the last step.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        eta_min: Final value.
        power: Power of the polynomial.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        eta_min: float = 0,
        power: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self.eta_min = eta_min
        self.power = power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [group[self.param_name] for group in groups]
        decay = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(group[self.param_name] - self.eta_min) * decay + self.eta_min for group in groups]


@PARAM_SCHEDULERS.register_module()
class PolyLR(LRSchedulerMixin, PolyParamScheduler):
    """:class:`PolyParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(MomentumSchedulerMixin, PolyParamScheduler):
    """:class:`PolyParamScheduler` for momentum (``betas[0]`` for Adam-style optimizers)."""
