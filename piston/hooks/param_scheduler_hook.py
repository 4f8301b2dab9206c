"""ParamSchedulerHook: steps the parameter schedulers at the end of iterations, epochs and
validations."""

from __future__ import annotations

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["ParamSchedulerHook"]


def _scheduler_lists(param_schedulers) -> list[list]:
    """``runner.param_schedulers`` (None, list, or dict of lists) as a list of lists."""
    if param_schedulers is None:
        return []
    if isinstance(param_schedulers, list):
        return [param_schedulers]
    if isinstance(param_schedulers, dict):
        if "type" in param_schedulers:  # one scheduler config, not built yet
            return [[param_schedulers]]
        return list(param_schedulers.values())
    raise TypeError(
        "runner.param_schedulers should be list of ParamScheduler or a dict containing list "
        f"of ParamScheduler, but got {type(param_schedulers).__name__}: {param_schedulers!r}"
    )


def _built(schedulers) -> list:
    """The built schedulers of a list (config dicts are skipped)."""
    if not isinstance(schedulers, list):
        raise TypeError(
            f"Each entry of runner.param_schedulers must be a list, but got {schedulers!r}."
        )
    return [s for s in schedulers if not isinstance(s, dict) and hasattr(s, "step")]


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Step iteration-based schedulers after each train iteration, epoch-based ones after each
    train epoch, and those needing validation results (``need_val_args``) after validation.

    The iteration-based schedulers are collected once and re-collected only when
    ``runner.param_schedulers`` is replaced by another object, so the per-iteration work is an
    identity check and a loop over them.
    """

    priority = "LOW"

    _UNSET = object()

    def __init__(self) -> None:
        self._iter_schedulers: list = []
        self._collected_from: object = self._UNSET

    def before_train(self, runner) -> None:
        """Collect the iteration-based schedulers."""
        self._collect_iter_schedulers(runner)

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Step every scheduler with ``by_epoch=False``."""
        if runner.param_schedulers is not self._collected_from:
            self._collect_iter_schedulers(runner)
        for scheduler in self._iter_schedulers:
            scheduler.step()

    def after_train_epoch(self, runner) -> None:
        """Step every scheduler with ``by_epoch=True``."""
        for scheduler in self._select(runner, by_epoch=True):
            scheduler.step()

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Step epoch-based schedulers that need validation results, with ``metrics``."""
        if metrics is None:
            return
        from piston.optim.scheduler import _ParamScheduler

        for schedulers in _scheduler_lists(runner.param_schedulers):
            for scheduler in _built(schedulers):
                # only built schedulers (as MMEngine: instances of _ParamScheduler)
                if not isinstance(scheduler, _ParamScheduler):
                    continue
                if scheduler.by_epoch and getattr(scheduler, "need_val_args", False):
                    scheduler.step(metrics)

    def after_train(self, runner) -> None:
        """Forget the collected schedulers (a later run may build new ones)."""
        self._iter_schedulers = []
        self._collected_from = self._UNSET

    def _collect_iter_schedulers(self, runner) -> None:
        source = runner.param_schedulers
        self._iter_schedulers = self._select(runner, by_epoch=False)
        self._collected_from = source

    @staticmethod
    def _select(runner, by_epoch: bool) -> list:
        return [
            scheduler
            for schedulers in _scheduler_lists(runner.param_schedulers)
            for scheduler in _built(schedulers)
            if scheduler.by_epoch == by_epoch
        ]
