"""OneCycle family: the 1cycle learning-rate policy (warm up to ``eta_max``, anneal far below).

Matches ``torch.optim.lr_scheduler.OneCycleLR`` step for step when ``begin=0``.
"""

from __future__ import annotations

import math
from typing import Any

from piston.optim._errors import OptimArgumentError
from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
    check_iter_conversion,
    convert_begin_end,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["OneCycleLR", "OneCycleParamScheduler"]


def _annealing_cos(start: float, end: float, pct: float) -> float:
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _annealing_linear(start: float, end: float, pct: float) -> float:
    return (end - start) * pct + start


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """The 1cycle policy: from ``eta_max / div_factor`` up to ``eta_max`` over ``pct_start`` of
    the steps, then down to ``initial / final_div_factor`` (three phases: up, down to initial,
    then down to the minimum, when ``three_phase``).

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Must be ``'lr'``.
        eta_max: Peak value, one for all groups or a list with one per group.
        total_steps: Number of steps of the cycle; defaults to ``end - begin``.
        pct_start: Fraction of the cycle spent increasing (a float in ``[0, 1]``).
        anneal_strategy: ``'cos'`` or ``'linear'``.
        div_factor: ``initial = eta_max / div_factor``.
        final_div_factor: ``min = initial / final_div_factor``.
        three_phase: Use the three-phase variant.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`.

    Raises:
        ValueError: Stepping past ``total_steps``, or an invalid argument.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        eta_max: float | list[float] = 0,
        total_steps: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if param_name != "lr":
            raise OptimArgumentError(
                f"OneCycle only works for learning rate updating, but got param_name as "
                f"{param_name!r}. Use OneCycleLR."
            )
        self.eta_max = eta_max
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        else:
            self.total_steps = end - begin
        if not isinstance(pct_start, float) or not 0 <= pct_start <= 1:
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"anneal_strategy must by one of 'cos' or 'linear', instead got {anneal_strategy!r}"
            )
        self.anneal_strategy = anneal_strategy
        self.three_phase = three_phase
        self._schedule_phases = self._phases(pct_start, three_phase, param_name)
        max_values = self._format_param(f"max_{param_name}", optimizer, eta_max)
        if last_step == -1:
            for idx, group in enumerate(optimizer.param_groups):
                group[f"initial_{param_name}"] = max_values[idx] / div_factor
                group[f"max_{param_name}"] = max_values[idx]
                group[f"min_{param_name}"] = group[f"initial_{param_name}"] / final_div_factor
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _phases(self, pct_start: float, three_phase: bool, name: str) -> list[dict]:
        """Phase table: last step of each phase and the group keys it anneals between."""

        def phase(end_step: float, start: str, end: str) -> dict:
            keys = {f"start_{name}": f"{start}_{name}", f"end_{name}": f"{end}_{name}"}
            return {"end_step": end_step, **keys}

        up_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            return [
                phase(up_end, "initial", "max"),
                phase(float(2 * pct_start * self.total_steps) - 2, "max", "initial"),
                phase(self.total_steps - 1, "initial", "min"),
            ]
        return [phase(up_end, "initial", "max"), phase(self.total_steps - 1, "max", "min")]

    @staticmethod
    def _format_param(name: str, optimizer: OptimizerType, param: Any) -> list:
        """One value per param group from a scalar or a list."""
        if isinstance(param, (list, tuple)):
            if len(param) != len(optimizer.param_groups):
                raise ValueError(
                    f"expected {len(optimizer.param_groups)} values for {name}, got {len(param)}"
                )
            return list(param)
        return [param] * len(optimizer.param_groups)

    @classmethod
    def build_iter_from_epoch(  # type: ignore[override]
        cls,
        *args: Any,
        begin: int = 0,
        end: int = INF,
        total_steps: int | None = None,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> OneCycleParamScheduler:
        """Epoch-based ``total_steps``, ``begin`` and ``end`` converted to iterations."""
        check_iter_conversion(by_epoch, epoch_length)
        if total_steps is not None:
            total_steps = total_steps * epoch_length  # type: ignore[operator]
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(*args, begin=begin, end=end, total_steps=total_steps, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        step = self.last_step
        if step > self.total_steps:
            raise ValueError(
                f"Tried to step {step + 1} times. The specified number of total steps is "
                f"{self.total_steps}. Raise `total_steps` (or `end`) to cover the schedule."
            )
        anneal = _annealing_cos if self.anneal_strategy == "cos" else _annealing_linear
        name = self.param_name
        values = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    value = anneal(group[phase[f"start_{name}"]], group[phase[f"end_{name}"]], pct)
                    break
                start_step = phase["end_step"]
            values.append(value)
        return values


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(LRSchedulerMixin, OneCycleParamScheduler):
    """:class:`OneCycleParamScheduler` for the learning rate."""
