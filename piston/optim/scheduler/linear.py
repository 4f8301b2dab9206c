"""Linear family: scale the value by a factor moving linearly from start to end factor."""

from __future__ import annotations

from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["LinearLR", "LinearMomentum", "LinearParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Multiply the base value by a factor going linearly from ``start_factor`` (step 0) to
    ``end_factor`` (step ``end - begin - 1``). Typical use: warm-up.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        start_factor: Factor at step 0, in ``[0, 1]``.
        end_factor: Factor at the last step, in ``[0, 1]``.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if start_factor > 1.0 or start_factor < 0:
            raise ValueError(
                f"Starting multiplicative factor should between 0 and 1, but got {start_factor}."
            )
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError(
                f"Ending multiplicative factor should between 0 and 1, but got {end_factor}."
            )
        if start_factor == 0 and end - begin > 1:
            # The rule multiplies the current value, so a value set to 0 at step 0 can never
            # grow again (the next step would divide by zero).
            raise ValueError(
                "start_factor=0 cannot warm up: the linear rule scales the current value, "
                "which would stay 0. Use a small positive factor such as 1e-3."
            )
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step == 0:
            return [group[self.param_name] * self.start_factor for group in groups]
        delta = self.end_factor - self.start_factor
        factor = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_step - 1) * delta)
        return [group[self.param_name] * factor for group in groups]


@PARAM_SCHEDULERS.register_module()
class LinearLR(LRSchedulerMixin, LinearParamScheduler):
    """:class:`LinearParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(MomentumSchedulerMixin, LinearParamScheduler):
    """:class:`LinearParamScheduler` for momentum (``betas[0]`` for Adam-style optimizers)."""
