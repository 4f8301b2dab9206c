"""EMAHook: keeps an exponential moving average (or another averaged model) of the weights,
evaluates with it and stores it in checkpoints.

Design note: the averaged copy is updated in place after every train iteration (no host-device
transfer). For evaluation the hook swaps parameter *values* between the model and the average,
so the model object the runner holds never changes. In checkpoints the EMA weights go into
``state_dict`` (deployable as is) and the raw weights into ``ema_state_dict``; resuming swaps
them back.
"""

from __future__ import annotations

import copy
import itertools
import logging

import torch

from piston.registry import HOOKS, MODELS

from .hook import DATA_BATCH, Hook

__all__ = ["EMAHook"]


@HOOKS.register_module()
class EMAHook(Hook):
    """Maintain an averaged copy of the model and use it for validation and testing.

    Args:
        ema_type: Averaged-model type in ``MODELS`` (e.g. ``'ExponentialMovingAverage'``,
            ``'MomentumAnnealingEMA'``, ``'StochasticWeightAverage'``).
        strict_load: Load ``ema_state_dict`` strictly.
        begin_iter: Start averaging at this iteration (before it, the average copies the
            weights).
        begin_epoch: Start averaging at this epoch. Only one of the two may be non-zero.
        **kwargs: Passed to the averaged model, e.g. ``momentum``, ``update_buffers``.
    """

    priority = "NORMAL"

    def __init__(
        self,
        ema_type: str = "ExponentialMovingAverage",
        strict_load: bool = False,
        begin_iter: int = 0,
        begin_epoch: int = 0,
        **kwargs,
    ) -> None:
        if begin_iter != 0 and begin_epoch != 0:
            raise AssertionError(
                "`begin_iter` and `begin_epoch` should not be both set (got "
                f"begin_iter={begin_iter}, begin_epoch={begin_epoch}); choose one."
            )
        if begin_iter < 0:
            raise AssertionError(f"begin_iter must larger than 0, but got begin: {begin_iter}")
        if begin_epoch < 0:
            raise AssertionError(f"begin_epoch must larger than 0, but got begin: {begin_epoch}")
        self.ema_cfg = dict(type=ema_type, **kwargs)
        self.strict_load = strict_load
        self.begin_iter = begin_iter
        self.begin_epoch = begin_epoch
        self.enabled_by_epoch = begin_epoch > 0
        self.src_model: torch.nn.Module | None = None
        self.ema_model = None

    def before_run(self, runner) -> None:
        """Build the averaged model around the unwrapped model."""
        from piston.model import is_model_wrapper

        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        if self.ema_model is not None and self.src_model is model:
            return  # built already, for this model (e.g. by a checkpoint loaded before the run)
        self.src_model = model
        self.ema_model = MODELS.build(self.ema_cfg, default_args={"model": self.src_model})

    def before_train(self, runner) -> None:
        """Check that averaging starts within training."""
        if self.enabled_by_epoch and self.begin_epoch > runner.max_epochs:
            raise AssertionError(
                "self.begin_epoch should be smaller than or equal to runner.max_epochs: "
                f"{runner.max_epochs}, but got begin: {self.begin_epoch} (EMA would never start)."
            )
        if not self.enabled_by_epoch and self.begin_iter > runner.max_iters:
            raise AssertionError(
                "self.begin_iter should be smaller than or equal to runner.max_iters: "
                f"{runner.max_iters}, but got begin: {self.begin_iter} (EMA would never start)."
            )

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Update the average (or, before it starts, copy the current weights)."""
        if self._ema_started(runner):
            self.ema_model.update_parameters(self.src_model)
            return
        ema_state = self.ema_model.module.state_dict()
        src_state = self.src_model.state_dict()
        for key, value in ema_state.items():
            value.data.copy_(src_state[key].data)

    def before_val_epoch(self, runner) -> None:
        """Evaluate with the averaged weights."""
        self._swap_ema_parameters()

    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        """Restore the trained weights."""
        self._swap_ema_parameters()

    def before_test_epoch(self, runner) -> None:
        """Test with the averaged weights."""
        self._swap_ema_parameters()

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        """Restore the trained weights."""
        self._swap_ema_parameters()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save EMA weights as ``state_dict`` and the raw ones as ``ema_state_dict``."""
        checkpoint["ema_state_dict"] = {
            key: value.detach().cpu().clone() for key, value in self.ema_model.state_dict().items()
        }
        self._swap_ema_state_dict(checkpoint)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the EMA state when resuming; else start the EMA from the loaded weights."""
        from piston.runner import load_state_dict

        if self.ema_model is None:  # loaded before ``before_run`` (FlexibleRunner's order)
            self.before_run(runner)
        resuming = bool(getattr(runner, "_resume", False))
        if "ema_state_dict" in checkpoint and resuming:
            # The file holds the raw weights under ema_state_dict: swap them back.
            self._swap_ema_state_dict(checkpoint)
            self.ema_model.load_state_dict(checkpoint["ema_state_dict"], strict=self.strict_load)
            return
        if resuming:
            from piston.logging import print_log

            print_log(
                "There is no `ema_state_dict` in checkpoint. `EMAHook` will make a copy of "
                "`state_dict` as the initial `ema_state_dict`",
                logger="current",
                level=logging.WARNING,
            )
        state_dict = checkpoint.get("state_dict", checkpoint)
        load_state_dict(self.ema_model.module, copy.deepcopy(state_dict), strict=self.strict_load)

    # ------------------------------------------------------------------ helpers
    def _swap_ema_parameters(self) -> None:
        avg_module, src = self.ema_model.module, self.src_model
        if self.ema_model.update_buffers:
            avg = itertools.chain(avg_module.parameters(), avg_module.buffers())
            src_params = itertools.chain(src.parameters(), src.buffers())
        else:
            avg, src_params = avg_module.parameters(), src.parameters()
        with torch.no_grad():
            for p_avg, p_src in zip(avg, src_params):
                tmp = p_avg.data.clone()
                p_avg.data.copy_(p_src.data)
                p_src.data.copy_(tmp)

    @staticmethod
    def _swap_ema_state_dict(checkpoint: dict) -> None:
        model_state = checkpoint["state_dict"]
        ema_state = checkpoint["ema_state_dict"]
        for key in ema_state:
            if key.startswith("module.") and key[7:] in model_state:
                ema_state[key], model_state[key[7:]] = model_state[key[7:]], ema_state[key]

    def _ema_started(self, runner) -> bool:
        if self.enabled_by_epoch:
            return runner.epoch + 1 >= self.begin_epoch
        return runner.iter + 1 >= self.begin_iter
