"""``FSDPStrategy``: fully sharded data parallel training with torch's FSDP.

Design note: torch's FSDP package is imported only inside methods (constructing the strategy,
wrapping, saving, loading), never when ``piston._strategy`` is imported. ``state_dict_cfg``
decides the checkpoint layout: a *full* state dict is gathered on rank 0 (CPU offload) and
written as one file; any other type (``'local'``, or a dict naming e.g. ``SHARDED_STATE_DICT``)
is per-rank, so ``save_checkpoint(filename)`` makes ``filename`` a directory holding
``rank<r>.pth`` from every rank. Saving and loading are collective: every rank must call them.
Per-rank files hold torch's sharded tensors, so they are read with ``weights_only=False``; they
are only ever written by this strategy.
"""

from __future__ import annotations

import functools
import os
import os.path as osp
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from piston.registry import STRATEGIES

from .base import _DEFAULT_REVISE_KEYS, _revise
from .distributed import DDPStrategy, _require_process_group

__all__ = ["FSDPStrategy"]

# Classes a dict ``state_dict_config`` / ``optim_state_dict_config`` may name by ``type``.
_CONFIG_NAMES = (
    "StateDictConfig",
    "FullStateDictConfig",
    "LocalStateDictConfig",
    "ShardedStateDictConfig",
    "OptimStateDictConfig",
    "FullOptimStateDictConfig",
    "LocalOptimStateDictConfig",
    "ShardedOptimStateDictConfig",
)


def _build_config(value: Any, arg: str) -> Any:
    from torch.distributed import fsdp

    if isinstance(value, (fsdp.StateDictConfig, fsdp.OptimStateDictConfig)):
        return value
    if not isinstance(value, dict):
        raise TypeError(
            f"state_dict_cfg[{arg!r}] should be a dict with `type` or a torch FSDP config "
            f"object, but got {type(value).__name__}: {value!r}"
        )
    cfg = dict(value)
    cls = cfg.pop("type", None)
    if isinstance(cls, str):
        if cls not in _CONFIG_NAMES:
            raise ValueError(
                f"state_dict_cfg[{arg!r}]['type']={cls!r} is not one of {list(_CONFIG_NAMES)}"
            )
        cls = getattr(fsdp, cls)
    if not isinstance(cls, type):
        raise TypeError(
            f"state_dict_cfg[{arg!r}] needs `type` naming one of {list(_CONFIG_NAMES)}, "
            f"but got {value!r}"
        )
    return cls(**cfg)


def _resolve_state_dict_cfg(state_dict_cfg: str | dict) -> tuple[Any, Any, Any]:
    """``(StateDictType, state_dict_config, optim_state_dict_config)`` of ``state_dict_cfg``."""
    from torch.distributed import fsdp

    if isinstance(state_dict_cfg, str):
        if state_dict_cfg == "local":
            return (
                fsdp.StateDictType.LOCAL_STATE_DICT,
                fsdp.LocalStateDictConfig(),
                fsdp.LocalOptimStateDictConfig(),
            )
        if state_dict_cfg == "full":
            # On a CPU-only run the state already is on the CPU; asking torch to "offload" it
            # there anyway makes FSDP's gathered optimizer states alias one reused buffer
            # (exp_avg came back equal to exp_avg_sq in testing), so offload only from GPUs.
            offload = torch.cuda.is_available()
            return (
                fsdp.StateDictType.FULL_STATE_DICT,
                fsdp.FullStateDictConfig(offload_to_cpu=offload, rank0_only=True),
                fsdp.FullOptimStateDictConfig(offload_to_cpu=offload, rank0_only=True),
            )
        raise ValueError(
            f"state_dict_cfg should be 'local', 'full' or a dict, but got {state_dict_cfg!r}"
        )
    if not isinstance(state_dict_cfg, dict):
        raise TypeError(
            "state_dict_cfg should be 'local', 'full' or a dict with `state_dict_type`, but got "
            f"{type(state_dict_cfg).__name__}: {state_dict_cfg!r}"
        )
    cfg = dict(state_dict_cfg)
    unknown = set(cfg) - {"state_dict_type", "state_dict_config", "optim_state_dict_config"}
    if unknown:
        raise ValueError(
            f"state_dict_cfg has unknown keys {sorted(unknown)}; allowed are "
            "'state_dict_type', 'state_dict_config', 'optim_state_dict_config'."
        )
    if "state_dict_type" not in cfg:
        raise ValueError(f"state_dict_cfg={state_dict_cfg!r} needs a `state_dict_type` key.")
    sd_type = cfg["state_dict_type"]
    if isinstance(sd_type, str):
        try:
            sd_type = fsdp.StateDictType[sd_type]
        except KeyError:
            raise ValueError(
                f"state_dict_type={sd_type!r} is not one of {[m.name for m in fsdp.StateDictType]}"
            ) from None
    elif not isinstance(sd_type, fsdp.StateDictType):
        raise TypeError(f"state_dict_type should be a str or StateDictType, but got {sd_type!r}")
    sd_config = cfg.get("state_dict_config")
    optim_config = cfg.get("optim_state_dict_config")
    return (
        sd_type,
        None if sd_config is None else _build_config(sd_config, "state_dict_config"),
        None if optim_config is None else _build_config(optim_config, "optim_state_dict_config"),
    )


def _resolve_check_fn(check_fn: Any) -> Callable:
    from piston.registry import FUNCTIONS

    if isinstance(check_fn, dict):
        kwargs = dict(check_fn)
        fn = kwargs.pop("type", None)
        return functools.partial(_resolve_check_fn(fn), **kwargs)
    if isinstance(check_fn, str):
        fn = FUNCTIONS.get(check_fn)
        if fn is None:
            raise ValueError(
                f"activation_checkpointing check_fn={check_fn!r} is not registered in FUNCTIONS"
            )
        return fn
    if callable(check_fn):
        return check_fn
    raise TypeError(
        "activation_checkpointing['check_fn'] should be a str, dict or callable, but got "
        f"{type(check_fn).__name__}: {check_fn!r}"
    )


@STRATEGIES.register_module()
class FSDPStrategy(DDPStrategy):
    """Fully sharded data parallel strategy (strategy.md §5).

    Args:
        model_wrapper: ``MODEL_WRAPPERS`` config; default
            ``dict(type='MMFullyShardedDataParallel')``; ``module`` (and ``device_id`` on CUDA)
            are filled in.
        skip_init_weights: Build dict models on the meta device and materialise empty CPU
            tensors without initialising them (load a checkpoint afterwards).
        state_dict_cfg: ``'local'`` (per-rank files), ``'full'`` (one file from rank 0) or
            ``dict(state_dict_type=..., state_dict_config=..., optim_state_dict_config=...)``.
        activation_checkpointing: ``dict(check_fn=<str|dict|callable>, **kwargs)`` for torch's
            ``apply_activation_checkpointing``.
        **kwargs: ``DDPStrategy``/``BaseStrategy`` arguments.
    """

    def __init__(
        self,
        *,
        model_wrapper: dict | None = None,
        skip_init_weights: bool = False,
        state_dict_cfg: str | dict = "local",
        activation_checkpointing: dict | None = None,
        **kwargs: Any,
    ) -> None:
        self._state_dict_type, self._state_dict_config, self._optim_state_dict_config = (
            _resolve_state_dict_cfg(state_dict_cfg)
        )
        self.state_dict_cfg = state_dict_cfg
        if activation_checkpointing is not None:
            if not isinstance(activation_checkpointing, dict):
                raise TypeError(
                    "activation_checkpointing should be a dict like dict(check_fn=...), but "
                    f"got {type(activation_checkpointing).__name__}"
                )
            if "check_fn" not in activation_checkpointing:
                raise ValueError(
                    "activation_checkpointing needs `check_fn` (a FUNCTIONS name, a dict with "
                    "`type`, or a callable selecting the modules to checkpoint)."
                )
            _resolve_check_fn(activation_checkpointing["check_fn"])
        self.activation_checkpointing = activation_checkpointing
        self.skip_init_weights = bool(skip_init_weights)
        if model_wrapper is None:
            model_wrapper = dict(type="MMFullyShardedDataParallel")
        super().__init__(model_wrapper=model_wrapper, **kwargs)

    @property
    def _full_state(self) -> bool:
        from torch.distributed.fsdp import StateDictType

        return self._state_dict_type == StateDictType.FULL_STATE_DICT

    def _state_dict_context(self) -> Any:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        return FSDP.state_dict_type(
            self.model,
            self._state_dict_type,
            self._state_dict_config,
            self._optim_state_dict_config,
        )

    # ------------------------------------------------------------------ prepare
    def build_model(self, model: nn.Module | dict) -> nn.Module:
        if not (self.skip_init_weights and isinstance(model, dict)):
            return super().build_model(model)
        from piston.registry import MODELS

        with torch.device("meta"):
            built = MODELS.build(model)
        self.logger.info(
            "skip_init_weights=True: the model was built on the meta device and materialised "
            "with uninitialised CPU tensors; load a checkpoint to set its weights."
        )
        return built.to_empty(device="cpu")

    def _init_model_weights(self, model: nn.Module) -> nn.Module:
        if self.skip_init_weights:
            return model
        return super()._init_model_weights(model)

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        from piston.device import get_device
        from piston.model import BaseDataPreprocessor, is_model_wrapper
        from piston.registry import MODEL_WRAPPERS

        if is_model_wrapper(model):
            return model
        _require_process_group(type(self).__name__)
        device = get_device()
        for module in model.modules():
            if isinstance(module, BaseDataPreprocessor):
                module.to(device)
        cfg = dict(self.model_wrapper)
        cfg.setdefault("type", "MMFullyShardedDataParallel")
        default_args: dict = {"module": model}
        if device == "cuda":
            default_args["device_id"] = int(os.environ.get("LOCAL_RANK", 0))
        model = MODEL_WRAPPERS.build(cfg, default_args=default_args)
        if self.activation_checkpointing is not None:
            from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
                apply_activation_checkpointing,
            )

            kwargs = dict(self.activation_checkpointing)
            check_fn = _resolve_check_fn(kwargs.pop("check_fn"))
            apply_activation_checkpointing(model, check_fn=check_fn, **kwargs)
            self.logger.info("Activation checkpointing was applied to the FSDP model.")
        return model

    # ------------------------------------------------------------------ state dicts
    def model_state_dict(self) -> dict:
        """The FSDP state dict of ``state_dict_cfg`` (collective; empty off rank 0 for full)."""
        with self._state_dict_context():
            return self.model.state_dict()

    def optim_state_dict(self) -> dict:
        """``FSDP.optim_state_dict`` plus the wrapper's own keys (e.g. ``loss_scaler``)."""
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        wrapper = self.optim_wrapper
        extras = {
            k: v for k, v in wrapper.state_dict().items() if k not in ("state", "param_groups")
        }
        with self._state_dict_context():
            state = dict(FSDP.optim_state_dict(self.model, wrapper.optimizer))
        state.update(extras)
        return state

    def load_model_state_dict(
        self,
        state_dict: dict,
        *,
        strict: bool = False,
        revise_keys: list = _DEFAULT_REVISE_KEYS,
    ) -> None:
        state_dict = _revise(state_dict, revise_keys)
        with self._state_dict_context():
            self.model.load_state_dict(state_dict, strict=strict)

    def load_optim_state_dict(self, state_dict: dict) -> None:
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

        state_dict = dict(state_dict)
        extras = {
            k: state_dict.pop(k) for k in list(state_dict) if k not in ("state", "param_groups")
        }
        with self._state_dict_context():
            to_load = FSDP.optim_state_dict_to_load(
                self.model, self.optim_wrapper.optimizer, state_dict
            )
        self.optim_wrapper.load_state_dict({**to_load, **extras})

    # ------------------------------------------------------------------ checkpoints
    def _rank_file(self, filename: str) -> str:
        return osp.join(filename, f"rank{self._rank}.pth")

    def _read_checkpoint(self, filename: str, map_location: str | Callable) -> Any:
        """``filename`` (full state) or ``filename/rank<r>.pth`` (per-rank state)."""
        if self._full_state:
            return super()._read_checkpoint(filename, map_location)
        from piston.runner.checkpoint import _load_checkpoint

        path = self._rank_file(filename)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f"{path} does not exist: FSDPStrategy(state_dict_cfg={self.state_dict_cfg!r})"
                f" reads per-rank files from the checkpoint directory {filename}, written by "
                "the same number of ranks."
            )
        return _load_checkpoint(path, map_location=map_location, weights_only=False)

    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: dict | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Collective: full state → rank 0 writes ``filename``; else every rank writes
        ``filename/rank<r>.pth``."""
        from piston.runner.checkpoint import save_checkpoint

        checkpoint = self._collect_checkpoint(save_optimizer, save_param_scheduler, extra_ckpt)
        if self._full_state:
            if self._rank == 0:
                if callback is not None:
                    callback(checkpoint)
                save_checkpoint(checkpoint, filename)
            return
        os.makedirs(filename, exist_ok=True)
        if callback is not None:
            callback(checkpoint)
        save_checkpoint(checkpoint, self._rank_file(filename))
        from piston.dist import barrier

        barrier()  # the directory is complete before anyone (e.g. last_checkpoint) points to it
