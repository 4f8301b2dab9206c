"""Weight initialisation: functional helpers, the initializers of WEIGHT_INITIALIZERS, and
``initialize``.

Design note: an initializer is a small callable object built from a config dict. It walks the
module tree once with ``module.apply`` and initialises the submodules whose class name (or the
name of a direct base class) is listed in ``layer``, or every submodule when it was selected
through ``override`` ("whole-module" mode). After running it records a human-readable line per
parameter whose mean changed (``update_init_info``); ``BaseModule.init_weights`` prints those
lines as the initialisation log. None of this runs during training iterations.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn as nn

from piston.logging import print_log
from piston.registry import WEIGHT_INITIALIZERS, build_from_cfg

__all__ = [
    "BaseInit",
    "Caffe2XavierInit",
    "ConstantInit",
    "KaimingInit",
    "NormalInit",
    "PretrainedInit",
    "TruncNormalInit",
    "UniformInit",
    "XavierInit",
    "bias_init_with_prob",
    "caffe2_xavier_init",
    "constant_init",
    "initialize",
    "kaiming_init",
    "normal_init",
    "trunc_normal_",
    "trunc_normal_init",
    "uniform_init",
    "update_init_info",
    "xavier_init",
]


# --------------------------------------------------------------------------- functional helpers
def _has(module: nn.Module, name: str) -> bool:
    return getattr(module, name, None) is not None


def _init_bias(module: nn.Module, bias: float) -> None:
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    """Fill ``module.weight`` with ``val`` and ``module.bias`` with ``bias`` (when present)."""
    if _has(module, "weight"):
        nn.init.constant_(module.weight, val)
    _init_bias(module, bias)


def xavier_init(
    module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal"
) -> None:
    """Xavier (Glorot) initialisation of ``module.weight``; ``distribution`` is normal/uniform."""
    if distribution not in ("uniform", "normal"):
        raise AssertionError(f"distribution should be 'uniform' or 'normal', got {distribution!r}")
    if _has(module, "weight"):
        if distribution == "uniform":
            nn.init.xavier_uniform_(module.weight, gain=gain)
        else:
            nn.init.xavier_normal_(module.weight, gain=gain)
    _init_bias(module, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from ``N(mean, std^2)``."""
    if _has(module, "weight"):
        nn.init.normal_(module.weight, mean, std)
    _init_bias(module, bias)


def trunc_normal_(
    tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0
) -> torch.Tensor:
    """Fill ``tensor`` in place from ``N(mean, std^2)`` truncated to ``[a, b]``; return it.

    Downstream backbones (ViT/Swin style) import it from ``piston.model.weight_init``.
    """
    return nn.init.trunc_normal_(tensor, mean, std, a, b)


def trunc_normal_init(
    module: nn.Module,
    mean: float = 0,
    std: float = 1,
    a: float = -2,
    b: float = 2,
    bias: float = 0,
) -> None:
    """Draw ``module.weight`` from ``N(mean, std^2)`` truncated to ``[a, b]``."""
    if _has(module, "weight"):
        trunc_normal_(module.weight, mean, std, a, b)
    _init_bias(module, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    """Draw ``module.weight`` from ``U(a, b)``."""
    if _has(module, "weight"):
        nn.init.uniform_(module.weight, a, b)
    _init_bias(module, bias)


def kaiming_init(
    module: nn.Module,
    a: float = 0,
    mode: str = "fan_out",
    nonlinearity: str = "relu",
    bias: float = 0,
    distribution: str = "normal",
) -> None:
    """Kaiming (He) initialisation of ``module.weight``; ``distribution`` is normal/uniform."""
    if distribution not in ("uniform", "normal"):
        raise AssertionError(f"distribution should be 'uniform' or 'normal', got {distribution!r}")
    if _has(module, "weight"):
        if distribution == "uniform":
            nn.init.kaiming_uniform_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
        else:
            nn.init.kaiming_normal_(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    _init_bias(module, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's "XavierFill": Kaiming uniform with ``a=1``, ``fan_in``, ``leaky_relu``."""
    kaiming_init(
        module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform"
    )


def bias_init_with_prob(prior_prob: float) -> float:
    """Bias value that makes a sigmoid output ``prior_prob``: ``-log((1 - p) / p)``."""
    return float(-math.log((1 - prior_prob) / prior_prob))


def update_init_info(module: nn.Module, init_info: str) -> None:
    """Record ``init_info`` for every parameter of ``module`` whose mean changed.

    ``module`` must carry ``_params_init_info`` (set by the top-level ``init_weights`` call).
    """
    if not hasattr(module, "_params_init_info"):
        raise AssertionError(
            f"Can not find `_params_init_info` in {module.__class__.__name__}; "
            "update_init_info is only called during BaseModule.init_weights()."
        )
    records = module._params_init_info
    for param in module.parameters():
        mean_value = param.data.mean().cpu()
        if param not in records:  # added or replaced during init_weights: created by this step
            records[param] = {"init_info": init_info, "tmp_mean_value": mean_value}
        elif not torch.equal(records[param]["tmp_mean_value"], mean_value):
            records[param]["init_info"] = init_info
            records[param]["tmp_mean_value"] = mean_value


# --------------------------------------------------------------------------- initializer classes
class BaseInit:
    """Base of the initializers: selects submodules by ``layer`` and initialises them.

    Args:
        bias: Constant written into every selected ``bias``.
        bias_prob: When given, the bias is ``bias_init_with_prob(bias_prob)`` instead.
        layer: Class name(s) of the submodules to initialise. ``None`` selects nothing unless
            the initializer is applied through ``override`` (whole-module mode).
    """

    def __init__(
        self,
        *,
        bias: int | float = 0,
        bias_prob: float | None = None,
        layer: str | list[str] | None = None,
    ) -> None:
        self.wholemodule = False
        if isinstance(bias, bool) or not isinstance(bias, (int, float)):
            raise TypeError(f"bias must be a number, but got a {type(bias)}")
        if bias_prob is not None:
            if not isinstance(bias_prob, float):
                raise TypeError(f"bias_prob type must be float, but got {type(bias_prob)}")
            bias = bias_init_with_prob(bias_prob)
        if layer is None:
            layer = []
        elif isinstance(layer, str):
            layer = [layer]
        elif not isinstance(layer, list):
            raise TypeError(f"layer must be a str or a list of str, but got a {type(layer)}")
        self.bias = bias
        self.layer = layer

    def _selects(self, module: nn.Module) -> bool:
        if self.wholemodule:
            return True
        names = {module.__class__.__name__}
        names.update(base.__name__ for base in module.__class__.__bases__)
        return bool(names.intersection(self.layer))

    def _init_module(self, module: nn.Module) -> None:
        raise NotImplementedError

    def __call__(self, module: nn.Module) -> None:
        def visit(m: nn.Module) -> None:
            if self._selects(m):
                self._init_module(m)

        module.apply(visit)
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f"{self.__class__.__name__}: bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Constant")
class ConstantInit(BaseInit):
    """Fill weights with ``val``."""

    def __init__(self, val: int | float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.val = val

    def _init_module(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)

    def _get_init_info(self) -> str:
        return f"{self.__class__.__name__}: val={self.val}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Xavier")
class XavierInit(BaseInit):
    """Xavier initialisation (``distribution`` ``'normal'`` or ``'uniform'``)."""

    def __init__(self, gain: float = 1, distribution: str = "normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gain = gain
        self.distribution = distribution

    def _init_module(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return (
            f"{self.__class__.__name__}: gain={self.gain}, "
            f"distribution={self.distribution}, bias={self.bias}"
        )


@WEIGHT_INITIALIZERS.register_module(name="Normal")
class NormalInit(BaseInit):
    """Normal initialisation ``N(mean, std^2)``."""

    def __init__(self, mean: float = 0, std: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std

    def _init_module(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)

    def _get_init_info(self) -> str:
        return f"{self.__class__.__name__}: mean={self.mean}, std={self.std}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="TruncNormal")
class TruncNormalInit(BaseInit):
    """Truncated normal initialisation on ``[a, b]``."""

    def __init__(
        self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std
        self.a = a
        self.b = b

    def _init_module(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return (
            f"{self.__class__.__name__}: a={self.a}, b={self.b}, mean={self.mean}, "
            f"std={self.std}, bias={self.bias}"
        )


@WEIGHT_INITIALIZERS.register_module(name="Uniform")
class UniformInit(BaseInit):
    """Uniform initialisation ``U(a, b)``."""

    def __init__(self, a: float = 0, b: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.a = a
        self.b = b

    def _init_module(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return f"{self.__class__.__name__}: a={self.a}, b={self.b}, bias={self.bias}"


@WEIGHT_INITIALIZERS.register_module(name="Kaiming")
class KaimingInit(BaseInit):
    """Kaiming initialisation (``distribution`` ``'normal'`` or ``'uniform'``)."""

    def __init__(
        self,
        a: float = 0,
        mode: str = "fan_out",
        nonlinearity: str = "relu",
        distribution: str = "normal",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.a = a
        self.mode = mode
        self.nonlinearity = nonlinearity
        self.distribution = distribution

    def _init_module(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return (
            f"{self.__class__.__name__}: a={self.a}, mode={self.mode}, "
            f"nonlinearity={self.nonlinearity}, distribution ={self.distribution}, "
            f"bias={self.bias}"
        )


@WEIGHT_INITIALIZERS.register_module(name="Caffe2Xavier")
class Caffe2XavierInit(KaimingInit):
    """Caffe2's Xavier: Kaiming uniform, ``a=1``, ``fan_in``, ``leaky_relu``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            a=1, mode="fan_in", nonlinearity="leaky_relu", distribution="uniform", **kwargs
        )


@WEIGHT_INITIALIZERS.register_module(name="Pretrained")
class PretrainedInit:
    """Load weights from a checkpoint.

    Args:
        checkpoint: Path or URL of the checkpoint.
        prefix: Only load keys starting with it (e.g. ``'backbone.'``), with it stripped.
        map_location: Where to map the loaded tensors.
    """

    def __init__(
        self, checkpoint: str, prefix: str | None = None, map_location: str | None = "cpu"
    ) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        from piston.runner.checkpoint import (  # lazy: the runner imports this package
            CheckpointLoader,
            load_checkpoint,
            load_state_dict,
        )

        if self.prefix is None:
            print_log(f"load model from: {self.checkpoint}", logger="current")
            load_checkpoint(
                module, self.checkpoint, map_location=self.map_location, strict=False,
                logger="current",
            )  # fmt: skip
        else:
            print_log(f"load {self.prefix} in model from: {self.checkpoint}", logger="current")
            checkpoint = CheckpointLoader.load_checkpoint(
                self.checkpoint, map_location=self.map_location, logger="current"
            )
            state_dict = checkpoint.get("state_dict", checkpoint)
            prefix = self.prefix if self.prefix.endswith(".") else self.prefix + "."
            state_dict = {
                k[len(prefix) :]: v for k, v in state_dict.items() if k.startswith(prefix)
            }
            if not state_dict:
                raise AssertionError(f"{prefix} is not in the pretrained model {self.checkpoint}")
            load_state_dict(module, state_dict, strict=False, logger="current")
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f"{self.__class__.__name__}: load from {self.checkpoint}"


# --------------------------------------------------------------------------- initialize
def _initialize(module: nn.Module, cfg: dict, wholemodule: bool = False) -> None:
    func = build_from_cfg(cfg, WEIGHT_INITIALIZERS)
    func.wholemodule = wholemodule
    func(module)


def _initialize_override(module: nn.Module, override: dict | list[dict], cfg: dict) -> None:
    if not isinstance(override, (dict, list)):
        raise TypeError(f"override must be a dict or a list of dict, but got {type(override)}")
    for item in [override] if isinstance(override, dict) else override:
        item = copy.deepcopy(item)
        name = item.pop("name", None)
        if name is None:
            raise ValueError(f'`override` must contain the key "name", but got {item}')
        if not item:  # only `name`: reuse the outer initializer
            item.update(cfg)
        elif "type" not in item:
            raise ValueError(
                f"`override` needs a `type` when it has keys besides `name`, but got {item}"
            )
        if not hasattr(module, name):
            raise RuntimeError(f"module did not have attribute {name}, but init_cfg is {item}.")
        _initialize(getattr(module, name), item, wholemodule=True)


def initialize(module: nn.Module, init_cfg: dict | list[dict]) -> None:
    """Initialise ``module`` from one or several initializer configs.

    Args:
        module: Module to initialise.
        init_cfg: e.g. ``dict(type='Normal', layer='Conv2d', std=0.01,
            override=dict(name='head', type='Constant', val=0))``. ``override`` entries apply
            to the named attribute as a whole.

    Example:
        >>> initialize(nn.Linear(2, 2), dict(type='Constant', layer='Linear', val=1, bias=2))
    """
    if not isinstance(init_cfg, (dict, list)):
        raise TypeError(f"init_cfg must be a dict or a list of dict, but got {type(init_cfg)}")
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        cfg = copy.deepcopy(cfg)
        override = cfg.pop("override", None)
        _initialize(module, cfg)
        if override is not None:
            cfg.pop("layer", None)
            _initialize_override(module, override, cfg)
