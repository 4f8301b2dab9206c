"""EarlyStoppingHook: stops training when a validation metric stops improving."""

from __future__ import annotations

import math
import warnings

from piston.registry import HOOKS

from .checkpoint_hook import CheckpointHook, _as_number, infer_rule
from .hook import Hook

__all__ = ["EarlyStoppingHook"]


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """Set ``runner.train_loop.stop_training`` when the monitored metric stalls.

    Args:
        monitor: Metric name to watch.
        rule: ``'greater'`` or ``'less'``; inferred from ``monitor`` when None.
        min_delta: Smallest change that counts as an improvement.
        strict: Raise when ``monitor`` is missing from the metrics (else warn and skip).
        check_finite: Stop when the metric becomes NaN or infinite.
        patience: Validations without improvement before stopping.
        stopping_threshold: Stop as soon as the metric is better than this value.
    """

    priority = "LOWEST"
    rule_map = CheckpointHook.rule_map
    init_value_map = CheckpointHook.init_value_map
    _default_greater_keys = CheckpointHook._default_greater_keys
    _default_less_keys = CheckpointHook._default_less_keys

    def __init__(
        self,
        monitor: str,
        rule: str | None = None,
        min_delta: float = 0.1,
        strict: bool = False,
        check_finite: bool = True,
        patience: int = 5,
        stopping_threshold: float | None = None,
    ) -> None:
        self.monitor = monitor
        if rule is None:
            rule = infer_rule(monitor, self._default_greater_keys, self._default_less_keys)
        elif rule not in self.rule_map:
            raise ValueError(f'`rule` should be either "greater" or "less", but got {rule!r}.')
        self.rule = rule
        self.min_delta = min_delta if rule == "greater" else -min_delta
        self.strict = strict
        self.check_finite = check_finite
        self.patience = patience
        self.stopping_threshold = stopping_threshold
        self.wait_count = 0
        self.best_score = self.init_value_map[rule]

    def before_run(self, runner) -> None:
        """Check that the train loop can be stopped."""
        loop = getattr(runner, "_train_loop", None)
        if loop is None or isinstance(loop, dict):
            return  # not training (or the loop is not built yet): nothing to stop
        if not hasattr(runner.train_loop, "stop_training"):
            raise AssertionError(
                "`train_loop` should contain `stop_training` variable for EarlyStoppingHook."
            )

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Update the patience counter and stop training when a condition is met."""
        metrics = metrics or {}
        if self.monitor not in metrics:
            if self.strict:
                raise RuntimeError(
                    f"Early stopping conditioned on metric `{self.monitor}` is not available. "
                    f"Please check available metrics {sorted(metrics)}, or set `strict=False` "
                    "in `EarlyStoppingHook`."
                )
            warnings.warn(
                f"Skip early stopping process since the evaluation results "
                f"({list(metrics)}) do not include `monitor` ({self.monitor})."
            )
            return
        stop, reason = self._check_stop_condition(float(_as_number(metrics[self.monitor])))
        if stop:
            runner.train_loop.stop_training = True
            runner.logger.info(reason)

    def _check_stop_condition(self, score: float) -> tuple[bool, str]:
        better = self.rule_map[self.rule]
        if self.check_finite and not math.isfinite(score):
            return True, (
                f"Monitored metric {self.monitor} = {score} is infinite. "
                f"Previous best value was {self.best_score:.3f}."
            )
        if self.stopping_threshold is not None and better(score, self.stopping_threshold):
            self.best_score = score
            return True, (
                f"Stopping threshold reached: `{self.monitor}` = {score} is {self.rule} "
                f"than {self.stopping_threshold}."
            )
        if better(self.best_score + self.min_delta, score):
            self.wait_count += 1
            if self.wait_count >= self.patience:
                return True, (
                    f"the monitored metric did not improve in the last {self.wait_count} "
                    f"records. best score: {self.best_score:.3f}. "
                )
            return False, ""
        self.best_score = score
        self.wait_count = 0
        return False, ""
