"""Step family: multiply the value by ``gamma`` every ``step_size`` steps."""

from __future__ import annotations

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

__all__ = ["StepLR", "StepMomentum", "StepParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` whenever ``last_step`` is a positive multiple of
    ``step_size``.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        step_size: Period, in steps counted from ``begin``.
        gamma: Multiplicative factor.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not isinstance(step_size, int) or step_size < 1:
            raise OptimArgumentError(
                f"step_size must be a positive int, but got {step_size!r}; it is the number of "
                "steps between two multiplications by gamma."
            )
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    @classmethod
    def build_iter_from_epoch(  # type: ignore[override]
        cls,
        *args: Any,
        step_size: int,
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> StepParamScheduler:
        """Epoch-based ``step_size``, ``begin`` and ``end`` converted to iterations."""
        check_iter_conversion(by_epoch, epoch_length)
        step_size = step_size * epoch_length  # type: ignore[operator]
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(
            *args, step_size=step_size, gamma=gamma, begin=begin, end=end, by_epoch=False, **kwargs
        )

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step == 0 or self.last_step % self.step_size != 0:
            return [group[self.param_name] for group in groups]
        return [group[self.param_name] * self.gamma for group in groups]


@PARAM_SCHEDULERS.register_module()
class StepLR(LRSchedulerMixin, StepParamScheduler):
    """:class:`StepParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class StepMomentum(MomentumSchedulerMixin, StepParamScheduler):
    """:class:`StepParamScheduler` for momentum (``betas[0]`` for Adam-style optimizers)."""
