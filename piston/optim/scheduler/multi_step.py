"""MultiStep family: multiply the value by ``gamma`` at each milestone."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from piston.logging import print_log
from piston.optim._errors import OptimArgumentError
from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
    check_begin_end,
    check_iter_conversion,
    convert_begin_end,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["MultiStepLR", "MultiStepMomentum", "MultiStepParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Multiply the value by ``gamma`` (``gamma ** n`` for a milestone listed n times) when
    ``last_step`` reaches a milestone.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        milestones: Steps, counted from ``begin``, in ``[0, end - begin)``.
        gamma: Multiplicative factor.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.

    Raises:
        ValueError: A milestone is negative or not an int (one at or past ``end - begin``
            only logs a warning: it never fires, as in MMEngine).
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        milestones: list[int],
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        check_begin_end(type(self).__name__, begin, end)
        self._check_milestones(milestones, begin, end)
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _check_milestones(self, milestones: Any, begin: int, end: int) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise OptimArgumentError(f"milestones must be a list of ints, but got {milestones!r}.")
        for milestone in milestones:
            if not isinstance(milestone, int) or milestone < 0:
                raise ValueError(
                    f"{type(self).__name__} got milestone {milestone!r}; milestones must be "
                    "non-negative ints counted from `begin`."
                )
            if milestone >= end - begin:
                # MMEngine accepts it (e.g. a shortened debug run of a full schedule): warn only.
                print_log(
                    f"{type(self).__name__} milestone {milestone} is outside the range "
                    f"[0, {end - begin}) of steps it schedules (begin={begin}, end={end}), "
                    "so it will never fire.",
                    logger="current",
                    level=logging.WARNING,
                )

    @classmethod
    def build_iter_from_epoch(  # type: ignore[override]
        cls,
        *args: Any,
        milestones: list[int],
        gamma: float = 0.1,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> MultiStepParamScheduler:
        """Epoch-based milestones, ``begin`` and ``end`` converted to iterations."""
        check_iter_conversion(by_epoch, epoch_length)
        milestones = [i * epoch_length for i in milestones]  # type: ignore[operator]
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(
            *args,
            milestones=milestones,
            gamma=gamma,
            begin=begin,
            end=end,
            by_epoch=False,
            **kwargs,
        )

    def _get_value(self) -> list:
        groups = self.optimizer.param_groups
        if self.last_step not in self.milestones:
            return [group[self.param_name] for group in groups]
        factor = self.gamma ** self.milestones[self.last_step]
        return [group[self.param_name] * factor for group in groups]


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(LRSchedulerMixin, MultiStepParamScheduler):
    """:class:`MultiStepParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(MomentumSchedulerMixin, MultiStepParamScheduler):
    """:class:`MultiStepParamScheduler` for momentum (``betas[0]`` for Adam-style optimizers)."""
