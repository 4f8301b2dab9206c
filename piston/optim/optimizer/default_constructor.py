"""DefaultOptimWrapperConstructor: builds the optimizer (with per-parameter options) and wrapper.

Design note: with a ``paramwise_cfg`` every parameter gets its own param group, in module
traversal order (a module's own parameters, then its children), so that per-parameter options
(``custom_keys`` with the longest-substring rule, then the norm → bias → depthwise → flat decay
precedence) stay simple and explicit. All validation happens in ``__init__`` except the check
that every ``custom_keys`` entry matches some parameter, which needs the model.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import torch.nn as nn
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from piston.logging import print_log
from piston.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ["DefaultOptimWrapperConstructor"]

_NORM_TYPES = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)
_DECAY_MULT_KEYS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult")


def _dcn_types() -> tuple[type, ...]:
    """mmcv's deformable convolutions, when mmcv (full) is installed and already imported."""
    import sys

    ops = sys.modules.get("mmcv.ops")
    if ops is None:
        return ()
    return tuple(
        getattr(ops, name)
        for name in ("DeformConv2d", "ModulatedDeformConv2d")
        if hasattr(ops, name)
    )


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """Default constructor of optimizer wrappers.

    Args:
        optim_wrapper_cfg: The ``optim_wrapper`` config without ``constructor`` and
            ``paramwise_cfg``; it must contain ``optimizer``.
        paramwise_cfg: Per-parameter options: ``custom_keys``, ``bias_lr_mult``,
            ``bias_decay_mult``, ``norm_decay_mult``, ``dwconv_decay_mult``, ``flat_decay_mult``,
            ``dcn_offset_lr_mult``, ``bypass_duplicate``.

    Example:
        >>> constructor = DefaultOptimWrapperConstructor(
        ...     dict(optimizer=dict(type='SGD', lr=0.01, weight_decay=1e-4)),
        ...     dict(norm_decay_mult=0.0, custom_keys={'head': dict(lr_mult=10.0)}))
        >>> optim_wrapper = constructor(model)
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError(
                f"optimizer_cfg should be a dict, but got {type(optim_wrapper_cfg)}: "
                f"{optim_wrapper_cfg!r}."
            )
        if "optimizer" not in optim_wrapper_cfg:
            raise AssertionError(
                '`optim_wrapper_cfg` must contain "optimizer" config, e.g. '
                f"optimizer=dict(type='SGD', lr=0.01); got keys {list(optim_wrapper_cfg)}."
            )
        self.optim_wrapper_cfg = dict(optim_wrapper_cfg)
        self.optimizer_cfg = self.optim_wrapper_cfg.pop("optimizer")
        self.paramwise_cfg = {} if paramwise_cfg is None else paramwise_cfg
        self.base_lr = self.optimizer_cfg.get("lr", None)
        self.base_wd = self.optimizer_cfg.get("weight_decay", None)
        self._validate_cfg()

    def _validate_cfg(self) -> None:
        if not isinstance(self.paramwise_cfg, dict):
            raise TypeError(
                f"paramwise_cfg should be None or a dict, but got {type(self.paramwise_cfg)}."
            )
        custom_keys = self.paramwise_cfg.get("custom_keys", None)
        if custom_keys is not None:
            if not isinstance(custom_keys, dict):
                raise TypeError(
                    "If specified, custom_keys must be a dict of substring -> options, but got "
                    f"{type(custom_keys)}."
                )
            if self.base_wd is None:
                for key, options in custom_keys.items():
                    if "decay_mult" in options:
                        raise ValueError(
                            f"base_wd should not be None: paramwise_cfg.custom_keys[{key!r}] "
                            "sets decay_mult, so set `weight_decay` in the optimizer config."
                        )
        if self.base_wd is None:
            for key in _DECAY_MULT_KEYS:
                if key in self.paramwise_cfg:
                    raise ValueError(
                        f"base_wd should not be None: paramwise_cfg sets {key}, so set "
                        "`weight_decay` in the optimizer config."
                    )

    def __call__(self, model: nn.Module) -> Any:
        """Build the optimizer for ``model`` (``model.module`` when wrapped) and its wrapper."""
        if hasattr(model, "module"):
            model = model.module
        optim_wrapper_cfg = dict(self.optim_wrapper_cfg)
        optim_wrapper_cfg.setdefault("type", "OptimWrapper")
        optimizer_cfg = dict(self.optimizer_cfg)
        first_arg_name = self._first_arg_name(optimizer_cfg)
        if not self.paramwise_cfg:
            optimizer_cfg[first_arg_name] = model.parameters()
        else:
            params: list[dict] = []
            # MMEngine's call signature: subclasses (mmdet, mmpretrain, user constructors)
            # override ``add_params(params, module, prefix='', is_dcn_module=None)``.
            self.add_params(params, model)
            self._check_custom_keys(model)
            optimizer_cfg[first_arg_name] = params
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        return OPTIM_WRAPPERS.build(optim_wrapper_cfg, default_args={"optimizer": optimizer})

    @staticmethod
    def _first_arg_name(optimizer_cfg: dict) -> str:
        optimizer_type = optimizer_cfg.get("type")
        optimizer_cls = optimizer_type
        if isinstance(optimizer_type, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_type)
            if optimizer_cls is None:
                from piston.optim.optimizer.builder import optional_optimizer_hint

                hint = optional_optimizer_hint(optimizer_type)
                if hint is not None:
                    raise KeyError(f"{optimizer_type} is not in the optimizer registry. {hint}")
                # Let the registry raise its KeyError, which lists the closest names.
                OPTIMIZERS.build(optimizer_cfg)
        if not callable(optimizer_cls):
            raise TypeError(
                f"optimizer type must be a registered name or an optimizer class, but got "
                f"{optimizer_type!r}."
            )
        return next(iter(inspect.signature(optimizer_cls).parameters))

    def _check_custom_keys(self, model: nn.Module) -> None:
        custom_keys = self.paramwise_cfg.get("custom_keys", {})
        if not custom_keys:
            return
        # Same names as add_params matches against: ``<module prefix>.<param name>``.
        names = [
            f"{prefix}.{name}"
            for prefix, module in model.named_modules(remove_duplicate=False)
            for name, _ in module.named_parameters(recurse=False)
        ]
        unmatched = [key for key in custom_keys if not any(key in name for name in names)]
        if not unmatched:
            return
        names = [name for name, _ in model.named_parameters()][:5]
        msg = (
            f"paramwise_cfg.custom_keys {unmatched} match no parameter of "
            f"{type(model).__name__}. A key applies to every parameter whose name contains it, "
            f"and names look like {names}. Fix the key or remove it."
        )
        if len(unmatched) == len(custom_keys):
            raise ValueError(msg)
        # Some keys match: configs shared between model variants (e.g. an absolute position
        # embedding that is switched off) legitimately carry keys for absent parameters.
        print_log(msg, logger="current", level=logging.WARNING)

    def add_params(
        self,
        params: list[dict],
        module: nn.Module,
        prefix: str = "",
        is_dcn_module: bool | None = None,
    ) -> None:
        """Append one param group per parameter of ``module`` (recursively) to ``params``.

        Args:
            params: The list of param groups being built (modified in place).
            module: The module whose parameters are added.
            prefix: Dotted name of ``module`` in the model.
            is_dcn_module: Whether ``module`` is inside an mmcv deformable convolution.
        """
        cfg = self.paramwise_cfg
        custom_keys = cfg.get("custom_keys", {})
        # Longest key first; alphabetical order breaks ties.
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        bypass_duplicate = cfg.get("bypass_duplicate", False)
        is_norm = isinstance(module, _NORM_TYPES)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups

        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            key = next((k for k in sorted_keys if k in f"{prefix}.{name}"), None)
            if not param.requires_grad:
                print_log(
                    f"{full_name} is skipped since its requires_grad={param.requires_grad}",
                    logger="current",
                    level=logging.WARNING,
                )
                continue
            if bypass_duplicate and self._is_in(param, params):
                print_log(
                    f"{full_name} is duplicate. It is skipped since "
                    f"bypass_duplicate={bypass_duplicate}",
                    logger="current",
                    level=logging.WARNING,
                )
                continue
            param_group: dict[str, Any] = {"params": [param]}
            if key is not None:
                self._apply_custom_key(param_group, custom_keys[key])
            else:
                self._apply_rules(
                    param_group,
                    name,
                    param,
                    module,
                    prefix,
                    is_norm,
                    is_dwconv,
                    bool(is_dcn_module),
                )
            params.append(param_group)
            for option, value in param_group.items():
                if option != "params":
                    print_log(f"paramwise_options -- {full_name}:{option}={value}", "current")

        dcn_types = _dcn_types()
        child_is_dcn = bool(dcn_types) and isinstance(module, dcn_types)
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(
                params,
                child,
                prefix=child_prefix,
                is_dcn_module=child_is_dcn,
            )

    def _apply_custom_key(self, param_group: dict, options: dict) -> None:
        if self.base_lr is not None:
            param_group["lr"] = self.base_lr * options.get("lr_mult", 1.0)
        if self.base_wd is not None:
            param_group["weight_decay"] = self.base_wd * options.get("decay_mult", 1.0)
        param_group.update(options)

    def _apply_rules(
        self,
        param_group: dict,
        name: str,
        param: nn.Parameter,
        module: nn.Module,
        prefix: str,
        is_norm: bool,
        is_dwconv: bool,
        is_dcn_module: bool,
    ) -> None:
        cfg = self.paramwise_cfg
        bias_lr_mult = cfg.get("bias_lr_mult", None)
        dcn_offset_lr_mult = cfg.get("dcn_offset_lr_mult", None)
        if (
            name == "bias"
            and not (is_norm or is_dcn_module)
            and bias_lr_mult is not None
            and self.base_lr is not None
        ):
            param_group["lr"] = self.base_lr * bias_lr_mult
        if (
            "conv_offset" in prefix
            and is_dcn_module
            and dcn_offset_lr_mult is not None
            and isinstance(module, nn.Conv2d)
            and self.base_lr is not None
        ):
            param_group["lr"] = self.base_lr * dcn_offset_lr_mult
        if self.base_wd is None:
            return
        norm_mult = cfg.get("norm_decay_mult", None)
        bias_mult = cfg.get("bias_decay_mult", None)
        dwconv_mult = cfg.get("dwconv_decay_mult", None)
        flat_mult = cfg.get("flat_decay_mult", None)
        if is_norm and norm_mult is not None:
            param_group["weight_decay"] = self.base_wd * norm_mult
        elif name == "bias" and not is_dcn_module and bias_mult is not None:
            param_group["weight_decay"] = self.base_wd * bias_mult
        elif is_dwconv and dwconv_mult is not None:
            param_group["weight_decay"] = self.base_wd * dwconv_mult
        elif param.ndim == 1 and not is_dcn_module and flat_mult is not None:
            param_group["weight_decay"] = self.base_wd * flat_mult

    @staticmethod
    def _is_in(param: nn.Parameter, param_groups: list[dict]) -> bool:
        return any(param is p for group in param_groups for p in group["params"])
