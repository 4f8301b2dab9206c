"""``SingleDeviceStrategy``: train on one device (``get_device()``), no process group.

Design note: :meth:`prepare` is the one place where configs become the model, optimizer
wrapper and schedulers, in the order strategy.md §3 gives (build → init weights → wrap →
compile → optimizer → LR scaling → accumulation counters → schedulers). Subclasses (DDP, FSDP)
only change ``_wrap_model``/``_setup_distributed`` and the checkpoint I/O. Checkpoints are
plain containers and tensors (via ``to_plain``) so they load with ``weights_only=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn as nn

from piston.registry import STRATEGIES

from .base import _DEFAULT_REVISE_KEYS, BaseStrategy

__all__ = ["SingleDeviceStrategy"]


@STRATEGIES.register_module()
class SingleDeviceStrategy(BaseStrategy):
    """Strategy for training on a single device (strategy.md §3)."""

    def prepare(
        self,
        model: nn.Module | dict,
        *,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        compile: bool | dict = False,
        dispatch_kwargs: dict | None = None,
    ) -> Any:
        """Build, initialise, wrap and compile the model, then the optimizer and schedulers.

        A second call returns the prepared components; it only builds the optimizer part if
        the first call (e.g. from ``val()``) had none and this one brings it.
        """
        if dispatch_kwargs is not None:
            self.dispatch_kwargs.update(dispatch_kwargs)
        if not self._prepared:
            model = self.build_model(model)
            model = self._init_model_weights(model)
            model = self._wrap_model(model)
            model = self.compile_model(model, compile=compile)
            self.model = model
            self._prepared = True
        if optim_wrapper is not None and self.optim_wrapper is None:
            self._prepare_optimization(optim_wrapper, param_scheduler)
        return self._prepared_components()

    def _prepare_optimization(self, optim_wrapper: Any, param_scheduler: Any) -> None:
        self.optim_wrapper = self.build_optim_wrapper(optim_wrapper, self.model)
        self._scale_lr()
        if getattr(self.optim_wrapper, "_accumulative_counts", 1) > 1:
            if "max_iters" not in self.dispatch_kwargs:
                raise ValueError(
                    "'max_iters' must be in dispatch_kwargs when gradient accumulation "
                    "(accumulative_counts > 1) is used; pass prepare(dispatch_kwargs="
                    "dict(max_iters=...))."
                )
            self.optim_wrapper.initialize_count_status(
                self.model, 0, self.dispatch_kwargs["max_iters"]
            )
        if param_scheduler is not None:
            self.param_schedulers = self.build_param_scheduler(param_scheduler, self.optim_wrapper)

    def _init_model_weights(self, model: nn.Module) -> nn.Module:
        """``init_weights()`` unless preparing for val/test with initialisation turned off."""
        if self.dispatch_kwargs.get("init_weights_for_test_or_val", True):
            from piston.runner._model_setup import init_model_weights

            init_model_weights(model)
        return model

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        from piston.device import get_device
        from piston.model import revert_sync_batchnorm

        self.logger.info(
            "Distributed training is not used, all SyncBatchNorm (SyncBN) layers in the model "
            "will be automatically reverted to BatchNormXd layers if they are used."
        )
        model = revert_sync_batchnorm(model)
        return model.to(get_device())

    # ------------------------------------------------------------------ checkpoints
    def load_checkpoint(
        self,
        filename: str,
        *,
        map_location: str | Callable = "cpu",
        strict: bool = False,
        revise_keys: list = _DEFAULT_REVISE_KEYS,
        callback: Callable | None = None,
    ) -> dict:
        """Load ``filename``, call ``callback(checkpoint)``, load its ``state_dict``.

        Returns:
            The checkpoint without ``state_dict``.
        """
        self.logger.info(f"Load checkpoint from {filename}")
        if map_location == "default":
            from piston.device import get_device

            map_location = get_device()
        checkpoint = self._read_checkpoint(filename, map_location)
        if not isinstance(checkpoint, dict):
            raise RuntimeError(
                f"No state_dict found in checkpoint file {filename}: it holds a "
                f"{type(checkpoint).__name__}, not a dict."
            )
        if callback is not None:
            callback(checkpoint)
        if "state_dict" in checkpoint:
            state_dict = checkpoint.pop("state_dict")
        else:  # a bare weights file
            state_dict, checkpoint = checkpoint, {}
        self.load_model_state_dict(state_dict, strict=strict, revise_keys=revise_keys)
        return checkpoint

    def _read_checkpoint(self, filename: str, map_location: str | Callable) -> Any:
        """The object stored at ``filename`` (strategies that shard files override this)."""
        from piston.runner.checkpoint import _load_checkpoint

        return _load_checkpoint(filename, map_location=map_location)

    def resume(
        self,
        filename: str,
        *,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: str | Callable = "default",
        callback: Callable | None = None,
    ) -> dict:
        """Load weights, optimizer and scheduler states, adopt the checkpoint's seed."""
        self.logger.info(f"Resume checkpoint from {filename}")
        checkpoint = self.load_checkpoint(filename, map_location=map_location, callback=callback)
        self._resume_states(checkpoint, resume_optimizer, resume_param_scheduler)
        return checkpoint

    def _resume_states(
        self, checkpoint: dict, resume_optimizer: bool, resume_param_scheduler: bool
    ) -> None:
        optim_state = checkpoint.pop("optimizer", None)
        if resume_optimizer and optim_state is not None and self.optim_wrapper is not None:
            self.load_optim_state_dict(optim_state)
        scheduler_state = checkpoint.pop("param_schedulers", None)
        if resume_param_scheduler and scheduler_state is not None:
            if self.param_schedulers is None:
                self.logger.warning(
                    "`resume_param_scheduler` is True but no parameter scheduler is "
                    "configured, so skip resuming parameter schedulers"
                )
            else:
                self.load_scheduler_state_dict(scheduler_state)

        meta = checkpoint.get("meta", {}) or {}
        resumed_seed = meta.get("seed")
        current_seed = self._randomness.get("seed")
        if resumed_seed is not None and resumed_seed != current_seed:
            if current_seed is not None:
                self.logger.warning(
                    f"The value of random seed in the checkpoint ({resumed_seed}) is different "
                    f"from the value in `randomness` config ({current_seed})"
                )
            self._randomness.update(seed=resumed_seed)
            self._set_randomness(**self._randomness)

        cur_iter = meta.get("iter")
        if (
            cur_iter is not None
            and self.optim_wrapper is not None
            and getattr(self.optim_wrapper, "_accumulative_counts", 1) > 1
        ):
            self.optim_wrapper.initialize_count_status(
                self.model, cur_iter, self.dispatch_kwargs.get("max_iters", -1)
            )

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: dict | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Write ``state_dict`` [+ ``optimizer``, ``param_schedulers``] + ``extra_ckpt``."""
        from piston.runner.checkpoint import save_checkpoint

        checkpoint = self._collect_checkpoint(save_optimizer, save_param_scheduler, extra_ckpt)
        if callback is not None:
            callback(checkpoint)
        save_checkpoint(checkpoint, filename)

    def _collect_checkpoint(
        self, save_optimizer: bool, save_param_scheduler: bool, extra_ckpt: dict | None
    ) -> dict:
        from piston.runner._checkpointing import to_plain

        checkpoint: dict[str, Any] = {"state_dict": self.model_state_dict()}
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint["optimizer"] = self.optim_state_dict()
        if save_param_scheduler and self.param_schedulers is not None:
            checkpoint["param_schedulers"] = self.scheduler_state_dict()
        extra = self._checkpoint_meta(extra_ckpt)
        checkpoint.update({k: to_plain(v) for k, v in extra.items()})
        return checkpoint
