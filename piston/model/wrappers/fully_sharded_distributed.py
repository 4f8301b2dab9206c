"""MMFullyShardedDataParallel: torch FSDP with config-friendly arguments and the step API.

Design note: importing ``torch.distributed.fsdp`` costs most of a second, so this module is
imported only on first use (``piston.model.MMFullyShardedDataParallel`` and the registry entry
are lazy, see ``wrappers/__init__.py``). Importing it registers the real class in
MODEL_WRAPPERS, replacing the placeholder, and torch's auto-wrap policies in FUNCTIONS so that
configs can name them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn as nn
from torch.distributed.fsdp import (
    BackwardPrefetch,
    CPUOffload,
    FullyShardedDataParallel,
    MixedPrecision,
    ShardingStrategy,
)
from torch.distributed.fsdp import wrap as fsdp_wrap

from piston.registry import FUNCTIONS, MODEL_WRAPPERS

__all__ = ["MMFullyShardedDataParallel"]

for _name in (
    "always_wrap_policy",
    "lambda_auto_wrap_policy",
    "size_based_auto_wrap_policy",
    "transformer_auto_wrap_policy",
):
    if _name not in FUNCTIONS.module_dict:
        FUNCTIONS.register_module(name=_name, module=getattr(fsdp_wrap, _name))


def _resolve_enum(value: Any, enum_type: type, arg: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return enum_type[value.upper()]
    except KeyError as exc:
        raise ValueError(
            f"{arg}={value!r} is not a {enum_type.__name__}; "
            f"use one of {[member.name for member in enum_type]}"
        ) from exc


def _resolve_function(value: Any, arg: str) -> Callable | None:
    """A callable, a name registered in FUNCTIONS, or ``dict(type=name, **partial_kwargs)``."""
    if value is None or callable(value):
        return value
    kwargs: dict = {}
    if isinstance(value, dict):
        kwargs = dict(value)
        value = kwargs.pop("type")
    if isinstance(value, str):
        fn = FUNCTIONS.get(value)
        if fn is None:
            raise ValueError(f"{arg}={value!r} is not registered in the FUNCTIONS registry")
    elif callable(value):
        fn = value
    else:
        raise TypeError(f"{arg} should be a str, a callable or a dict, but got {type(value)}")
    return functools.partial(fn, **kwargs) if kwargs else fn


def _resolve_mixed_precision(value: dict | MixedPrecision | None) -> MixedPrecision | None:
    if not isinstance(value, dict):
        return value
    value = dict(value)
    for key in ("param_dtype", "reduce_dtype", "buffer_dtype"):
        if isinstance(value.get(key), str):
            value[key] = getattr(torch, value[key])
    return MixedPrecision(**value)


def _resolve_ignored(module: nn.Module, kwargs: dict) -> None:
    if "ignored_modules" in kwargs and kwargs["ignored_modules"] is not None:
        kwargs["ignored_modules"] = [
            module.get_submodule(item) if isinstance(item, str) else item
            for item in kwargs["ignored_modules"]
        ]
    params: Iterable | None = kwargs.pop("ignored_parameters", None)
    if params is not None:
        kwargs["ignored_states"] = [
            module.get_parameter(item) if isinstance(item, str) else item for item in params
        ]


class MMFullyShardedDataParallel(FullyShardedDataParallel):
    """Fully sharded data parallel wrapper accepting strings/dicts from configs.

    Args:
        module: Model to shard (usually a ``BaseModel``).
        process_group: Process group to shard over (default group when None).
        sharding_strategy: A ``ShardingStrategy`` or its name (``'FULL_SHARD'``...).
        cpu_offload: ``True`` offloads parameters to the CPU, or a ``CPUOffload``.
        auto_wrap_policy: Callable, FUNCTIONS name, or ``dict(type=name, **kwargs)``.
        backward_prefetch: A ``BackwardPrefetch`` or its name (``'BACKWARD_PRE'``...).
        mixed_precision: A ``MixedPrecision`` or a dict whose dtypes may be strings.
        param_init_fn: Callable, FUNCTIONS name, or dict like ``auto_wrap_policy``.
        use_orig_params: Keep the original parameters visible (needed for param groups).
        **kwargs: Other FSDP arguments; ``ignored_modules`` / ``ignored_parameters`` may be
            names of submodules / parameters.
    """

    def __init__(
        self,
        module: nn.Module,
        process_group: Any = None,
        sharding_strategy: str | ShardingStrategy | None = None,
        cpu_offload: bool | CPUOffload | None = None,
        auto_wrap_policy: str | Callable | dict | None = None,
        backward_prefetch: str | BackwardPrefetch | None = None,
        mixed_precision: dict | MixedPrecision | None = None,
        param_init_fn: str | Callable | dict | None = None,
        use_orig_params: bool = True,
        **kwargs: Any,
    ) -> None:
        if cpu_offload is True:
            cpu_offload = CPUOffload(offload_params=True)
        elif cpu_offload is False:
            cpu_offload = None
        if backward_prefetch is not None:
            kwargs["backward_prefetch"] = _resolve_enum(
                backward_prefetch, BackwardPrefetch, "backward_prefetch"
            )
        if "device_id" not in kwargs:
            kwargs["device_id"] = (
                torch.cuda.current_device() if torch.cuda.is_available() else torch.device("cpu")
            )
        _resolve_ignored(module, kwargs)
        super().__init__(
            module=module,
            process_group=process_group,
            sharding_strategy=_resolve_enum(
                sharding_strategy, ShardingStrategy, "sharding_strategy"
            ),
            cpu_offload=cpu_offload,
            auto_wrap_policy=_resolve_function(auto_wrap_policy, "auto_wrap_policy"),
            mixed_precision=_resolve_mixed_precision(mixed_precision),
            param_init_fn=_resolve_function(param_init_fn, "param_init_fn"),
            use_orig_params=use_orig_params,
            **kwargs,
        )

    def train_step(self, data: dict | tuple | list, optim_wrapper: Any) -> dict[str, torch.Tensor]:
        """Like ``BaseModel.train_step``, with the forward pass going through FSDP."""
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = self._run_forward(data, mode="loss")
        parsed_loss, log_vars = self.module.parse_losses(losses)
        optim_wrapper.update_params(parsed_loss)
        return log_vars

    def val_step(self, data: dict | tuple | list) -> list:
        """Preprocess with the wrapped model's preprocessor, predict through FSDP."""
        data = self.module.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def test_step(self, data: dict | tuple | list) -> list:
        """Preprocess with the wrapped model's preprocessor, predict through FSDP."""
        data = self.module.data_preprocessor(data, False)
        return self._run_forward(data, mode="predict")

    def _run_forward(self, data: dict | tuple | list, mode: str) -> Any:
        if isinstance(data, dict):
            return self(**data, mode=mode)
        if isinstance(data, (list, tuple)):
            return self(*data, mode=mode)
        raise TypeError(
            f"Output of `data_preprocessor` should be list, tuple or dict, but got {type(data)}"
        )


MODEL_WRAPPERS.register_module(module=MMFullyShardedDataParallel, force=True)
