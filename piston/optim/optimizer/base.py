"""Abstract optimizer wrapper: the interface every wrapper (plain, AMP, strategy) implements.

Schedulers, hooks and the runner only talk to this surface, so they work with any wrapper.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import torch
from torch.optim import Optimizer

from piston.optim._errors import OptimTypeError

__all__ = ["BaseOptimWrapper"]


class BaseOptimWrapper(metaclass=ABCMeta):
    """Base class of optimizer wrappers.

    Args:
        optimizer: The wrapped optimizer.
    """

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        # Set to a pseudo param group (``{'params': tensor([0.]), **defaults}``) by wrappers of
        # optimizers with several param groups, so that schedulers also schedule the base value.
        self.base_param_settings: dict | None = None

    @abstractmethod
    def update_params(self, *args: Any, **kwargs: Any) -> None:
        """Update parameters in the optimizer (backward, step, zero_grad)."""

    @abstractmethod
    def zero_grad(self, **kwargs: Any) -> None:
        """Reset the gradients of all optimized parameters."""

    def step(self, **kwargs: Any) -> None:
        """Call the wrapped optimizer's ``step``."""
        self.optimizer.step(**kwargs)

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Compute gradients of ``loss``."""
        loss.backward(**kwargs)

    def state_dict(self) -> dict:
        """The wrapped optimizer's state dict (plus ``base_param_settings`` when set)."""
        state_dict = self.optimizer.state_dict()
        if self.base_param_settings is not None:
            state_dict["base_param_settings"] = self.base_param_settings
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict produced by :meth:`state_dict`.

        The input is not modified.
        """
        state_dict = dict(state_dict)
        base_param_settings = state_dict.pop("base_param_settings", None)
        if base_param_settings is not None:
            self.base_param_settings = base_param_settings
        self.optimizer.load_state_dict(state_dict)

    @property
    def param_groups(self) -> list[dict]:
        """The optimizer's param groups, plus the pseudo base group when there is one."""
        if self.base_param_settings is not None:
            return self.optimizer.param_groups + [self.base_param_settings]
        return self.optimizer.param_groups

    @property
    def defaults(self) -> dict:
        """The wrapped optimizer's ``defaults``."""
        return self.optimizer.defaults

    def get_lr(self) -> dict[str, list[float]]:
        """Learning rates: ``{'lr': [per real group]}`` (+ ``'base_lr'`` with several groups)."""
        res: dict[str, list[float]] = {}
        if self.base_param_settings is not None:
            res["base_lr"] = [self.base_param_settings["lr"]]
        res["lr"] = [group["lr"] for group in self.optimizer.param_groups]
        return res

    def get_momentum(self) -> dict[str, list[float]]:
        """Momentum per real group: ``momentum``, else ``betas[0]``, else 0."""
        momentum = []
        for group in self.optimizer.param_groups:
            if "momentum" in group:
                momentum.append(group["momentum"])
            elif "betas" in group:
                momentum.append(group["betas"][0])
            else:
                momentum.append(0)
        return {"momentum": momentum}


def _check_optimizer(optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise OptimTypeError(
            f"optimizer must be a `torch.optim.Optimizer` instance, but got {type(optimizer)}. "
            "Build it first, or pass a config dict to `build_optim_wrapper`."
        )
    return optimizer
