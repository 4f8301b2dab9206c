"""ApexOptimWrapper: mixed precision through NVIDIA apex (optional dependency).

Design note: apex is imported when the wrapper is built, and ``apex.amp.initialize`` runs
lazily on the first ``optim_context`` because it needs the model, which the wrapper only sees
there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn as nn

from piston.optim.optimizer.optimizer_wrapper import OptimWrapper
from piston.registry import OPTIM_WRAPPERS

__all__ = ["ApexOptimWrapper"]


def _import_apex_amp() -> Any:
    try:
        import apex.amp as apex_amp
    except ImportError as exc:
        raise ImportError(
            "ApexOptimWrapper needs NVIDIA apex. Install it from https://github.com/NVIDIA/apex, "
            "or use AmpOptimWrapper (torch.amp) instead."
        ) from exc
    return apex_amp


@OPTIM_WRAPPERS.register_module()
class ApexOptimWrapper(OptimWrapper):
    """Optimizer wrapper for apex mixed precision (``apex.amp``).

    Args:
        opt_level: apex optimisation level, ``'O0'`` to ``'O3'``.
        loss_scale: ``'dynamic'`` or a static scale.
        enabled, cast_model_type, patch_torch_functions, keep_batchnorm_fp32, master_weights,
        cast_model_outputs, num_losses, verbosity, min_loss_scale, max_loss_scale: forwarded to
            ``apex.amp.initialize``.
        **kwargs: Passed to :class:`OptimWrapper`.
    """

    def __init__(
        self,
        opt_level: str = "O1",
        loss_scale: float | str | None = "dynamic",
        enabled: bool | None = True,
        cast_model_type: torch.dtype | None = None,
        patch_torch_functions: bool | None = None,
        keep_batchnorm_fp32: bool | str | None = None,
        master_weights: bool | None = None,
        cast_model_outputs: torch.dtype | None = None,
        num_losses: int = 1,
        verbosity: int = 1,
        min_loss_scale: float | None = None,
        max_loss_scale: float | None = 2.0**24,
        **kwargs: Any,
    ) -> None:
        self._apex_amp = _import_apex_amp()
        super().__init__(**kwargs)
        self.opt_level = opt_level
        self.loss_scale = loss_scale
        self.enabled = enabled
        self.cast_model_type = cast_model_type
        self.patch_torch_functions = patch_torch_functions
        self.keep_batchnorm_fp32 = keep_batchnorm_fp32
        self.master_weights = master_weights
        self.cast_model_outputs = cast_model_outputs
        self.num_losses = num_losses
        self.verbosity = verbosity
        self.min_loss_scale = min_loss_scale
        self.max_loss_scale = max_loss_scale
        self._apex_amp_state_dict: dict | None = None
        self._initialized = False

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Backpropagate through ``apex.amp.scale_loss`` and count the call."""
        with self._apex_amp.scale_loss(loss, self.optimizer) as scaled_loss:
            scaled_loss.backward(**kwargs)
        self._inner_count += 1

    def state_dict(self) -> dict:
        """Optimizer state plus ``apex_amp`` (the apex loss-scaler state)."""
        state_dict = super().state_dict()
        state_dict["apex_amp"] = self._apex_amp.state_dict()
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load optimizer state; apex state is applied now or after ``amp.initialize``."""
        state_dict = dict(state_dict)
        if "apex_amp" in state_dict:
            apex_state = state_dict.pop("apex_amp")
            if self._initialized:
                self._apex_amp.load_state_dict(apex_state)
            else:
                self._apex_amp_state_dict = apex_state
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        """Initialise apex on first use, then the parent context."""
        with super().optim_context(model):
            if not self._initialized:
                target = model.module if hasattr(model, "module") else model
                target, self.optimizer = self._apex_amp.initialize(
                    target,
                    self.optimizer,
                    opt_level=self.opt_level,
                    loss_scale=self.loss_scale,
                    enabled=self.enabled,
                    cast_model_type=self.cast_model_type,
                    patch_torch_functions=self.patch_torch_functions,
                    keep_batchnorm_fp32=self.keep_batchnorm_fp32,
                    master_weights=self.master_weights,
                    cast_model_outputs=self.cast_model_outputs,
                    num_losses=self.num_losses,
                    verbosity=self.verbosity,
                    min_loss_scale=self.min_loss_scale,
                    max_loss_scale=self.max_loss_scale,
                )
                if self._apex_amp_state_dict is not None:
                    self._apex_amp.load_state_dict(self._apex_amp_state_dict)
                    self._apex_amp_state_dict = None
                self._initialized = True
            yield
