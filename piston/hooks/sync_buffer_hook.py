"""SyncBuffersHook: averages model buffers (e.g. BatchNorm statistics) across ranks so that
every rank evaluates and saves the same model."""

from __future__ import annotations

from piston.dist import all_reduce_params, is_distributed
from piston.registry import HOOKS

from .hook import Hook

__all__ = ["SyncBuffersHook"]


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """All-reduce (mean) the model buffers after each train epoch and before validation.

    Does nothing unless a process group existed when the hook was built.
    """

    priority = "NORMAL"

    def __init__(self) -> None:
        self.distributed = is_distributed()
        # Set after a train epoch so the validation right after it does not sync twice.
        self.called_in_train = False

    def before_val_epoch(self, runner) -> None:
        """Sync unless the train epoch just did."""
        if self.distributed and not self.called_in_train:
            all_reduce_params(runner.model.buffers(), op="mean")
        self.called_in_train = False

    def after_train_epoch(self, runner) -> None:
        """Sync after each train epoch."""
        if self.distributed:
            all_reduce_params(runner.model.buffers(), op="mean")
            self.called_in_train = True
