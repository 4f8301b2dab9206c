"""``get_model_complexity_info``: FLOPs, activations and parameters of a model in one call."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from piston.utils import is_tuple_of

from .jit_analysis import ActivationAnalyzer, FlopAnalyzer
from .print_helper import (
    _format_size,
    complexity_stats_str,
    complexity_stats_table,
    parameter_count,
)

__all__ = ["activation_count", "flop_count", "get_model_complexity_info"]


def get_model_complexity_info(
    model: nn.Module,
    input_shape: tuple | None = None,
    inputs: Any = None,
    show_table: bool = True,
    show_arch: bool = True,
) -> dict:
    """FLOPs, activations and parameters of ``model``.

    Args:
        model: The model.
        input_shape: Shape of one input without the batch dimension (a tuple of ints), or a
            tuple of such shapes for several inputs; random tensors ``(1, *shape)`` are used.
        inputs: The actual inputs instead (a tensor or a tuple of them).
        show_table: Fill ``out_table`` with a per-module table.
        show_arch: Fill ``out_arch`` with the annotated model repr.

    Returns:
        ``{'flops', 'flops_str', 'activations', 'activations_str', 'params', 'params_str',
        'out_table', 'out_arch'}``.

    Raises:
        ValueError: Unless exactly one of ``input_shape`` and ``inputs`` is given, or when
            ``input_shape`` is malformed.
    """
    if input_shape is None and inputs is None:
        raise ValueError('One of "input_shape" and "inputs" should be set.')
    if input_shape is not None and inputs is not None:
        raise ValueError('"input_shape" and "inputs" cannot be both set.')
    if inputs is None:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        if is_tuple_of(input_shape, int):
            inputs = (torch.randn(1, *input_shape, device=device),)
        elif is_tuple_of(input_shape, tuple) and all(is_tuple_of(s, int) for s in input_shape):
            inputs = tuple(torch.randn(1, *shape, device=device) for shape in input_shape)
        else:
            raise ValueError(
                '"input_shape" should be either a `tuple of int` (to construct one input '
                "tensor) or a `tuple of tuple of int` (to construct multiple input tensors), "
                f"but got {input_shape!r}."
            )
    flop_handler = FlopAnalyzer(model, inputs)
    activation_handler = ActivationAnalyzer(model, inputs)
    flops = flop_handler.total()
    activations = activation_handler.total()
    params = parameter_count(model)[""]
    out_table = ""
    if show_table:
        out_table = "\n" + complexity_stats_table(
            flops=flop_handler, activations=activation_handler, show_param_shapes=True
        )
    out_arch = ""
    if show_arch:
        out_arch = "\n" + complexity_stats_str(flops=flop_handler, activations=activation_handler)
    return {
        "flops": flops,
        "flops_str": _format_size(flops),
        "activations": activations,
        "activations_str": _format_size(activations),
        "params": params,
        "params_str": _format_size(params),
        "out_table": out_table,
        "out_arch": out_arch,
    }


def flop_count(
    model: nn.Module, inputs: Any, supported_ops: dict | None = None
) -> tuple[dict[str, float], Any]:
    """GFLOPs per operator and the counter of unsupported operators."""
    analyzer = FlopAnalyzer(model, inputs)
    if supported_ops:
        analyzer.set_op_handle(**supported_ops)
    giga = {name: count / 1e9 for name, count in analyzer.by_operator().items()}
    return giga, analyzer.unsupported_ops()


def activation_count(
    model: nn.Module, inputs: Any, supported_ops: dict | None = None
) -> tuple[dict[str, float], Any]:
    """Mega-activations per operator and the counter of unsupported operators."""
    analyzer = ActivationAnalyzer(model, inputs)
    if supported_ops:
        analyzer.set_op_handle(**supported_ops)
    mega = {name: count / 1e6 for name, count in analyzer.by_operator().items()}
    return mega, analyzer.unsupported_ops()
