"""Per-operator counting rules for :mod:`piston.analysis`.

A handle receives the call's inputs (positional arguments followed by keyword argument values)
and its outputs (a list), and returns a count. FLOPs follow the usual convention: one fused
multiply-add counts as one flop; element-wise arithmetic is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

__all__ = ["FLOP_HANDLES", "ACTIVATION_HANDLES", "Handle", "canonical_op_name"]

Handle = Callable[[list[Any], list[Any]], float]


def _prod(shape: Sequence[int]) -> int:
    return math.prod(int(dim) for dim in shape)


def _tensors(values: list[Any]) -> list[torch.Tensor]:
    return [value for value in values if isinstance(value, torch.Tensor)]


def _first_out(outputs: list[Any]) -> torch.Tensor | None:
    tensors = _tensors(outputs)
    return tensors[0] if tensors else None


def conv_flop(inputs: list[Any], outputs: list[Any], transposed: bool = False) -> float:
    """``batch * prod(weight.shape) * prod(spatial)``; spatial of the output (of the input
    for transposed convolutions)."""
    x, w = inputs[0], inputs[1]
    out = _first_out(outputs)
    spatial = x.shape[2:] if transposed else out.shape[2:]
    return x.shape[0] * _prod(w.shape) * _prod(spatial)


def conv_transpose_flop(inputs: list[Any], outputs: list[Any]) -> float:
    return conv_flop(inputs, outputs, transposed=True)


def linear_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """``prod(input.shape) * out_features``."""
    x, w = inputs[0], inputs[1]
    return _prod(x.shape) * w.shape[0]


def addmm_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """``n * k * m`` for ``bias + (n, k) @ (k, m)``."""
    a, b = inputs[1], inputs[2]
    return a.shape[0] * a.shape[1] * b.shape[1]


def matmul_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """Output elements times the contracted dimension."""
    a = _tensors(inputs)[0]
    out = _first_out(outputs)
    return _prod(out.shape) * a.shape[-1]


def bmm_flop(inputs: list[Any], outputs: list[Any]) -> float:
    a, b = _tensors(inputs)[-2:]
    return a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]


def einsum_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """Optimal contraction cost from ``numpy.einsum_path`` (halved: multiply-adds)."""
    equation = inputs[0]
    operands = inputs[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    arrays = [
        np.lib.stride_tricks.as_strided(np.zeros(1), shape=tuple(t.shape), strides=(0,) * t.ndim)
        for t in operands
    ]
    info = np.einsum_path(equation.replace(" ", ""), *arrays, optimize="optimal")[1]
    for line in info.split("\n"):
        if "Optimized FLOP count" in line:
            return float(np.floor(float(line.split(":")[-1]) / 2))
    return 0.0


def _affine(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def batch_norm_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """Eval: ``numel * (2 if affine else 1)``; training: ``numel * (5 if affine else 4)``."""
    x = inputs[0]
    weight = inputs[3] if len(inputs) > 3 else None
    training = inputs[5] if len(inputs) > 5 else False
    if training:
        return _prod(x.shape) * (5 if _affine(weight) else 4)
    return _prod(x.shape) * (2 if _affine(weight) else 1)


def _norm_flop(affine_index: int) -> Handle:
    def handle(inputs: list[Any], outputs: list[Any]) -> float:
        x = inputs[0]
        weight = inputs[affine_index] if len(inputs) > affine_index else None
        return _prod(x.shape) * (5 if _affine(weight) else 4)

    return handle


def interpolate_flop(inputs: list[Any], outputs: list[Any]) -> float:
    """Nearest: one flop per output element; (bi/tri)linear: four."""
    out = _first_out(outputs)
    mode = "nearest"
    for value in inputs[1:]:
        if isinstance(value, str):
            mode = value
    factor = 4 if "linear" in mode or mode == "bicubic" else 1
    return _prod(out.shape) * factor


def adaptive_avg_pool_flop(inputs: list[Any], outputs: list[Any]) -> float:
    return _prod(inputs[0].shape)


def output_numel(inputs: list[Any], outputs: list[Any]) -> float:
    """Activation count: elements of the output."""
    out = _first_out(outputs)
    return _prod(out.shape) if out is not None else 0


_NAME_MAP = {
    "conv1d": "conv",
    "conv2d": "conv",
    "conv3d": "conv",
    "convolution": "conv",
    "_convolution": "conv",
    "conv_transpose1d": "conv_transpose",
    "conv_transpose2d": "conv_transpose",
    "conv_transpose3d": "conv_transpose",
    "__matmul__": "matmul",
    "__rmatmul__": "matmul",
    "baddbmm": "bmm",
    "grid_sample": "grid_sampler",
}


def canonical_op_name(func: Any) -> str:
    """Short operator name of a torch function (``conv2d`` -> ``conv``)."""
    name = getattr(func, "__name__", None) or str(func)
    name = name.removeprefix("aten::")
    return _NAME_MAP.get(name, name)


def _interpolate_name(inputs: list[Any], outputs: list[Any]) -> str:
    out = _first_out(outputs)
    mode = next((value for value in inputs[1:] if isinstance(value, str)), "nearest")
    dims = max(out.ndim - 2, 1) if out is not None else 2
    kind = "nearest" if mode.startswith("nearest") else mode.removeprefix("bi").removeprefix("tri")
    prefix = {"linear": {1: "linear", 2: "bilinear", 3: "trilinear"}}.get(kind, {})
    return f"upsample_{prefix.get(dims, kind)}{dims}d"


FLOP_HANDLES: dict[str, Handle | None] = {
    "conv": conv_flop,
    "conv_transpose": conv_transpose_flop,
    "linear": linear_flop,
    "addmm": addmm_flop,
    "mm": matmul_flop,
    "matmul": matmul_flop,
    "bmm": bmm_flop,
    "einsum": einsum_flop,
    "batch_norm": batch_norm_flop,
    "group_norm": _norm_flop(2),
    "layer_norm": _norm_flop(2),
    "instance_norm": _norm_flop(3),
    "interpolate": interpolate_flop,
    "adaptive_avg_pool1d": adaptive_avg_pool_flop,
    "adaptive_avg_pool2d": adaptive_avg_pool_flop,
    "adaptive_avg_pool3d": adaptive_avg_pool_flop,
}

ACTIVATION_HANDLES: dict[str, Handle | None] = {
    "conv": output_numel,
    "conv_transpose": output_numel,
    "linear": output_numel,
    "addmm": output_numel,
    "mm": output_numel,
    "matmul": output_numel,
    "bmm": output_numel,
    "einsum": output_numel,
}

# Names used in reports for calls whose name depends on arguments.
DYNAMIC_NAMES: dict[str, Callable[[list[Any], list[Any]], str]] = {
    "interpolate": _interpolate_name,
}

# Cheap or shape-only operations that are neither counted nor reported as unsupported.
IGNORED_OPS = frozenset(
    [
        "__getitem__",
        "__setitem__",
        "__len__",
        "__iter__",
        "__contains__",
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__and__",
        "__or__",
        "__invert__",
        "__format__",
        "__repr__",
        "__hash__",
        "__bool__",
        "__index__",
        "__int__",
        "__float__",
        "__reduce_ex__",
        "__deepcopy__",
        "__array__",
        "__torch_function__",
        "arange",
        "cat",
        "chunk",
        "clamp",
        "clamp_",
        "clone",
        "constant_pad_nd",
        "contiguous",
        "copy_",
        "detach",
        "dim",
        "dropout",
        "dropout1d",
        "dropout2d",
        "dropout3d",
        "empty",
        "empty_like",
        "eq",
        "expand",
        "expand_as",
        "flatten",
        "floor",
        "floor_divide",
        "full",
        "full_like",
        "gather",
        "ge",
        "gt",
        "index_select",
        "is_floating_point",
        "item",
        "le",
        "lt",
        "masked_fill",
        "max",
        "meshgrid",
        "min",
        "ndimension",
        "ne",
        "new_empty",
        "new_full",
        "new_ones",
        "new_zeros",
        "nonzero",
        "numel",
        "ones",
        "ones_like",
        "pad",
        "permute",
        "rand",
        "rand_like",
        "randn",
        "randn_like",
        "relu",
        "relu_",
        "reshape",
        "reshape_as",
        "select",
        "size",
        "slice",
        "split",
        "split_with_sizes",
        "squeeze",
        "stack",
        "t",
        "to",
        "topk",
        "transpose",
        "type",
        "type_as",
        "unbind",
        "unflatten",
        "unsqueeze",
        "unsqueeze_",
        "view",
        "view_as",
        "zeros",
        "zeros_like",
        "get_device",
        "requires_grad_",
        "float",
        "half",
        "double",
        "long",
        "int",
        "bool",
        "cpu",
        "cuda",
        "numpy",
        "tolist",
    ]
)
