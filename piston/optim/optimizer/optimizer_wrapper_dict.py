"""OptimWrapperDict: several named optimizer wrappers (GANs and other multi-optimizer models).

It is a container for hooks, checkpoints and logging; the model's ``train_step`` updates each
wrapper itself, so the update methods raise ``NotImplementedError``.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from contextlib import AbstractContextManager
from typing import Any, NoReturn

import torch
import torch.nn as nn

from piston.optim.optimizer.optimizer_wrapper import OptimWrapper

__all__ = ["OptimWrapperDict"]


class OptimWrapperDict(OptimWrapper):
    """A dict of :class:`OptimWrapper` with the wrapper interface used by hooks and the runner.

    A subclass of ``OptimWrapper`` as in MMEngine (so ``isinstance(wrapper, OptimWrapper)``
    holds for it too; code telling the two apart checks ``OptimWrapperDict`` first), but it
    holds no optimizer of its own and does not call ``OptimWrapper.__init__``.

    Args:
        **optim_wrapper_dict: ``name=OptimWrapper`` pairs, e.g. ``generator=..., discriminator=...``.

    Example:
        >>> wrappers = OptimWrapperDict(gen=OptimWrapper(opt_g), disc=OptimWrapper(opt_d))
        >>> wrappers['gen'].update_params(loss_g)
    """

    def __init__(self, **optim_wrapper_dict: OptimWrapper) -> None:
        for key, value in optim_wrapper_dict.items():
            if not isinstance(value, OptimWrapper):
                raise AssertionError(
                    f"`OptimWrapperDict` only accept OptimWrapper instance, but got {key}: "
                    f"{type(value)}. Wrap each optimizer in an OptimWrapper first."
                )
        self.optim_wrappers = optim_wrapper_dict
        self.base_param_settings = None

    def _unsupported(self, name: str) -> NoReturn:
        raise NotImplementedError(
            f"`OptimWrapperDict` does not implement `{name}`; call it on each wrapper, e.g. "
            f"`optim_wrapper['{next(iter(self.optim_wrappers), 'name')}'].{name}(...)`."
        )

    def update_params(
        self, loss: torch.Tensor, step_kwargs: dict | None = None, zero_kwargs: dict | None = None
    ) -> None:
        """Not supported: update each wrapper separately."""
        self._unsupported("update_params")

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        """Not supported: call ``backward`` on each wrapper."""
        self._unsupported("backward")

    def step(self, **kwargs: Any) -> None:
        """Not supported: call ``step`` on each wrapper."""
        self._unsupported("step")

    def zero_grad(self, **kwargs: Any) -> None:
        """Not supported: call ``zero_grad`` on each wrapper."""
        self._unsupported("zero_grad")

    def optim_context(self, model: nn.Module) -> AbstractContextManager:
        """Not supported: enter each wrapper's ``optim_context``."""
        self._unsupported("optim_context")

    def initialize_count_status(self, model: nn.Module, init_counts: int, max_counts: int) -> None:
        """No-op: each wrapper is updated by the model's ``train_step``."""

    @property
    def param_groups(self) -> dict[str, list[dict]]:  # type: ignore[override]
        """``{name: wrapper.param_groups}``."""
        return {name: wrapper.param_groups for name, wrapper in self.optim_wrappers.items()}

    @property
    def defaults(self) -> dict[str, dict]:  # type: ignore[override]
        """``{name: wrapper.defaults}``."""
        return {name: wrapper.defaults for name, wrapper in self.optim_wrappers.items()}

    def get_lr(self) -> dict[str, list[float]]:
        """``{'<name>.lr': [...], '<name>.base_lr': [...]}`` for every wrapper."""
        lr_dict = {}
        for name, wrapper in self.optim_wrappers.items():
            for key, value in wrapper.get_lr().items():
                lr_dict[f"{name}.{key}"] = value
        return lr_dict

    def get_momentum(self) -> dict[str, list[float]]:
        """``{'<name>.momentum': [...]}`` for every wrapper."""
        momentum_dict = {}
        for name, wrapper in self.optim_wrappers.items():
            momentum_dict[f"{name}.momentum"] = wrapper.get_momentum()["momentum"]
        return momentum_dict

    def state_dict(self) -> dict:
        """``{name: wrapper.state_dict()}``."""
        return {name: wrapper.state_dict() for name, wrapper in self.optim_wrappers.items()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load ``{name: state}``; every name must be one of this dict's wrappers."""
        for name, sub_state in state_dict.items():
            if name not in self.optim_wrappers:
                raise AssertionError(
                    f"Cannot find {name} in optim_wrapper_dict (known: "
                    f"{list(self.optim_wrappers)}). Check the checkpoint's optimizer names."
                )
            self.optim_wrappers[name].load_state_dict(sub_state)

    def items(self) -> ItemsView[str, OptimWrapper]:
        """``(name, wrapper)`` pairs."""
        return self.optim_wrappers.items()

    def values(self) -> ValuesView[OptimWrapper]:
        """The wrappers."""
        return self.optim_wrappers.values()

    def keys(self) -> KeysView[str]:
        """The names."""
        return self.optim_wrappers.keys()

    def __getitem__(self, key: str) -> OptimWrapper:
        if key not in self.optim_wrappers:
            raise AssertionError(
                f"Cannot find {key} in OptimWrapperDict, please check your optimizer "
                f"constructor. Known names: {list(self.optim_wrappers)}."
            )
        return self.optim_wrappers[key]

    def __contains__(self, key: object) -> bool:
        return key in self.optim_wrappers

    def __len__(self) -> int:
        return len(self.optim_wrappers)

    def __iter__(self) -> Iterator[str]:
        return iter(self.optim_wrappers)

    def __repr__(self) -> str:
        desc = ""
        for name, wrapper in self.optim_wrappers.items():
            desc += f"name: {name}\n"
            desc += repr(wrapper)
        return desc
