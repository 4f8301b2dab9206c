"""RuntimeInfoHook: publishes the run's state (epoch, iter, lr, losses, metrics) into the
message hub, where the logger, checkpoints and user code read it.

Design note: on the per-iteration path the learning rates (Python floats) and the ``log_vars``
(detached tensors) go into the message hub as they are; the hub stores tensors lazily, so no
value is read back from the device here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["RuntimeInfoHook"]


def _is_scalar(value: Any) -> bool:
    """Python number (``bool`` included, as an ``int``), numpy number or one-element array, or
    one-element tensor."""
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, np.number):
        return True
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value.size == 1 if isinstance(value, np.ndarray) else value.numel() == 1
    return False


def _has_stock_get_lr(wrapper: Any) -> bool:
    """Whether ``wrapper.get_lr`` is ``BaseOptimWrapper.get_lr`` (not overridden)."""
    from piston.optim.optimizer.base import BaseOptimWrapper

    return (
        isinstance(wrapper, BaseOptimWrapper)
        and getattr(type(wrapper), "get_lr", None) is BaseOptimWrapper.get_lr
        and "get_lr" not in vars(wrapper)
    )


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Keep the message hub up to date with the runner's state.

    Registered by default with priority ``VERY_HIGH`` so that every other hook sees fresh
    values.
    """

    priority = "VERY_HIGH"

    def __init__(self) -> None:
        self._last_loop_stage: str | None = None
        self._plain_lr_wrapper: Any = None  # a wrapper whose lr can be read directly
        self._train_names: dict[str, str] = {}  # log_vars key -> "train/<key>", built once

    def before_run(self, runner) -> None:
        """Publish ``cfg``, ``seed``, ``experiment_name`` and ``piston_version``."""
        from piston.runner._checkpointing import piston_version

        cfg = runner.cfg
        runner.message_hub.update_info_dict(
            {
                "cfg": cfg.pretty_text if hasattr(cfg, "pretty_text") else str(cfg),
                "seed": runner.seed,
                "experiment_name": runner.experiment_name,
                "piston_version": piston_version(),
            }
        )

    def before_train(self, runner) -> None:
        """Publish the loop stage, position and length of training and the dataset meta."""
        hub = runner.message_hub
        hub.update_info("loop_stage", "train")
        hub.update_info("epoch", runner.epoch)
        hub.update_info("iter", runner.iter)
        hub.update_info("max_epochs", runner.max_epochs)
        hub.update_info("max_iters", runner.max_iters)
        dataset = getattr(runner.train_dataloader, "dataset", None)
        metainfo = getattr(dataset, "metainfo", None)
        if metainfo is not None:
            hub.update_info("dataset_meta", metainfo)

    def after_train(self, runner) -> None:
        """Training is over: drop the loop stage."""
        runner.message_hub.pop_info("loop_stage")

    def before_train_epoch(self, runner) -> None:
        """Publish the epoch."""
        runner.message_hub.update_info("epoch", runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Publish the iteration and the first param group's value of each learning rate."""
        hub = runner.message_hub
        hub.update_info("iter", runner.iter)
        wrapper = runner.optim_wrapper
        if wrapper is self._plain_lr_wrapper and wrapper.base_param_settings is None:
            # What the stock ``get_lr()`` returns, read without building its dict and lists.
            hub.update_scalar("train/lr", wrapper.optimizer.param_groups[0]["lr"])
            return
        lr_dict = wrapper.get_lr()
        if not isinstance(lr_dict, dict):
            raise AssertionError(
                "`runner.optim_wrapper.get_lr()` should return a dict of learning rates "
                f"(OptimWrapper or OptimWrapperDict), but got {type(lr_dict)}; check that "
                "your optimizer wrapper constructor returns one of those."
            )
        for name, lrs in lr_dict.items():
            hub.update_scalar(f"train/{name}", lrs[0])
        self._plain_lr_wrapper = wrapper if _has_stock_get_lr(wrapper) else None

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Publish every ``log_vars`` entry of ``train_step`` as scalar ``train/<key>``."""
        if outputs is not None:
            hub = runner.message_hub
            names = self._train_names
            for key, value in outputs.items():
                name = names.get(key)
                if name is None:
                    name = names[key] = f"train/{key}"
                hub.update_scalar(name, value)

    def before_val(self, runner) -> None:
        """Set the loop stage to ``'val'``, remembering the stage it interrupts."""
        self._last_loop_stage = runner.message_hub.get_info("loop_stage")
        runner.message_hub.update_info("loop_stage", "val")

    def after_val_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Publish the validation metrics (scalars as ``val/<k>`` scalars, others as info)."""
        self._publish_metrics(runner, metrics, "val")

    def after_val(self, runner) -> None:
        """Restore the ``'train'`` stage if validation ran inside training, else drop it."""
        if self._last_loop_stage == "train":
            runner.message_hub.update_info("loop_stage", "train")
        else:
            runner.message_hub.pop_info("loop_stage")
        self._last_loop_stage = None

    def before_test(self, runner) -> None:
        """Set the loop stage to ``'test'``."""
        runner.message_hub.update_info("loop_stage", "test")

    def after_test_epoch(self, runner, metrics: dict[str, float] | None = None) -> None:
        """Publish the test metrics (scalars as ``test/<k>`` scalars, others as info)."""
        self._publish_metrics(runner, metrics, "test")

    def after_test(self, runner) -> None:
        """Drop the loop stage."""
        runner.message_hub.pop_info("loop_stage")

    @staticmethod
    def _publish_metrics(runner, metrics: dict | None, mode: str) -> None:
        if metrics is None:
            return
        hub = runner.message_hub
        for key, value in metrics.items():
            if _is_scalar(value):
                hub.update_scalar(f"{mode}/{key}", value)
            else:
                hub.update_info(f"{mode}/{key}", value)
