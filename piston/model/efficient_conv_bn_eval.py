"""Fuse eval-mode Conv+BN pairs on the fly to save activation memory.

Design note: when a BatchNorm is in eval mode its affine transform is fixed, so ``bn(conv(x))``
equals one convolution with rescaled weights and a shifted bias. Computing that convolution
directly skips storing the conv output for backward, which matters when the BN is frozen but the
conv is still trained (detection backbones). Submodules named in the config are traced with
``torch.fx``; every ``conv -> bn`` pair where the conv output feeds only the BN becomes one call
that picks the fused path in eval mode and the ordinary path in training mode.
"""

from __future__ import annotations

from operator import attrgetter

import torch
import torch.fx
import torch.nn as nn

__all__ = ["efficient_conv_bn_eval_forward", "turn_on_efficient_conv_bn_eval"]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


def efficient_conv_bn_eval_forward(
    bn: nn.modules.batchnorm._BatchNorm, conv: nn.modules.conv._ConvNd, x: torch.Tensor
) -> torch.Tensor:
    """``bn(conv(x))`` for an eval-mode ``bn``, computed as a single convolution."""
    running_var = bn.running_var
    conv_bias = conv.bias if conv.bias is not None else torch.zeros_like(running_var)
    bn_weight = bn.weight if bn.weight is not None else torch.ones_like(running_var)
    bn_bias = bn.bias if bn.bias is not None else torch.zeros_like(running_var)
    scale = bn_weight * torch.rsqrt(running_var + bn.eps)
    weight = conv.weight * scale.reshape([-1] + [1] * (conv.weight.dim() - 1))
    bias = bn_bias + scale * (conv_bias - bn.running_mean)
    return conv._conv_forward(x, weight, bias)


def _conv_bn(
    bn: nn.modules.batchnorm._BatchNorm, conv: nn.modules.conv._ConvNd, x: torch.Tensor
) -> torch.Tensor:
    if not bn.training and bn.track_running_stats:
        return efficient_conv_bn_eval_forward(bn, conv, x)
    return bn(conv(x))


torch.fx.wrap("_conv_bn")


def _fuse_pairs(graph_module: torch.fx.GraphModule) -> int:
    modules = dict(graph_module.named_modules())
    graph = graph_module.graph
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        if not isinstance(modules.get(node.target), nn.modules.batchnorm._BatchNorm):
            continue
        conv_node = node.args[0]
        if (
            isinstance(conv_node, torch.fx.Node)
            and conv_node.op == "call_module"
            and isinstance(modules.get(conv_node.target), _CONVS)
            and len(conv_node.users) == 1
            and len(conv_node.args) == 1
            and not conv_node.kwargs
        ):
            pairs.append((conv_node, node))
    for conv_node, bn_node in pairs:
        with graph.inserting_before(conv_node):
            conv_attr = graph.get_attr(conv_node.target)
            bn_attr = graph.get_attr(bn_node.target)
            fused = graph.call_function(_conv_bn, args=(bn_attr, conv_attr, conv_node.args[0]))
        bn_node.replace_all_uses_with(fused)
        graph.erase_node(bn_node)
        graph.erase_node(conv_node)
    graph.lint()
    graph_module.recompile()
    return len(pairs)


def turn_on_efficient_conv_bn_eval(model: nn.Module, modules: str | list[str]) -> None:
    """Rewrite the ``forward`` of the named submodules to fuse eval-mode Conv+BN pairs.

    Args:
        model: The model.
        modules: Dotted name(s) of submodules to trace with ``torch.fx`` (e.g. ``'backbone'``).
    """
    for name in [modules] if isinstance(modules, str) else modules:
        module = attrgetter(name)(model)
        try:
            traced = torch.fx.symbolic_trace(module)
        except Exception as exc:
            raise RuntimeError(
                f"efficient_conv_bn_eval could not trace {name!r} with torch.fx: {exc}. "
                "List only submodules whose forward has no data-dependent control flow."
            ) from exc
        _fuse_pairs(traced)
        module.forward = traced.forward  # the traced module shares the original submodules
