"""OptimWrapper: backward, gradient accumulation, clipping, step and zero_grad in one call.

Design note: ``update_params`` sits on the per-iteration path, so it does no host-device
synchronisation and allocates nothing it does not have to. Without accumulation the loss is
used as is (no ``loss / 1`` kernel); the clip settings are parsed once in ``__init__``; the
gradient norm returned by ``clip_grad_norm_`` is logged to the message hub as a detached tensor,
which the hub converts to a number only when a logger reads it.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
import torch.nn as nn
from torch.optim import Optimizer

from piston.logging import MessageHub, print_log
from piston.optim._errors import OptimArgumentError
from piston.optim.optimizer.base import BaseOptimWrapper, _check_optimizer
from piston.registry import OPTIM_WRAPPERS

__all__ = ["OptimWrapper"]

_CLIP_FUNCS = {
    "norm": (torch.nn.utils.clip_grad_norm_, "grad_norm"),
    "value": (torch.nn.utils.clip_grad_value_, "grad_value"),
}


_NULL_CONTEXT = nullcontext()  # reusable and reentrant


# Methods ``update_params`` calls; an instance that patches one takes the general path.
_PER_CALL_METHODS = frozenset(
    ("scale_loss", "backward", "should_update", "step", "zero_grad", "update_params")
)
_UNCOUNTED_METHODS = _PER_CALL_METHODS - {"step"}


@OPTIM_WRAPPERS.register_module()
class OptimWrapper(BaseOptimWrapper):
    """Wraps an optimizer with gradient accumulation and gradient clipping.

    Args:
        optimizer: The optimizer to wrap.
        accumulative_counts: Number of ``update_params`` calls whose gradients are accumulated
            before each optimizer step. The loss is divided by it (by the length of the last,
            shorter window near ``max_counts``), so accumulating N batches of size B matches one
            step on a batch of size N*B.
        clip_grad: ``None`` or the keyword arguments of ``torch.nn.utils.clip_grad_norm_``
            (``type='norm'``, the default) or ``clip_grad_value_`` (``type='value'``), e.g.
            ``dict(max_norm=35, norm_type=2)``.

    Example:
        >>> model = torch.nn.Linear(2, 1)
        >>> wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
        >>> wrapper.update_params(model(torch.ones(1, 2)).sum())
    """

    def __init__(
        self,
        optimizer: Optimizer,
        accumulative_counts: int = 1,
        clip_grad: dict | None = None,
    ) -> None:
        if not isinstance(accumulative_counts, int) or accumulative_counts < 1:
            raise OptimArgumentError(
                f"accumulative_counts must be an int >= 1, but got {accumulative_counts!r}. "
                "Use 1 to step the optimizer on every update_params call."
            )
        super().__init__(_check_optimizer(optimizer))
        self._accumulative_counts = accumulative_counts
        self.clip_func: Any = None
        self.grad_name: str | None = None
        if clip_grad is not None:
            clip_grad = self._parse_clip_grad(clip_grad)
        self.clip_grad_kwargs = clip_grad
        self.message_hub = MessageHub.get_current_instance()
        self._inner_count = 0
        self._max_counts = -1
        self._remainder_counts = -1
        if len(optimizer.param_groups) > 1:
            self.base_param_settings = {"params": torch.tensor([0.0], dtype=torch.float)}
            self.base_param_settings.update(**self.optimizer.defaults)

    def _parse_clip_grad(self, clip_grad: Any) -> dict:
        if not isinstance(clip_grad, dict) or not clip_grad:
            raise OptimArgumentError(
                "If `clip_grad` is not None, it should be a non-empty `dict` of the arguments of "
                f"`torch.nn.utils.clip_grad_norm_` or `clip_grad_value_`, but got {clip_grad!r}."
            )
        clip_grad = dict(clip_grad)
        clip_type = clip_grad.pop("type", "norm")
        if clip_type not in _CLIP_FUNCS:
            raise ValueError(
                f'type of clip_grad should be "norm" or "value" but got {clip_type!r}. '
                "Set clip_grad=dict(type='norm', max_norm=...) or dict(type='value', "
                "clip_value=...)."
            )
        self.clip_func, self.grad_name = _CLIP_FUNCS[clip_type]
        if not clip_grad:
            raise OptimArgumentError(
                "`clip_grad` should contain other arguments besides `type`, e.g. "
                "dict(max_norm=35, norm_type=2) for 'norm' or dict(clip_value=1.0) for 'value'."
            )
        return clip_grad

    # ------------------------------------------------------------------ per iteration
    def update_params(
        self,
        loss: torch.Tensor,
        step_kwargs: dict | None = None,
        zero_kwargs: dict | None = None,
    ) -> None:
        """Scale the loss, backpropagate it and, when a window is complete, step and zero grads.

        Args:
            loss: The loss to backpropagate.
            step_kwargs: Keyword arguments for ``optimizer.step``.
            zero_kwargs: Keyword arguments for ``optimizer.zero_grad``.
        """
        if (
            self._accumulative_counts == 1
            and type(self) is OptimWrapper
            and not step_kwargs
            and not zero_kwargs
            and not self.clip_grad_kwargs
        ):
            # What the general path below does for a plain wrapper stepping every call (no
            # scaling, always an update), written out: it runs every iteration. An instance
            # ``step`` is allowed when it is a parameter scheduler's call counter (every run
            # with a scheduler has one); any other instance-patched method takes the general
            # path, so that it is called.
            patched = self.__dict__
            counted = patched.get("step")
            if counted is None and _PER_CALL_METHODS.isdisjoint(patched):
                loss.backward()
                self._inner_count += 1
                optimizer = self.optimizer
                optimizer.step()
                optimizer.zero_grad()
                return
            if getattr(counted, "_with_counter", False) and _UNCOUNTED_METHODS.isdisjoint(patched):
                loss.backward()
                self._inner_count += 1
                counted()  # counts, then ``OptimWrapper.step``: no clipping configured
                self.optimizer.zero_grad()
                return
        loss = self.scale_loss(loss)
        self.backward(loss)
        if self.should_update():
            # Plain calls when there are no kwargs: this runs every iteration.
            if step_kwargs:
                self.step(**step_kwargs)
            else:
                self.step()
            if zero_kwargs:
                self.zero_grad(**zero_kwargs)
            else:
                self.zero_grad()

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """``loss.backward(**kwargs)`` and count the call."""
        loss.backward(**kwargs)
        self._inner_count += 1

    def zero_grad(self, **kwargs: Any) -> None:
        """``optimizer.zero_grad(**kwargs)``."""
        self.optimizer.zero_grad(**kwargs)

    def step(self, **kwargs: Any) -> None:
        """Clip the gradients if configured, then ``optimizer.step(**kwargs)``."""
        if self.clip_grad_kwargs:
            self._clip_grad()
        self.optimizer.step(**kwargs)

    def _clip_grad(self) -> None:
        params = [
            param
            for group in self.optimizer.param_groups
            for param in group["params"]
            if param.requires_grad and param.grad is not None
        ]
        if not params:
            return
        grad = self.clip_func(params, **self.clip_grad_kwargs)
        # clip_grad_value_ returns None; the norm stays a tensor (no device sync here).
        if grad is not None:
            self.message_hub.update_scalar(f"train/{self.grad_name}", grad.detach())

    # ------------------------------------------------------------------ accumulation
    def optim_context(self, model: nn.Module) -> AbstractContextManager:
        """Skip DDP's gradient all-reduce (``model.no_sync()``) on accumulation steps.

        Returns a context manager: ``model.no_sync()`` on an accumulation step of a model that
        has it, else a shared no-op context (no generator is built on the per-iteration path).
        """
        if not self.should_sync() and hasattr(model, "no_sync"):
            return model.no_sync()
        return _NULL_CONTEXT

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """Set the counters when training starts or resumes.

        Args:
            model: The trained model (checked for BatchNorm when accumulating).
            init_counts: Number of ``update_params`` calls already done (``runner.iter``).
            max_counts: Total number of calls in the run (``max_iters``), or -1 if unknown.
        """
        self._inner_count = init_counts
        self._max_counts = max_counts
        if self._inner_count % self._accumulative_counts != 0:
            print_log(
                f"Resumed iteration number {init_counts} is not divisible by "
                f"`accumulative_counts` ({self._accumulative_counts}), which means the gradient "
                "of some iterations is lost and the result may be influenced slightly.",
                logger="current",
                level=logging.WARNING,
            )
        from piston.utils.dl_utils import has_batch_norm

        if self._accumulative_counts > 1 and has_batch_norm(model):
            print_log(
                "Gradient accumulative may slightly decrease performance because the model has "
                "BatchNorm layers.",
                logger="current",
                level=logging.WARNING,
            )
        self._remainder_counts = self._max_counts % self._accumulative_counts

    def should_update(self) -> bool:
        """Whether the current call completes an accumulation window (or the run)."""
        return (
            self._inner_count % self._accumulative_counts == 0
            or self._inner_count == self._max_counts
        )

    def should_sync(self) -> bool:
        """Whether the next backward completes a window, so gradients must be all-reduced."""
        return (self._inner_count + 1) % self._accumulative_counts == 0 or (
            self._inner_count + 1
        ) == self._max_counts

    def scale_loss(self, loss: torch.Tensor) -> torch.Tensor:
        """Divide ``loss`` by the length of the current accumulation window."""
        if self._accumulative_counts == 1:
            return loss
        if self._max_counts == -1 or self._inner_count < self._max_counts - self._remainder_counts:
            loss_factor = self._accumulative_counts
        else:
            loss_factor = self._remainder_counts
            if loss_factor <= 0:
                raise AssertionError(
                    "loss_factor should be larger than zero! This happens when "
                    "`initialize_count_status` was called with a wrong `init_counts` "
                    f"({self._inner_count}) or `max_counts` ({self._max_counts})."
                )
        return loss / loss_factor

    @property
    def inner_count(self) -> int:
        """Number of ``backward`` calls so far (including resumed ones)."""
        return self._inner_count

    def __repr__(self) -> str:
        wrapper_info = (
            f"Type: {type(self).__name__}\n_accumulative_counts: {self._accumulative_counts}\n"
            "optimizer: \n"
        )
        return wrapper_info + repr(self.optimizer) + "\n"
