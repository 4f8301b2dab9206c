"""Operator-level analysis of a model run: FLOPs and activations per module and operator.

Design: the model runs once on the given inputs under a ``TorchFunctionMode`` that sees every
torch-level call (``conv2d``, ``linear``, ``batch_norm``, ``matmul``, ...) before it is
decomposed, and forward hooks keep a stack of the modules being executed. Each counted call is
charged to every module on the stack, so a module's total includes its children. Calls nested
inside a counted call are not seen twice (the mode is inactive while a call runs).
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections import Counter, defaultdict
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from piston.utils._log import log

from .handles import (
    ACTIVATION_HANDLES,
    DYNAMIC_NAMES,
    FLOP_HANDLES,
    IGNORED_OPS,
    Handle,
    canonical_op_name,
)

__all__ = ["ActivationAnalyzer", "FlopAnalyzer", "JitModelAnalysis"]

_SIGNATURES: dict[Any, inspect.Signature | None] = {}


def _bind(func: Any, args: tuple, kwargs: dict) -> list[Any]:
    """Arguments in signature order (defaults filled) when the signature is known."""
    if func not in _SIGNATURES:
        try:
            _SIGNATURES[func] = inspect.signature(func)
        except (TypeError, ValueError):
            _SIGNATURES[func] = None
    signature = _SIGNATURES[func]
    if signature is not None:
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
        except TypeError:
            return list(args) + list(kwargs.values())
        values: list[Any] = []
        for name, value in bound.arguments.items():
            kind = signature.parameters[name].kind
            if kind is inspect.Parameter.VAR_POSITIONAL:
                values.extend(value)
            elif kind is inspect.Parameter.VAR_KEYWORD:
                values.extend(value.values())
            else:
                values.append(value)
        return values
    return list(args) + list(kwargs.values())


def _as_list(output: Any) -> list[Any]:
    if isinstance(output, (list, tuple)):
        return list(output)
    return [output]


class _CountingMode(TorchFunctionMode):
    def __init__(self, analysis: JitModelAnalysis) -> None:
        super().__init__()
        self.analysis = analysis

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name.endswith(("__get__", "__set__")):
            return output
        self.analysis._record(func, args, kwargs, output)
        return output


class JitModelAnalysis:
    """Count operators of one forward pass of ``model`` on ``inputs``.

    Args:
        model: The model.
        inputs: Positional inputs of ``model.forward`` (a tensor or a tuple of arguments).
    """

    def __init__(self, model: nn.Module, inputs: Any) -> None:
        self._model = model
        self._inputs = inputs if isinstance(inputs, tuple) else (inputs,)
        self._op_handles: dict[str, Handle | None] = {}
        self._ignored_ops: set[str] = set(IGNORED_OPS)
        self._stats: tuple[dict[str, Counter], set[str]] | None = None
        self._warn_unsupported = True
        self._warn_uncalled = True

    # ------------------------------------------------------------------ configuration
    def set_op_handle(self, *args: Any, **kwargs: Handle | None) -> JitModelAnalysis:
        """Set handles: ``set_op_handle('aten::linear', fn, 'aten::conv', None)`` or kwargs.

        A handle ``fn(inputs, outputs) -> number`` counts one call; ``None`` ignores the op.
        """
        if len(args) % 2:
            raise TypeError("set_op_handle takes (name, handle) pairs")
        pairs = list(zip(args[::2], args[1::2])) + list(kwargs.items())
        for name, handle in pairs:
            self._op_handles[name.removeprefix("aten::")] = handle
        self._stats = None
        return self

    def clear_op_handles(self) -> JitModelAnalysis:
        """Remove every handle."""
        self._op_handles = {}
        self._stats = None
        return self

    def unsupported_ops_warnings(self, enabled: bool) -> JitModelAnalysis:
        """Enable or disable the warning listing unsupported operators."""
        self._warn_unsupported = enabled
        return self

    def uncalled_modules_warnings(self, enabled: bool) -> JitModelAnalysis:
        """Enable or disable the warning listing modules never called."""
        self._warn_uncalled = enabled
        return self

    def ancestor_mode(self, mode: str) -> JitModelAnalysis:
        """Kept for API parity; ops are always charged to every module on the call stack."""
        return self

    # ------------------------------------------------------------------ results
    def total(self, module_name: str = "") -> int:
        """Total count of ``module_name`` (``''`` = the whole model)."""
        by_module = self.by_module()
        if module_name not in by_module:
            raise KeyError(f"{module_name!r} is not a submodule of the analysed model")
        return by_module[module_name]

    def by_operator(self, module_name: str = "") -> typing.Counter[str]:
        """Counts of ``module_name`` split by operator."""
        return Counter(self._analyze()[0][module_name])

    def by_module_and_operator(self) -> dict[str, typing.Counter[str]]:
        """Per module, counts split by operator."""
        return {name: Counter(counts) for name, counts in self._analyze()[0].items()}

    def by_module(self) -> typing.Counter[str]:
        """Total count per module name."""
        return Counter({name: sum(counts.values()) for name, counts in self._analyze()[0].items()})

    def unsupported_ops(self, module_name: str = "") -> typing.Counter[str]:
        """Operators seen without a handle (number of calls)."""
        self._analyze()
        return Counter(self._unsupported[module_name])

    def uncalled_modules(self) -> set[str]:
        """Names of submodules never called during the forward pass."""
        return set(self._analyze()[1])

    # ------------------------------------------------------------------ internals
    def _handle_for(self, name: str) -> tuple[bool, Handle | None]:
        if name in self._op_handles:
            return True, self._op_handles[name]
        return False, None

    def _record(self, func: Any, args: tuple, kwargs: dict, output: Any) -> None:
        name = canonical_op_name(func)
        known, handle = self._handle_for(name)
        if not known:
            if name not in self._ignored_ops:
                for module in self._stack:
                    self._unsupported[module][name] += 1
            return
        if handle is None:
            return
        inputs = _bind(func, args, kwargs)
        outputs = _as_list(output)
        count = handle(inputs, outputs)
        count = int(count) if float(count).is_integer() else count
        report_name = DYNAMIC_NAMES[name](inputs, outputs) if name in DYNAMIC_NAMES else name
        for module in self._stack:
            self._counts[module][report_name] += count

    def _analyze(self) -> tuple[dict[str, Counter], set[str]]:
        if self._stats is not None:
            return self._stats
        names = {module: name for name, module in self._model.named_modules()}
        self._counts: dict[str, Counter] = defaultdict(Counter)
        self._unsupported: dict[str, Counter] = defaultdict(Counter)
        self._stack: list[str] = []
        called: set[str] = set()

        def pre_hook(module: nn.Module, _inputs: Any) -> None:
            name = names[module]
            self._stack.append(name)
            called.add(name)

        def post_hook(module: nn.Module, _inputs: Any, _outputs: Any) -> None:
            if self._stack and self._stack[-1] == names[module]:
                self._stack.pop()

        handles = []
        for module in names:
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(post_hook))
        was_training = self._model.training
        try:
            with torch.no_grad(), _CountingMode(self):
                self._model(*self._inputs)
        finally:
            for hook in handles:
                hook.remove()
            self._model.train(was_training)
        counts = {name: Counter(self._counts.get(name, Counter())) for name in names.values()}
        uncalled = {
            name
            for module, name in names.items()
            if name not in called and name and type(module).forward is not nn.Module.forward
        }
        self._stats = (counts, uncalled)
        if self._warn_unsupported and self._unsupported.get(""):
            log(
                f"Unsupported operator(s) encountered (not counted): {dict(self._unsupported[''])}",
                logging.WARNING,
            )
        if self._warn_uncalled and uncalled:
            log(
                f"The following submodules of the model were never called during the trace "
                f"of the graph: {', '.join(sorted(uncalled))}",
                logging.WARNING,
            )
        return self._stats


class FlopAnalyzer(JitModelAnalysis):
    """FLOP counts (one fused multiply-add = one flop) per module and per operator.

    Example:
        >>> model = nn.Linear(4, 2)
        >>> FlopAnalyzer(model, torch.randn(3, 4)).total()
        24
    """

    def __init__(self, model: nn.Module, inputs: Any) -> None:
        super().__init__(model, inputs)
        self.set_op_handle(**FLOP_HANDLES)


class ActivationAnalyzer(JitModelAnalysis):
    """Activation counts (output elements of conv/linear/matmul-like ops)."""

    def __init__(self, model: nn.Module, inputs: Any) -> None:
        super().__init__(model, inputs)
        self.set_op_handle(**ACTIVATION_HANDLES)
        # Operators counted for FLOPs but not for activations are not "unsupported" here.
        self._ignored_ops |= set(FLOP_HANDLES) - set(ACTIVATION_HANDLES)
