"""The ``Hook`` base class: every stage the runner calls, all no-ops.

Design note: the runner dispatches a stage only to the hooks that override it (see
:meth:`Hook.get_triggered_stages`), so an empty stage costs nothing on the per-iteration path.
The per-mode epoch/iteration stages delegate to four mode-generic helpers (``_before_epoch``,
``_after_epoch``, ``_before_iter``, ``_after_iter``); overriding a helper makes a hook fire in
train, val and test alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["Hook"]

DATA_BATCH = dict | tuple | list | None

# Mode-generic helper -> the per-mode stages that delegate to it.
_HELPER_STAGES: dict[str, tuple[str, ...]] = {
    "_before_epoch": ("before_train_epoch", "before_val_epoch", "before_test_epoch"),
    "_after_epoch": ("after_train_epoch", "after_val_epoch", "after_test_epoch"),
    "_before_iter": ("before_train_iter", "before_val_iter", "before_test_iter"),
    "_after_iter": ("after_train_iter", "after_val_iter", "after_test_iter"),
}


class Hook:
    """Base class of all hooks: override the stages you need.

    ``runner`` is passed positionally, everything else by keyword.
    """

    priority: Any = "NORMAL"
    stages: tuple[str, ...] = (
        "before_run",
        "after_load_checkpoint",
        "before_train",
        "before_train_epoch",
        "before_train_iter",
        "after_train_iter",
        "after_train_epoch",
        "before_val",
        "before_val_epoch",
        "before_val_iter",
        "after_val_iter",
        "after_val_epoch",
        "after_val",
        "before_save_checkpoint",
        "after_train",
        "before_test",
        "before_test_epoch",
        "before_test_iter",
        "after_test_iter",
        "after_test_epoch",
        "after_test",
        "after_run",
    )

    # ----------------------------------------------------------------- whole-run stages
    def before_run(self, runner) -> None:
        """Called once before the run starts (train, val or test)."""

    def after_run(self, runner) -> None:
        """Called once after the run ends."""

    def before_train(self, runner) -> None:
        """Called before the training loop starts."""

    def after_train(self, runner) -> None:
        """Called after the training loop ends."""

    def before_val(self, runner) -> None:
        """Called before a validation loop starts."""

    def after_val(self, runner) -> None:
        """Called after a validation loop ends."""

    def before_test(self, runner) -> None:
        """Called before the test loop starts."""

    def after_test(self, runner) -> None:
        """Called after the test loop ends."""

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Called with the checkpoint dict just before it is written; mutate it in place."""

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Called with a loaded checkpoint dict before it is applied; mutate it in place."""

    # ----------------------------------------------------------------- epoch stages
    def before_train_epoch(self, runner) -> None:
        """Called before each training epoch."""
        self._before_epoch(runner, mode="train")

    def before_val_epoch(self, runner) -> None:
        """Called before each validation epoch."""
        self._before_epoch(runner, mode="val")

    def before_test_epoch(self, runner) -> None:
        """Called before each test epoch."""
        self._before_epoch(runner, mode="test")

    def after_train_epoch(self, runner) -> None:
        """Called after each training epoch."""
        self._after_epoch(runner, mode="train")

    def after_val_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Called after each validation epoch with the computed metrics."""
        self._after_epoch(runner, mode="val")

    def after_test_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Called after each test epoch with the computed metrics."""
        self._after_epoch(runner, mode="test")

    # ----------------------------------------------------------------- iteration stages
    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Called before each training iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="train")

    def before_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Called before each validation iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="val")

    def before_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Called before each test iteration."""
        self._before_iter(runner, batch_idx=batch_idx, data_batch=data_batch, mode="test")

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Called after each training iteration with the ``log_vars`` of ``train_step``."""
        self._after_iter(
            runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="train"
        )

    def after_val_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | None = None,
    ) -> None:
        """Called after each validation iteration with the outputs of ``val_step``."""
        self._after_iter(
            runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="val"
        )

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | None = None,
    ) -> None:
        """Called after each test iteration with the outputs of ``test_step``."""
        self._after_iter(
            runner, batch_idx=batch_idx, data_batch=data_batch, outputs=outputs, mode="test"
        )

    # ----------------------------------------------------------------- mode-generic helpers
    def _before_epoch(self, runner, mode: str = "train") -> None:
        """Shared body of the ``before_*_epoch`` stages."""

    def _after_epoch(self, runner, mode: str = "train") -> None:
        """Shared body of the ``after_*_epoch`` stages."""

    def _before_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train"
    ) -> None:
        """Shared body of the ``before_*_iter`` stages."""

    def _after_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | dict | None = None,
        mode: str = "train",
    ) -> None:
        """Shared body of the ``after_*_iter`` stages."""

    # ----------------------------------------------------------------- predicates
    def every_n_epochs(self, runner, n: int, start: int = 0) -> bool:
        """Whether the epoch just finished (``runner.epoch``) is a multiple of ``n`` after ``start``."""
        dividend = runner.epoch + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def every_n_inner_iters(self, batch_idx: int, n: int) -> bool:
        """Whether ``batch_idx`` (0-based, within the epoch) closes a block of ``n`` batches."""
        return (batch_idx + 1) % n == 0 if n > 0 else False

    def every_n_train_iters(self, runner, n: int, start: int = 0) -> bool:
        """Whether the iteration ``runner.iter`` is a multiple of ``n`` after ``start``."""
        dividend = runner.iter + 1 - start
        return dividend % n == 0 if dividend >= 0 and n > 0 else False

    def end_of_epoch(self, dataloader, batch_idx: int) -> bool:
        """Whether ``batch_idx`` is the last batch of ``dataloader``."""
        return batch_idx + 1 == len(dataloader)

    def is_last_train_epoch(self, runner) -> bool:
        """Whether the current epoch is the last training epoch."""
        return runner.epoch + 1 == runner.max_epochs

    def is_last_train_iter(self, runner) -> bool:
        """Whether the current iteration is the last training iteration."""
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> set[str]:
        """The stages this hook overrides relative to :class:`Hook` (directly or via a helper).

        The runner builds its per-stage dispatch lists from this, so a hook is called only
        for the stages it implements.
        """
        cls = type(self)
        triggered = {stage for stage in Hook.stages if _overrides(cls, stage)}
        for helper, stages in _HELPER_STAGES.items():
            if _overrides(cls, helper):
                triggered.update(stages)
        return triggered


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name, None) is not getattr(Hook, name)
