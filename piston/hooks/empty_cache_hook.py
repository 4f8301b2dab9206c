"""EmptyCacheHook: releases cached device memory at chosen points."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["EmptyCacheHook"]


def _empty_cache() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    musa = getattr(torch, "musa", None)
    if musa is not None and musa.is_available():
        musa.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """Call ``torch.cuda.empty_cache()`` before/after epochs and/or after iterations.

    Args:
        before_epoch: Empty the cache before each epoch (all modes).
        after_epoch: Empty the cache after each epoch (all modes).
        after_iter: Empty the cache after each iteration (all modes; costs time).
    """

    priority = "NORMAL"

    def __init__(
        self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False
    ) -> None:
        self._do_before_epoch = before_epoch
        self._do_after_epoch = after_epoch
        self._do_after_iter = after_iter

    def _after_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | dict | None = None,
        mode: str = "train",
    ) -> None:
        if self._do_after_iter:
            _empty_cache()

    def _before_epoch(self, runner, mode: str = "train") -> None:
        if self._do_before_epoch:
            _empty_cache()

    def _after_epoch(self, runner, mode: str = "train") -> None:
        if self._do_after_epoch:
            _empty_cache()
