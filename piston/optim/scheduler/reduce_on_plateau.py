"""ReduceOnPlateau family: reduce the value when a validation metric stops improving.

Design note: unlike the other schedulers this one is stepped twice per epoch by
``ParamSchedulerHook``: ``step()`` after training (it only counts the epoch) and
``step(metrics)`` after validation (``need_val_args = True``), which may reduce the value. The
constructor therefore does not step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piston.optim._errors import OptimArgumentError
from piston.optim.optimizer.base import BaseOptimWrapper
from piston.optim.scheduler.param_scheduler import (
    INF,
    LRSchedulerMixin,
    MomentumSchedulerMixin,
    OptimizerType,
    _ParamScheduler,
)
from piston.registry import PARAM_SCHEDULERS

__all__ = ["ReduceOnPlateauLR", "ReduceOnPlateauMomentum", "ReduceOnPlateauParamScheduler"]


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Multiply the value by ``factor`` when ``monitor`` has not improved for more than
    ``patience`` validations.

    Args:
        optimizer: Optimizer or wrapper.
        param_name: Param-group key to schedule.
        monitor: Key of the metric in the ``metrics`` dict passed to ``step``.
        rule: ``'less'`` (lower is better) or ``'greater'``.
        factor: Multiplicative factor, below 1.
        patience: Number of validations without improvement tolerated.
        threshold: Minimum change counted as an improvement (>= 0).
        threshold_rule: ``'rel'`` (relative to the best) or ``'abs'``.
        cooldown: Validations to wait after a reduction before counting bad ones again.
        min_value: Lower bound, one for all groups or a list with one per group.
        eps: Reductions smaller than this are skipped.
        begin, end, last_step, by_epoch, verbose: See :class:`_ParamScheduler`;
            ``by_epoch`` must be True.
    """

    need_val_args = True

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        monitor: str = "loss",
        rule: str = "less",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_rule: str = "rel",
        cooldown: int = 0,
        min_value: float | Sequence[float] = 0.0,
        eps: float = 1e-8,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        if not by_epoch:
            raise OptimArgumentError(
                f"Now {type(self).__name__} only support by_epoch=True: it is stepped with "
                "validation metrics, which exist once per epoch."
            )
        self._init_common(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self._global_step = 0
        if factor >= 1.0:
            raise ValueError(f"Factor should be < 1.0, but got {factor}.")
        self.factor = factor
        raw_groups = (
            optimizer.optimizer.param_groups
            if isinstance(optimizer, BaseOptimWrapper)
            else optimizer.param_groups
        )
        if isinstance(min_value, (list, tuple)):
            if len(min_value) != len(raw_groups):
                raise ValueError(
                    f"expected {len(raw_groups)} min_values (one per param group), got "
                    f"{len(min_value)}."
                )
            self.default_min_value = None
            self.min_values = list(min_value)
            # The wrapper's pseudo base group follows the first real group.
            self.min_values += [min_value[0]] * (len(optimizer.param_groups) - len(raw_groups))
        else:
            self.default_min_value = min_value
            self.min_values = [min_value] * len(optimizer.param_groups)
        self.patience = patience
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.eps = eps
        self.monitor = monitor
        self._init_is_better(rule, threshold, threshold_rule)
        self._reset()
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def _init_is_better(self, rule: str, threshold: float, threshold_rule: str) -> None:
        if rule not in ("less", "greater"):
            raise ValueError(f"mode {rule!r} is unknown! Use rule='less' or rule='greater'.")
        if threshold_rule not in ("rel", "abs"):
            raise ValueError(f"threshold mode {threshold_rule!r} is unknown! Use 'rel' or 'abs'.")
        if threshold < 0:
            raise ValueError(f"threshold should be >= 0, but got {threshold}.")
        self.rule = rule
        self.threshold = threshold
        self.threshold_rule = threshold_rule
        self.rule_cmp = float("inf") if rule == "less" else float("-inf")

    def _reset(self) -> None:
        self.best = self.rule_cmp
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.rule == "less":
            if self.threshold_rule == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_rule == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: dict | None = None) -> None:  # type: ignore[override]
        """Count an epoch (``metrics=None``) or judge the validation ``metrics``.

        Args:
            metrics: Validation results containing ``monitor``.

        Raises:
            TypeError: ``metrics`` is neither None nor a dict.
            KeyError: ``monitor`` is not in ``metrics``.
        """
        if metrics is None:
            self._global_step += 1
            return
        if not isinstance(metrics, dict):
            raise TypeError(f"metrics type should be dict, but got type {type(metrics)}")
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            if self.monitor not in metrics:
                raise KeyError(
                    f"Excepted key in {list(metrics.keys())}, but got key {self.monitor} is not "
                    "in dict. Set `monitor` to one of the validation metric names."
                )
            metric = metrics[self.monitor]
            if self._is_better(metric, self.best):
                self.best = metric
                self.num_bad_epochs = 0
            else:
                self.num_bad_epochs += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0  # bad epochs in cooldown do not count
            if self.num_bad_epochs > self.patience:
                self._reduce()
                self.cooldown_counter = self.cooldown
                self.num_bad_epochs = 0
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def _reduce(self) -> None:
        for i, (group, value) in enumerate(zip(self.optimizer.param_groups, self._get_value())):
            if group[self.param_name] - value > self.eps:
                group[self.param_name] = value
                self.print_value(self.verbose, i, value)

    def _get_value(self) -> list:
        return [
            max(group[self.param_name] * self.factor, min_value)
            for group, min_value in zip(self.optimizer.param_groups, self.min_values)
        ]

    @classmethod
    def build_iter_from_epoch(cls, *args: Any, **kwargs: Any) -> _ParamScheduler:
        """Not supported: this scheduler is stepped with per-epoch validation metrics."""
        raise OptimArgumentError(
            f"{cls.__name__} only supports by_epoch=True and cannot be converted to "
            "iteration-based; remove `convert_to_iter_based`."
        )


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauLR(LRSchedulerMixin, ReduceOnPlateauParamScheduler):
    """:class:`ReduceOnPlateauParamScheduler` for the learning rate."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(MomentumSchedulerMixin, ReduceOnPlateauParamScheduler):
    """:class:`ReduceOnPlateauParamScheduler` for momentum (``betas[0]`` for Adam)."""
