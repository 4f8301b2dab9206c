"""``DDPStrategy``: data-parallel training with torch ``DistributedDataParallel``.

Design note: everything but the process group, the wrapper and rank-0 saving is inherited from
``SingleDeviceStrategy``. The wrapper is built from a ``MODEL_WRAPPERS`` config (default
``MMDistributedDataParallel`` with ``broadcast_buffers=False``), so custom DDP subclasses plug
in by config. ``device_ids`` is only passed for CUDA modules (torch rejects it for CPU ones).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from piston.registry import STRATEGIES

from .single_device import SingleDeviceStrategy

__all__ = ["DDPStrategy"]


@STRATEGIES.register_module()
class DDPStrategy(SingleDeviceStrategy):
    """Distributed data-parallel strategy (strategy.md §4).

    Args:
        model_wrapper: ``MODEL_WRAPPERS`` config of the wrapper; default
            ``dict(type='MMDistributedDataParallel', broadcast_buffers=False)``. ``module`` and
            ``device_ids=[LOCAL_RANK]`` (CUDA only) are filled in.
        sync_bn: ``'torch'`` or ``'mmcv'`` to convert BatchNorm layers to SyncBatchNorm.
        **kwargs: ``BaseStrategy`` arguments.
    """

    def __init__(
        self,
        *,
        model_wrapper: dict | None = None,
        sync_bn: str | None = None,
        **kwargs: Any,
    ) -> None:
        if model_wrapper is not None and not isinstance(model_wrapper, dict):
            raise TypeError(
                f"model_wrapper should be a dict config or None, but got "
                f"{type(model_wrapper).__name__}: {model_wrapper!r}"
            )
        if model_wrapper is None:
            model_wrapper = dict(type="MMDistributedDataParallel", broadcast_buffers=False)
        self.model_wrapper = model_wrapper
        self.sync_bn = sync_bn
        super().__init__(**kwargs)

    def _setup_distributed(
        self, launcher: str = "pytorch", backend: str = "nccl", **kwargs: Any
    ) -> None:
        """``init_dist(launcher, backend, **kwargs)`` unless a process group already exists."""
        from piston.dist import init_dist, is_distributed

        if not is_distributed():
            init_dist(launcher, backend, **kwargs)

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        from piston.device import get_device
        from piston.model import is_model_wrapper

        if is_model_wrapper(model):
            return model
        _require_process_group(type(self).__name__)
        model = model.to(get_device())
        model = self._convert_sync_bn(model)
        from piston.registry import MODEL_WRAPPERS

        cfg = dict(self.model_wrapper)
        cfg.setdefault("type", "MMDistributedDataParallel")
        wrapper_type = cfg["type"]
        wrapper_cls = (
            MODEL_WRAPPERS.get(wrapper_type) if isinstance(wrapper_type, str) else wrapper_type
        )
        default_args: dict = {"module": model}
        if isinstance(wrapper_cls, type) and issubclass(
            wrapper_cls, torch.nn.parallel.DistributedDataParallel
        ):
            local_rank = int(os.environ.get("LOCAL_RANK", 0))
            default_args["device_ids"] = [local_rank] if get_device() == "cuda" else None
        return MODEL_WRAPPERS.build(cfg, default_args=default_args)

    def _convert_sync_bn(self, model: nn.Module) -> nn.Module:
        if self.sync_bn is None:
            return model
        from piston.model import convert_sync_batchnorm

        if self.sync_bn not in ("torch", "mmcv"):
            self.logger.error(f'sync_bn should be "torch" or "mmcv", but got {self.sync_bn!r}')
            raise ValueError(
                f'sync_bn should be "torch" or "mmcv", but got {self.sync_bn!r}. Set '
                "DDPStrategy(sync_bn='torch') or leave it None."
            )
        return convert_sync_batchnorm(model, self.sync_bn)

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: dict | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Save on rank 0 only (the replicas hold the same state)."""
        from piston.dist import is_main_process

        if is_main_process():
            super().save_checkpoint(
                filename,
                save_optimizer=save_optimizer,
                save_param_scheduler=save_param_scheduler,
                extra_ckpt=extra_ckpt,
                callback=callback,
            )


def _require_process_group(name: str) -> None:
    from piston.dist import is_distributed

    if not is_distributed():
        raise RuntimeError(
            f"{name} needs an initialised process group, but none exists. Launch with "
            "torchrun and launcher='pytorch' (or slurm/mpi), or use SingleDeviceStrategy for "
            "one process."
        )
