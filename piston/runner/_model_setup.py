"""What the runners do to the model before training: weight init, cfg transforms, compile."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

__all__ = [
    "apply_memory_options",
    "apply_model_transforms",
    "init_model_weights",
    "maybe_compile",
    "unwrap",
]


def unwrap(model: nn.Module) -> nn.Module:
    from piston.model import is_model_wrapper

    return model.module if is_model_wrapper(model) else model


def init_model_weights(model: nn.Module) -> None:
    """``init_weights()`` on the unwrapped model, then broadcast every state tensor from rank 0."""
    model = unwrap(model)
    if not hasattr(model, "init_weights"):
        return
    model.init_weights()
    from piston.dist import broadcast, is_distributed

    if is_distributed():
        for value in model.state_dict().values():
            broadcast(value)


def apply_memory_options(model: nn.Module, cfg: Any, logger: Any) -> None:
    """``cfg.activation_checkpointing`` and ``cfg.efficient_conv_bn_eval`` on the unwrapped model.

    Shared by ``Runner.train()`` and ``FlexibleRunner.train()`` (after the strategy prepared the
    model), so both read the two keys the same way and log the same lines.
    """
    checkpointing = cfg.get("activation_checkpointing")
    if checkpointing is not None:
        from .activation_checkpointing import turn_on_activation_checkpointing

        logger.info(
            f'Enabling the "activation_checkpointing" feature for sub-modules: {checkpointing}'
        )
        turn_on_activation_checkpointing(unwrap(model), checkpointing)
    efficient_modules = cfg.get("efficient_conv_bn_eval")
    if efficient_modules is not None:
        from piston.model.efficient_conv_bn_eval import turn_on_efficient_conv_bn_eval

        logger.info(
            f'Enabling the "efficient_conv_bn_eval" feature for sub-modules: {efficient_modules}'
        )
        turn_on_efficient_conv_bn_eval(unwrap(model), efficient_modules)


def apply_model_transforms(runner: Any) -> None:
    """``cfg.activation_checkpointing``, ``cfg.efficient_conv_bn_eval`` and ``cfg.fast``."""
    apply_memory_options(runner.model, runner.cfg, runner.logger)
    if runner.cfg.get("fast"):
        from ._fast import apply_fast_model

        apply_fast_model(runner)


def maybe_compile(runner: Any) -> None:
    """``cfg.compile``: True or ``torch.compile`` kwargs; compiles ``model.train_step``."""
    compile_cfg = runner.cfg.get("compile", False)
    if not compile_cfg:
        return
    kwargs = {} if compile_cfg is True else dict(compile_cfg)
    if kwargs.pop("disable", False):
        return
    target = kwargs.pop("target", "train_step")
    setattr(runner.model, target, torch.compile(getattr(runner.model, target), **kwargs))
    runner.logger.info(
        f'Model has been "compiled" ({target}). The first few iterations will be slow.'
    )
