"""``_ParamScheduler``: the base of every parameter scheduler, and the LR/momentum mixins.

Design note: a scheduler is a small state machine over ``optimizer.param_groups``. ``step()``
advances ``_global_step``; only steps inside ``[begin, end)`` advance ``last_step`` and rewrite
the parameter, from the *current* group value, so schedulers with overlapping ranges compose
multiplicatively in the order they are stepped. The constructor steps once so that the value at
step 0 applies at once. A family (Step, Cosine, ...) lives in its own module and defines only
``_get_value`` and, when it has step-like arguments, ``build_iter_from_epoch``.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable
from functools import wraps
from typing import Any

from torch.optim import Optimizer

from piston.logging import print_log
from piston.optim._errors import OptimArgumentError
from piston.optim.optimizer.base import BaseOptimWrapper

__all__ = ["INF", "LRSchedulerMixin", "MomentumSchedulerMixin", "_ParamScheduler"]

INF = int(1e9)

OptimizerType = Optimizer | BaseOptimWrapper


def _with_counter(method: Callable) -> Callable:
    """Wrap a bound ``step`` so that each call increments ``instance._global_step``."""
    if getattr(method, "_with_counter", False):
        return method
    instance_ref = weakref.ref(method.__self__)
    func = method.__func__
    cls = instance_ref().__class__
    del method

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        instance = instance_ref()
        instance._global_step += 1
        return func.__get__(instance, cls)(*args, **kwargs)

    wrapper._with_counter = True  # type: ignore[attr-defined]
    return wrapper


def check_begin_end(scheduler: str, begin: int, end: int) -> None:
    """Raise ``ValueError`` unless ``begin < end``."""
    if not begin < end:
        raise ValueError(
            f"end should be larger than begin, but got begin={begin}, end={end}. "
            f"{scheduler} updates steps in [begin, end); raise `end` or lower `begin`."
        )


def convert_begin_end(begin: int, end: int, epoch_length: int) -> tuple[int, int]:
    """Epoch-based ``begin``/``end`` in iterations (an infinite ``end`` stays infinite)."""
    begin = int(begin * epoch_length)
    if end != INF:
        end = int(end * epoch_length)
    return begin, end


def check_iter_conversion(by_epoch: bool, epoch_length: int | None) -> None:
    """Checks shared by every ``build_iter_from_epoch``."""
    if not by_epoch:
        raise OptimArgumentError(
            "Only epoch-based kwargs whose `by_epoch=True` can be converted to iter-based."
        )
    if epoch_length is None or epoch_length <= 0:
        raise OptimArgumentError(
            f"`epoch_length` must be a positive integer, but got {epoch_length}."
        )


class _ParamScheduler:
    """Base class of parameter schedulers.

    Args:
        optimizer: A ``torch.optim.Optimizer`` or an optimizer wrapper.
        param_name: The param-group key to schedule (``'lr'``, ``'momentum'``, ...).
        begin: First step (inclusive) at which the scheduler updates the value.
        end: Step (exclusive) at which it stops updating.
        last_step: Index of the last in-range step; -1 starts a new schedule.
        by_epoch: Whether ``step()`` is called every epoch (else every iteration).
        verbose: Log every value update.
    """

    def __init__(
        self,
        optimizer: OptimizerType,
        param_name: str,
        begin: int = 0,
        end: int = INF,
        last_step: int = -1,
        by_epoch: bool = True,
        verbose: bool = False,
    ) -> None:
        self._init_common(optimizer, param_name, begin, end, last_step, by_epoch, verbose)
        self.base_values = [group[f"initial_{param_name}"] for group in optimizer.param_groups]
        # Count optimizer.step() calls, to warn when scheduler.step() comes first.
        self.optimizer.step = _with_counter(self.optimizer.step)  # type: ignore[method-assign]
        self.optimizer._global_step = -1  # type: ignore[union-attr]
        self._global_step = -1
        self.step()

    def _init_common(
        self,
        optimizer: OptimizerType,
        param_name: str,
        begin: int,
        end: int,
        last_step: int,
        by_epoch: bool,
        verbose: bool,
    ) -> None:
        if not isinstance(optimizer, (Optimizer, BaseOptimWrapper)):
            raise TypeError(
                f"``optimizer`` should be an Optimizer or an OptimWrapper, but got "
                f"{type(optimizer).__name__}."
            )
        self.optimizer = optimizer
        self.param_name = param_name
        check_begin_end(type(self).__name__, begin, end)
        self.begin = begin
        self.end = end
        self.by_epoch = by_epoch
        if not isinstance(last_step, int) or last_step < -1:
            raise OptimArgumentError(
                f"last_step must be an int >= -1, but got {last_step!r}; use -1 for a new schedule."
            )
        key = f"initial_{param_name}"
        if last_step == -1:
            for group in optimizer.param_groups:
                group.setdefault(key, group[param_name])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if key not in group:
                    raise KeyError(
                        f"param '{key}' is not specified in param_groups[{i}] when resuming an "
                        f"optimizer (last_step={last_step}). Build the scheduler with "
                        "last_step=-1, or load its state_dict instead."
                    )
        self.last_step = last_step
        self.verbose = verbose

    @classmethod
    def build_iter_from_epoch(
        cls,
        *args: Any,
        begin: int = 0,
        end: int = INF,
        by_epoch: bool = True,
        epoch_length: int | None = None,
        **kwargs: Any,
    ) -> _ParamScheduler:
        """Build an iteration-based scheduler from epoch-based arguments.

        ``begin``, a finite ``end`` and step-like arguments (overridden per family) are
        multiplied by ``epoch_length`` and the scheduler is built with ``by_epoch=False``.
        """
        check_iter_conversion(by_epoch, epoch_length)
        begin, end = convert_begin_end(begin, end, epoch_length)  # type: ignore[arg-type]
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def _get_value(self) -> list:
        """Values of the current step, one per param group."""
        raise NotImplementedError

    def get_last_value(self) -> list:
        """The values set by the most recent ``step()``, one per param group."""
        return self._last_value

    def state_dict(self) -> dict:
        """Every attribute except ``optimizer``."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore attributes from :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def step(self) -> None:
        """Advance one step and, inside ``[begin, end)``, update the parameter of every group."""
        if self._global_step == 0:
            if not hasattr(self.optimizer.step, "_with_counter"):
                # A Python warning (UserWarning), as torch's and MMEngine's schedulers do.
                warnings.warn(
                    "Seems like `optimizer.step()` has been overridden after parameter value "
                    "scheduler initialization. Please, make sure to call `optimizer.step()` "
                    "before `scheduler.step()`.",
                    UserWarning,
                    stacklevel=2,
                )
            elif self.optimizer._global_step < 0 and not self._accumulating():  # type: ignore[union-attr]
                warnings.warn(
                    "Detected call of `scheduler.step()` before `optimizer.step()`. In PyTorch "
                    "1.1.0 and later, you should call them in the opposite order: "
                    "`optimizer.step()` before `scheduler.step()`. Failure to do this will "
                    "result in PyTorch skipping the first value of the parameter value schedule.",
                    UserWarning,
                    stacklevel=2,
                )
        self._global_step += 1
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            values = self._get_value()
            for i, (group, value) in enumerate(zip(self.optimizer.param_groups, values)):
                group[self.param_name] = value
                self.print_value(self.verbose, i, value)
        self._last_value = [group[self.param_name] for group in self.optimizer.param_groups]

    def _accumulating(self) -> bool:
        """Whether a wrapper has run backward passes whose step waits for a full window.

        With ``accumulative_counts > 1`` the first iterations legitimately end without an
        optimizer step, so the "scheduler before optimizer" warning would be spurious.
        """
        return (
            isinstance(self.optimizer, BaseOptimWrapper)
            and getattr(self.optimizer, "_inner_count", 0) > 0
        )

    def print_value(self, is_verbose: bool, group: int, value: float) -> None:
        """Log the new value of ``group`` when ``is_verbose``."""
        if is_verbose:
            print_log(
                f"Adjusting parameter value of group {group} to {value:.4e}.", logger="current"
            )


class LRSchedulerMixin:
    """Schedules ``lr``: ``XLR(optimizer, *args)`` is ``XParamScheduler(optimizer, 'lr', *args)``."""

    def __init__(self, optimizer: OptimizerType, *args: Any, **kwargs: Any) -> None:
        super().__init__(optimizer, "lr", *args, **kwargs)  # type: ignore[call-arg]


class MomentumSchedulerMixin:
    """Schedules ``momentum``, or ``betas[0]`` for Adam-style optimizers.

    With ``betas``, a ``momentum`` key mirrors ``betas[0]`` in every group and is written back
    into ``betas`` after each step.
    """

    def __init__(self, optimizer: OptimizerType, *args: Any, **kwargs: Any) -> None:
        self.use_betas = False
        if "momentum" in optimizer.defaults:
            pass
        elif "betas" in optimizer.defaults:
            self.use_betas = True
        else:
            raise ValueError(
                f"optimizer must support momentum when using momentum scheduler, but "
                f"{type(getattr(optimizer, 'optimizer', optimizer)).__name__} has neither "
                "`momentum` nor `betas` in its defaults."
            )
        if self.use_betas:
            for group in optimizer.param_groups:
                group["momentum"] = group["betas"][0]
        super().__init__(optimizer, "momentum", *args, **kwargs)  # type: ignore[call-arg]

    def step(self, *args: Any, **kwargs: Any) -> None:
        """Step, then copy ``momentum`` back into ``betas[0]`` for Adam-style optimizers."""
        super().step(*args, **kwargs)  # type: ignore[misc]
        if self.use_betas:
            for group in self.optimizer.param_groups:  # type: ignore[attr-defined]
                _, beta_1 = group["betas"]
                group["betas"] = (group["momentum"], beta_1)


# MMEngine defines every generic ``*ParamScheduler`` in this module and downstream code imports
# them from here; piston defines them per family, which import this module, hence the lazy hook.
_GENERIC_SCHEDULERS = frozenset(
    {
        "ConstantParamScheduler",
        "CosineAnnealingParamScheduler",
        "CosineRestartParamScheduler",
        "ExponentialParamScheduler",
        "LinearParamScheduler",
        "MultiStepParamScheduler",
        "OneCycleParamScheduler",
        "PolyParamScheduler",
        "ReduceOnPlateauParamScheduler",
        "StepParamScheduler",
    }
)


def __getattr__(name: str) -> Any:
    if name in _GENERIC_SCHEDULERS:
        import piston.optim.scheduler as scheduler_package

        return getattr(scheduler_package, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
