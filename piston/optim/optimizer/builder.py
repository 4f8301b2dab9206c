"""Optimizer registration and ``build_optim_wrapper``.

Design note: every ``torch.optim.Optimizer`` subclass is registered at import (cheap: torch
already imported them). Third-party optimizers are registered only when their package is
installed, checked with ``importlib.util.find_spec`` so that nothing is imported until such an
optimizer is actually built: the registry holds a small factory that imports the class on call.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

from piston.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

__all__ = [
    "build_optim_wrapper",
    "optional_optimizer_hint",
    "register_optional_optimizers",
    "register_torch_optimizers",
]

# registered name -> (module, attribute); registered only when the top-level package exists.
_OPTIONAL_OPTIMIZERS: dict[str, tuple[str, str]] = {
    "DAdaptAdaGrad": ("dadaptation", "DAdaptAdaGrad"),
    "DAdaptAdam": ("dadaptation", "DAdaptAdam"),
    "DAdaptSGD": ("dadaptation", "DAdaptSGD"),
    "Lion": ("lion_pytorch", "Lion"),
    "SophiaG": ("Sophia", "SophiaG"),
    "Adafactor": ("transformers", "Adafactor"),
}
_BNB_OPTIMIZERS = (
    "Adagrad", "Adagrad8bit", "Adagrad32bit", "Adam", "Adam8bit", "Adam32bit", "AdamW",
    "AdamW8bit", "AdamW32bit", "LAMB", "LAMB8bit", "LAMB32bit", "LARS", "LARS8bit", "LARS32bit",
    "Lion", "Lion8bit", "Lion32bit", "PagedAdam", "PagedAdam8bit", "PagedAdamW",
    "PagedAdamW8bit", "PagedLion", "PagedLion8bit", "RMSprop", "RMSprop8bit", "RMSprop32bit",
    "SGD", "SGD8bit", "SGD32bit",
)  # fmt: skip
# top-level module -> the distribution to ``pip install``.
_PIP_NAMES = {
    "dadaptation": "dadaptation",
    "lion_pytorch": "lion-pytorch",
    "Sophia": "Sophia-Optimizer",
    "transformers": "transformers",
    "bitsandbytes": "bitsandbytes",
}


def register_torch_optimizers() -> list[str]:
    """Register every optimizer class of ``torch.optim`` (``Adafactor`` as ``TorchAdafactor``).

    Returns:
        The registered names.
    """
    names = []
    for attr in dir(torch.optim):
        if attr.startswith("__"):
            continue
        obj = getattr(torch.optim, attr)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer):
            name = "TorchAdafactor" if attr == "Adafactor" else attr
            if name not in OPTIMIZERS.module_dict:
                OPTIMIZERS.register_module(name=name, module=obj)
            names.append(name)
    return names


def _lazy_optimizer(name: str, module: str, attr: str) -> Callable[..., torch.optim.Optimizer]:
    def build(params: Any, *args: Any, **kwargs: Any) -> torch.optim.Optimizer:
        optimizer_cls = getattr(importlib.import_module(module), attr)
        return optimizer_cls(params, *args, **kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = f"Build ``{module}.{attr}`` (imported on first use)."
    return build


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def register_optional_optimizers() -> list[str]:
    """Register installed third-party optimizers without importing them.

    Covers dadaptation, lion-pytorch, Sophia, transformers' ``Adafactor`` and bitsandbytes
    (prefixed ``bnb_`` when the name is already taken).

    Returns:
        The registered names.
    """
    names = []
    for name, (module, attr) in _OPTIONAL_OPTIMIZERS.items():
        if name not in OPTIMIZERS.module_dict and _installed(module):
            OPTIMIZERS.register_module(name=name, module=_lazy_optimizer(name, module, attr))
            names.append(name)
    if _installed("bitsandbytes"):
        for attr in _BNB_OPTIMIZERS:
            name = f"bnb_{attr}" if attr in OPTIMIZERS.module_dict else attr
            if name not in OPTIMIZERS.module_dict:
                factory = _lazy_optimizer(name, "bitsandbytes.optim", attr)
                OPTIMIZERS.register_module(name=name, module=factory)
                names.append(name)
    return names


def optional_optimizer_hint(name: str) -> str | None:
    """What to do when ``name``, a known third-party optimizer, is not registered.

    Args:
        name: The optimizer ``type`` of a config.

    Returns:
        A sentence naming the package to install, or None if ``name`` is no known optional
        optimizer (or it is registered).
    """
    if name in OPTIMIZERS.module_dict:
        return None
    module = _OPTIONAL_OPTIMIZERS.get(name, (None,))[0]
    if module is None and name.removeprefix("bnb_") in _BNB_OPTIMIZERS:
        module = "bitsandbytes"
    if module is None:
        return None
    pip_name = _PIP_NAMES[module]
    hint = (
        f"`{name}` comes from the optional package `{pip_name}`, which is not installed: "
        f"run `pip install {pip_name}` (optimizers of installed packages are registered when "
        "piston.optim is imported)."
    )
    if name == "Adafactor":
        hint += " torch's own Adafactor is registered as `TorchAdafactor`."
    return hint


def _npu_needs_amp() -> bool:
    try:
        from piston.device import is_npu_available, is_npu_support_full_precision
    except ImportError:
        return False
    return is_npu_available() and not is_npu_support_full_precision()


def build_optim_wrapper(model: nn.Module, cfg: dict) -> Any:
    """Build an optimizer wrapper for ``model`` from an ``optim_wrapper`` config.

    Args:
        model: The model whose parameters are optimized.
        cfg: e.g. ``dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01),
            paramwise_cfg=..., constructor='DefaultOptimWrapperConstructor')``. Not modified.

    Returns:
        An ``OptimWrapper`` (or an ``OptimWrapperDict`` from a multi-optimizer constructor).
    """
    optim_wrapper_cfg = copy.deepcopy(cfg)
    constructor_type = optim_wrapper_cfg.pop("constructor", "DefaultOptimWrapperConstructor")
    paramwise_cfg = optim_wrapper_cfg.pop("paramwise_cfg", None)
    if _npu_needs_amp():
        optim_wrapper_cfg["type"] = "AmpOptimWrapper"
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        {
            "type": constructor_type,
            "optim_wrapper_cfg": optim_wrapper_cfg,
            "paramwise_cfg": paramwise_cfg,
        }
    )
    return constructor(model)
