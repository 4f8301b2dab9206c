"""HistoryBuffer: the scalar history behind every logged value.

Design note: the per-iteration path must never wait for the device (DESIGN.md §3), so
``update`` accepts tensors on any device and only *queues* them (detached copies). Nothing is
converted until somebody reads the buffer; the first read converts every queued value in one
batched transfer per device (``torch.stack(pending).tolist()``) and appends the result to the
numpy history, which is what all statistics work on. Plain numbers bypass the queue only when it
is empty, so the order of updates is always preserved. ``_log_history``/``_count_history`` are
properties that flush first, so user statistics registered with ``register_statistics`` (which
index them directly, as in MMEngine) see every value.

This module does not import torch: tensors are recognised through ``sys.modules``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["HistoryBuffer"]

# Safety valve: a buffer that is never read would otherwise keep an unbounded list of small
# device tensors alive. Past this many queued values they are converted (one sync per 4096
# updates, negligible).
_MAX_PENDING = 4096


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def materialize(values: list[Any]) -> list[float | int]:
    """Turn a list of numbers and one-element tensors into Python numbers.

    Tensors are converted with one ``stack(...).tolist()`` per device, whatever their count.
    """
    out: list[Any] = list(values)
    by_device: dict[Any, list[int]] = {}
    for idx, value in enumerate(values):
        if _is_tensor(value):
            by_device.setdefault(value.device, []).append(idx)
    if not by_device:
        return out
    import torch

    for device, indices in by_device.items():
        tensors = [values[i].reshape(()) for i in indices]
        if len({t.dtype for t in tensors}) > 1:
            dtype = torch.float32 if device.type == "mps" else torch.float64
            tensors = [t.to(dtype) for t in tensors]
        for i, number in zip(indices, torch.stack(tensors).tolist()):
            out[i] = number
    return out


class HistoryBuffer:
    """Keep the history of one scalar and compute statistics over windows of it.

    Args:
        log_history: Initial values.
        count_history: Initial counts, one per value.
        max_length: Only the last ``max_length`` entries are kept.

    Example:
        >>> buf = HistoryBuffer()
        >>> buf.update(1.0)
        >>> buf.update(3.0)
        >>> float(buf.mean())
        2.0
    """

    _statistics_methods: dict[str, Callable] = {}

    def __init__(
        self,
        log_history: Sequence = [],
        count_history: Sequence = [],
        max_length: int = 1_000_000,
    ) -> None:
        self.max_length = max_length
        if len(log_history) != len(count_history):
            raise AssertionError(
                "The lengths of log_history and count_history should be equal, but got "
                f"{len(log_history)} and {len(count_history)}."
            )
        log_history = materialize(list(log_history))
        count_history = list(count_history)
        if len(log_history) > max_length:
            warnings.warn(
                f"The length of history buffer ({len(log_history)}) exceeds max_length "
                f"({max_length}); only the last {max_length} entries are kept."
            )
            log_history = log_history[-max_length:]
            count_history = count_history[-max_length:]
        self._values = np.array(log_history, dtype=np.float64)
        self._counts = np.array(count_history, dtype=np.float64)
        self._pending: list[Any] = []
        self._pending_counts: list[int | float] = []

    # ------------------------------------------------------------------ statistics registry
    @classmethod
    def register_statistics(cls, method: Callable) -> Callable:
        """Register ``method`` so that ``statistics(method.__name__, ...)`` dispatches to it.

        Usable as a decorator. Registering an existing name raises AssertionError.
        """
        name = method.__name__
        if name in cls._statistics_methods:
            raise AssertionError(
                f"method_name {name!r} has already been registered in HistoryBuffer; "
                "choose another function name."
            )
        cls._statistics_methods[name] = method
        return method

    def statistics(self, method_name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the statistics method registered as ``method_name``."""
        if method_name not in self._statistics_methods:
            raise KeyError(
                f"{method_name} has not been registered in HistoryBuffer._statistics_methods; "
                f"registered: {sorted(self._statistics_methods)}. Register it with "
                "HistoryBuffer.register_statistics."
            )
        return self._statistics_methods[method_name](self, *args, **kwargs)

    # ------------------------------------------------------------------ updates and reads
    def update(self, log_val: Any, count: int | float = 1) -> None:
        """Append a value (a number, a numpy scalar or a one-element tensor).

        Tensors are queued without any host-device synchronisation.
        """
        if not isinstance(count, (int, float)) or isinstance(count, bool):
            raise TypeError(f"count must be an int or float, but got {type(count)}: {count!r}")
        if _is_tensor(log_val):
            if log_val.numel() != 1:
                raise TypeError(
                    f"HistoryBuffer.update expects a one-element tensor, got shape "
                    f"{tuple(log_val.shape)}."
                )
            self._pending.append(log_val.detach().clone())
            self._pending_counts.append(count)
            if len(self._pending) > _MAX_PENDING:
                self._flush()
            return
        if isinstance(log_val, np.generic) or (
            isinstance(log_val, np.ndarray) and log_val.size == 1
        ):
            log_val = log_val.item()
        if not isinstance(log_val, (int, float)):
            raise TypeError(
                f"log_val must be an int, float or one-element tensor, but got "
                f"{type(log_val)}: {log_val!r}"
            )
        if self._pending:
            self._pending.append(log_val)
            self._pending_counts.append(count)
            return
        self._append([log_val], [count])

    def _append(self, values: list, counts: list) -> None:
        self._values = np.append(self._values, values)
        self._counts = np.append(self._counts, counts)
        if len(self._values) > self.max_length:
            self._values = self._values[-self.max_length :]
            self._counts = self._counts[-self.max_length :]

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, counts = self._pending, self._pending_counts
        self._pending, self._pending_counts = [], []
        self._append(materialize(pending), counts)

    @property
    def _log_history(self) -> np.ndarray:
        self._flush()
        return self._values

    @property
    def _count_history(self) -> np.ndarray:
        self._flush()
        return self._counts

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as numpy arrays."""
        return self._log_history, self._count_history

    def __len__(self) -> int:
        return len(self._values) + len(self._pending)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        # Plain lists and strings only, so that a checkpoint holding buffers loads with
        # ``torch.load(weights_only=True)`` once ``HistoryBuffer`` is allowlisted (DESIGN.md §4).
        # Custom statistics travel as ``(module, qualname)`` references, as pickle itself would
        # store a function.
        self._flush()
        custom = {
            name: (getattr(method, "__module__", ""), getattr(method, "__qualname__", name))
            for name, method in self._statistics_methods.items()
            if name not in _BUILTIN_STATISTICS
        }
        return {
            "max_length": self.max_length,
            "_log_history": self._values.tolist(),
            "_count_history": self._counts.tolist(),
            "_statistics_methods": custom,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_length = state.get("max_length", 1_000_000)
        self._values = np.asarray(state.get("_log_history", []), dtype=np.float64)
        self._counts = np.asarray(state.get("_count_history", []), dtype=np.float64)
        self._pending, self._pending_counts = [], []
        for name, method in state.get("_statistics_methods", {}).items():
            if name not in self._statistics_methods:
                method = method if callable(method) else _resolve_function(method)
                if method is not None:
                    type(self)._statistics_methods[name] = method

    def __repr__(self) -> str:
        return f"HistoryBuffer(len={len(self)}, max_length={self.max_length})"

    # ------------------------------------------------------------------ built-in statistics
    def mean(self, window_size: int | None = None) -> np.float64:
        """``sum(values[-w:]) / sum(counts[-w:])`` (all values when ``window_size`` is None)."""
        values, counts = self._log_history, self._count_history
        window = _window(window_size, len(values))
        return values[-window:].sum() / counts[-window:].sum()

    def max(self, window_size: int | None = None) -> np.float64:
        """Largest of the last ``window_size`` values."""
        values = self._log_history
        return values[-_window(window_size, len(values)) :].max()

    def min(self, window_size: int | None = None) -> np.float64:
        """Smallest of the last ``window_size`` values."""
        values = self._log_history
        return values[-_window(window_size, len(values)) :].min()

    def current(self) -> np.float64:
        """The latest value (ValueError when the buffer is empty)."""
        values = self._log_history
        if len(values) == 0:
            raise ValueError(
                "HistoryBuffer._log_history is an empty array! Please call update first."
            )
        return values[-1]


def _resolve_function(reference: Any) -> Callable | None:
    """The function ``(module, qualname)`` names, if its module is already imported.

    Nothing is imported: unpickling a checkpoint must not run code (``weights_only``).
    """
    try:
        module_name, qualname = reference
        target: Any = sys.modules[module_name]
        for part in qualname.split("."):
            target = getattr(target, part)
    except (KeyError, AttributeError, TypeError, ValueError):
        return None
    return target if callable(target) else None


def _window(window_size: int | None, length: int) -> int:
    if window_size is None:
        return length
    if not isinstance(window_size, int) or isinstance(window_size, bool):
        raise TypeError(
            f"window_size must be an int or None, but got {type(window_size)}: {window_size!r}"
        )
    return window_size


_BUILTIN_STATISTICS = ("mean", "max", "min", "current")
for _name in _BUILTIN_STATISTICS:
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
del _name
