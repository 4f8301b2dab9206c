"""Small model helpers: batching tensors, merging dicts, BatchNorm conversion, graph checks.

Design note: ``stack_batch`` computes padding from Python shapes only, so batching images of
different sizes never builds helper tensors or reads values back from the device.
``revert_sync_batchnorm`` only looks for mmcv's SyncBN when mmcv is already imported, so that
calling it never imports an optional package.
"""

from __future__ import annotations

import logging
import sys

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from piston.logging import print_log

__all__ = [
    "convert_sync_batchnorm",
    "detect_anomalous_params",
    "merge_dict",
    "revert_sync_batchnorm",
    "stack_batch",
]


def stack_batch(
    tensor_list: list[torch.Tensor], pad_size_divisor: int = 1, pad_value: int | float = 0
) -> torch.Tensor:
    """Stack tensors of different sizes into one batch, padding right/bottom.

    Every dimension except the first (channels) is padded to the largest size in the list,
    rounded up to a multiple of ``pad_size_divisor``.

    Args:
        tensor_list: Tensors with the same number of dimensions, e.g. ``C x H x W`` images.
        pad_size_divisor: Padded sizes are multiples of this number.
        pad_value: Value written into the padding.

    Returns:
        Tensor of shape ``(len(tensor_list), C, H', W')``.
    """
    if not isinstance(tensor_list, list):
        raise AssertionError(f"Expected input type to be list, but got {type(tensor_list)}")
    if not tensor_list:
        raise AssertionError("`tensor_list` should not be an empty list")
    ndims = {tensor.ndim for tensor in tensor_list}
    if len(ndims) != 1:
        raise AssertionError(
            f"Expected the dimensions of all tensors to be the same, but got {sorted(ndims)}"
        )
    shapes = [tuple(tensor.shape) for tensor in tensor_list]
    ndim = len(shapes[0])
    divisor = max(int(pad_size_divisor), 1)
    target = [max(shape[d] for shape in shapes) for d in range(ndim)]
    target = [target[0]] + [-(-size // divisor) * divisor for size in target[1:]]
    if all(shape[1:] == tuple(target[1:]) for shape in shapes):
        return torch.stack(tensor_list)
    padded = []
    for tensor, shape in zip(tensor_list, shapes):
        pad: list[int] = []
        for d in range(ndim - 1, 0, -1):  # F.pad takes the last dimension first
            pad += [0, target[d] - shape[d]]
        padded.append(F.pad(tensor, pad, value=pad_value) if any(pad) else tensor)
    return torch.stack(padded)


def merge_dict(*args: dict) -> dict:
    """Merge plain dicts into a new one (later keys win).

    Under ``torch.fx`` symbolic tracing it is recorded as one opaque call (a leaf) wherever it
    is called from, instead of being traced through.
    """
    proxy = _find_proxy(args)
    if proxy is not None:
        return proxy.tracer.create_proxy("call_function", merge_dict, args, {})
    output: dict = {}
    for item in args:
        if not isinstance(item, dict):
            raise AssertionError(
                f"all arguments of merge_dict should be a dict, but got {type(item)}"
            )
        output.update(item)
    return output


def _find_proxy(args: tuple) -> torch.fx.Proxy | None:
    found: list = []

    def check(value: object) -> object:
        if isinstance(value, torch.fx.Proxy):
            found.append(value)
        return value

    torch.fx.node.map_aggregate(args, check)
    return found[0] if found else None


def detect_anomalous_params(loss: torch.Tensor, model: nn.Module) -> None:
    """Log (at ERROR) every trainable parameter of ``model`` that ``loss`` does not depend on.

    Walks the autograd graph from ``loss.grad_fn`` iteratively (deep graphs would overflow
    the recursion limit).
    """
    in_graph: set[int] = set()
    visited: set = set()
    stack = [loss.grad_fn]
    while stack:
        grad_fn = stack.pop()
        if grad_fn is None or grad_fn in visited:
            continue
        visited.add(grad_fn)
        variable = getattr(grad_fn, "variable", None)
        if variable is not None:
            in_graph.add(id(variable))
        stack.extend(parent for parent, _ in (grad_fn.next_functions or ()))
    for name, param in model.named_parameters():
        if param.requires_grad and id(param) not in in_graph:
            print_log(
                f"{name} with shape {param.size()} is not in the computational graph \n",
                logger="current",
                level=logging.ERROR,
            )


class _BatchNormXd(nn.modules.batchnorm._BatchNorm):
    """BatchNorm accepting inputs of any dimension (the target of ``revert_sync_batchnorm``)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return


def _sync_bn_classes() -> tuple[type, ...]:
    classes: list[type] = [nn.SyncBatchNorm]
    mmcv_ops = sys.modules.get("mmcv.ops")  # only when the user already imported mmcv
    if mmcv_ops is not None and hasattr(mmcv_ops, "SyncBatchNorm"):
        classes.append(mmcv_ops.SyncBatchNorm)
    return tuple(classes)


def _copy_bn_state(src: nn.Module, dst: nn.Module) -> nn.Module:
    if src.affine:
        with torch.no_grad():
            dst.weight = src.weight
            dst.bias = src.bias
    dst.running_mean = src.running_mean
    dst.running_var = src.running_var
    dst.num_batches_tracked = src.num_batches_tracked
    dst.training = src.training
    if hasattr(src, "qconfig"):
        dst.qconfig = src.qconfig
    return dst


def _bn_args(module: nn.Module) -> tuple:
    return (
        module.num_features,
        module.eps,
        module.momentum,
        module.affine,
        module.track_running_stats,
    )


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every ``SyncBatchNorm`` in ``module`` by a BatchNorm that accepts any input dim.

    Affine parameters, running statistics, the ``training`` flag and ``qconfig`` are kept.
    Children that refuse ``add_module`` are skipped with a warning.

    Returns:
        The converted module (``module`` itself when it is not a SyncBN).
    """
    return _revert(module, _sync_bn_classes())


def _revert(module: nn.Module, sync_classes: tuple[type, ...]) -> nn.Module:
    output = module
    if isinstance(module, sync_classes):
        output = _copy_bn_state(module, _BatchNormXd(*_bn_args(module)))
    for name, child in module.named_children():
        try:
            output.add_module(name, _revert(child, sync_classes))
        except Exception:
            print_log(
                f"Failed to convert {child} from SyncBN to BN!",
                logger="current",
                level=logging.WARNING,
            )
    return output


def convert_sync_batchnorm(module: nn.Module, implementation: str = "torch") -> nn.Module:
    """Replace every ``_BatchNorm`` in ``module`` by a synchronised BatchNorm.

    Args:
        module: Module to convert.
        implementation: ``'torch'`` for ``torch.nn.SyncBatchNorm`` or ``'mmcv'`` for mmcv's.
    """
    if implementation == "torch":
        sync_bn = nn.SyncBatchNorm
    elif implementation == "mmcv":
        try:
            from mmcv.ops import SyncBatchNorm as sync_bn  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImportError(
                "convert_sync_batchnorm(implementation='mmcv') needs mmcv: pip install mmcv"
            ) from exc
    else:
        raise ValueError(
            f'sync_bn should be "torch" or "mmcv", but got {implementation!r}. '
            "Set `sync_bn` in env_cfg/cfg to one of them."
        )
    return _convert(module, sync_bn)


def _convert(module: nn.Module, sync_bn: type) -> nn.Module:
    output = module
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, sync_bn):
        output = _copy_bn_state(module, sync_bn(*_bn_args(module)))
    for name, child in module.named_children():
        output.add_module(name, _convert(child, sync_bn))
    return output
