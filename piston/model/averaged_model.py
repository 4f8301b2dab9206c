"""Averaged models (EMA, momentum-annealing EMA, SWA) kept beside the trained model.

Design note: ``update_parameters`` runs after every training iteration (``EMAHook``), so it is on
the per-iteration path. The step counter ``steps`` is a CPU buffer, so reading it never waits
for the GPU, and the plain EMA update is one fused ``torch._foreach_lerp_`` over all averaged
tensors instead of a Python loop with one kernel per parameter. Subclasses that override
``avg_func`` get the per-tensor loop, exactly as the API promises.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from copy import deepcopy
from typing import Any

import torch
import torch.nn as nn

from piston.logging import print_log
from piston.registry import MODELS

__all__ = [
    "BaseAveragedModel",
    "ExponentialMovingAverage",
    "MomentumAnnealingEMA",
    "StochasticWeightAverage",
]


class BaseAveragedModel(nn.Module):
    """Keep an averaged copy of a model.

    Args:
        model: The model being trained; a deep copy (without gradients) is averaged.
        interval: Average every ``interval`` calls of ``update_parameters``.
        device: Where to keep the copy; ``None`` keeps the model's device.
        update_buffers: Average the buffers too (all ``state_dict`` entries); otherwise
            buffers are copied from the source model at every update.
    """

    def __init__(
        self,
        model: nn.Module,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__()
        self.module = deepcopy(model).requires_grad_(False)
        self.interval = interval
        if device is not None:
            self.module = self.module.to(device)
        # On the CPU on purpose: update_parameters reads it every iteration.
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long))
        self.update_buffers = update_buffers
        if update_buffers:
            self.avg_parameters = self.module.state_dict()
        else:
            self.avg_parameters = dict(self.module.named_parameters())

    @abstractmethod
    def avg_func(
        self, averaged_param: torch.Tensor, source_param: torch.Tensor, steps: int
    ) -> None:
        """Update ``averaged_param`` in place from ``source_param`` at step ``steps``."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged copy."""
        return self.module(*args, **kwargs)

    def update_parameters(self, model: nn.Module) -> None:
        """Fold the current values of ``model`` into the average.

        The first call copies the source values; later calls average every ``interval``
        steps (floating-point entries only).
        """
        source = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        steps = int(self.steps)
        if steps == 0:
            for key, avg in self.avg_parameters.items():
                avg.data.copy_(source[key].data)
        elif steps % self.interval == 0:
            pairs = [
                (avg.data, source[key].data.to(avg.device))
                for key, avg in self.avg_parameters.items()
                if avg.dtype.is_floating_point
            ]
            if pairs:
                self._average(pairs, steps)
        if not self.update_buffers:
            _copy_all(list(self.module.buffers()), list(model.buffers()))
        self.steps += 1

    def _average(self, pairs: list[tuple[torch.Tensor, torch.Tensor]], steps: int) -> None:
        for avg, src in pairs:
            self.avg_func(avg, src, steps)


def _copy_all(targets: list[torch.Tensor], sources: list[torch.Tensor]) -> None:
    """``target.copy_(source)`` pairwise, fused into one call per device when possible."""
    same = [(t, s) for t, s in zip(targets, sources) if t.device == s.device]
    if same:
        torch._foreach_copy_([t.data for t, _ in same], [s.data for _, s in same])
    for target, source in zip(targets, sources):
        if target.device != source.device:
            target.data.copy_(source.data.to(target.device))


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """``avg = avg * (1 - momentum) + src * momentum``.

    ``momentum`` is the weight of the *new* value (the opposite of the "decay" convention).
    """

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__(model, interval, device, update_buffers)
        if not 0.0 < momentum < 1.0:
            raise AssertionError(f"momentum must be in range (0.0, 1.0) but got {momentum}")
        if momentum > 0.5:
            print_log(
                "The value of momentum in EMA is usually a small number, which is different "
                "from the conventional notion of momentum but similar to 1 - momentum. "
                "Please make sure the value is correct.",
                logger="current",
                level=logging.WARNING,
            )
        self.momentum = momentum

    def _momentum_at(self, steps: int) -> float:
        return self.momentum

    def avg_func(
        self, averaged_param: torch.Tensor, source_param: torch.Tensor, steps: int
    ) -> None:
        averaged_param.lerp_(source_param, self._momentum_at(steps))

    def _average(self, pairs: list[tuple[torch.Tensor, torch.Tensor]], steps: int) -> None:
        if type(self).avg_func is not ExponentialMovingAverage.avg_func:
            super()._average(pairs, steps)  # a subclass changed the rule: honour it
            return
        momentum = self._momentum_at(steps)
        groups: dict[tuple, tuple[list, list]] = {}
        for avg, src in pairs:
            avgs, srcs = groups.setdefault((avg.device, avg.dtype, src.dtype), ([], []))
            avgs.append(avg)
            srcs.append(src)
        for avgs, srcs in groups.values():
            torch._foreach_lerp_(avgs, srcs, momentum)


@MODELS.register_module()
class MomentumAnnealingEMA(ExponentialMovingAverage):
    """EMA whose momentum starts large and decays: ``max(momentum, gamma / (gamma + steps))``.

    Args:
        gamma: Larger values make the momentum decay more slowly; must be positive.
    """

    def __init__(
        self,
        model: nn.Module,
        momentum: float = 0.0002,
        gamma: int = 100,
        interval: int = 1,
        device: torch.device | str | None = None,
        update_buffers: bool = False,
    ) -> None:
        super().__init__(
            model=model,
            momentum=momentum,
            interval=interval,
            device=device,
            update_buffers=update_buffers,
        )
        if gamma <= 0:
            raise AssertionError(f"gamma must be greater than 0, but got {gamma}")
        self.gamma = gamma

    def _momentum_at(self, steps: int) -> float:
        return max(self.momentum, self.gamma / (self.gamma + int(steps)))


@MODELS.register_module()
class StochasticWeightAverage(BaseAveragedModel):
    """Equal-weight running mean: ``avg += (src - avg) / (steps // interval + 1)``."""

    def avg_func(
        self, averaged_param: torch.Tensor, source_param: torch.Tensor, steps: int
    ) -> None:
        averaged_param.add_(
            source_param - averaged_param, alpha=1 / float(int(steps) // self.interval + 1)
        )
