"""Constant family: multiply by ``factor`` from ``begin`` until the last step of the range."""

from __future__ import annotations

from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["ConstantLR", "ConstantMomentum", "ConstantParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply the value by ``factor`` at step 0 and divide it back at step
    ``end - begin - 1``.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        factor: Factor in ``[0, 1]``.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        factor: float = 1.0 / 3,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError(
                f"Constant multiplicative factor should between 0 and 1, but got {factor}."
            )
        if factor == 0 and end != INF and end - begin > 1:
            # The value is restored by dividing the current one by ``factor`` at the last step.
            raise ValueError(
                f"factor=0 cannot be undone at the end of the range (step {end - 1}): the rule "
                "divides the current value by `factor`. Use a small positive factor such as "
                "1e-3."
            )
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [group[self.param_name] * self.factor for group in groups]
        if self.last_step != self.total_iters:
            return [group[self.param_name] for group in groups]
        return [group[self.param_name] * (1.0 / self.factor) for group in groups]


@PARAM_SCHEDULERS.register_module()
class ConstantLR(LRSchedulerMixin, ConstantParamScheduler):
    """:class:`ConstantParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(MomentumSchedulerMixin, ConstantParamScheduler):
    """:class:`ConstantParamScheduler` for momentum (``betas[0]`` for Adam-style optimizers)."""
