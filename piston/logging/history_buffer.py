"""HistoryBuffer: the scalar history behind every logged value.

Design note: the per-iteration path must never wait for the device (DESIGN.md §3), so
``update`` accepts tensors on any device and only *queues* them (detached, not copied: a copy
is a kernel launch per logged value per iteration). Each queued tensor's version counter is
recorded; a tensor changed in place after it was logged (a running accumulator, a parameter
view) is caught when the queue is read: piston warns once, naming the scalar, and from then on
copies that scalar's tensors, so every later value is a snapshot. Nothing is converted until
somebody reads the buffer; the first read converts every queued value in one
batched transfer per device (``torch.stack(pending).tolist()``) and appends the result to the
history. Plain numbers bypass the queue only when it is empty, so the order of updates is always
preserved. The history is kept in Python lists (amortised O(1) appends; ``np.append`` per update
would copy the whole history each time), trimmed back to ``max_length`` in batches; every read
sees exactly the last ``max_length`` entries. The built-in statistics turn only their window into
numpy; ``_log_history``/``_count_history`` are properties that flush and return (cached) numpy
arrays, so user statistics registered with ``register_statistics`` (which index them directly,
as in MMEngine) see every value.

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
    torch = sys.modules.get("torch")
    if torch is not None and values and isinstance(values[0], torch.Tensor):
        # Usual case (a buffer of logged losses): tensors of one dtype on one device.
        first = values[0]
        dtype, device = first.dtype, first.device
        if all(
            isinstance(v, torch.Tensor) and v.dtype == dtype and v.device == device for v in values
        ):
            return torch.stack([v if v.dim() == 0 else v.reshape(()) for v in values]).tolist()
    out: list[Any] = list(values)
    by_device: dict[Any, list[int]] = {}
    for idx, value in enumerate(values):
        if _is_tensor(value):
            by_device.setdefault(value.device, []).append(idx)
    if not by_device:
        return out
    import torch

    for device, indices in by_device.items():
        tensors = [values[i] if values[i].dim() == 0 else values[i].reshape(()) for i in indices]
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
        # Materialised history as Python lists (amortised O(1) appends); the numpy arrays that
        # ``_log_history``/``_count_history`` return are built on demand and cached.
        self._values: list[float] = [float(v) for v in log_history]
        self._counts: list[float] = [float(c) for c in count_history]
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._trim_for, self._trim_limit = -1, 0
        self._pending: list[Any] = []
        self._pending_counts: list[int | float] = []
        self._pending_versions: list[int | None] = []
        self._snapshot = False  # copy queued tensors (set once one was changed in place)

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
            if not isinstance(count, (np.integer, np.floating)):
                raise TypeError(f"count must be an int or float, but got {type(count)}: {count!r}")
            count = count.item()  # a numpy count (e.g. from ``len`` of an array)
        if _is_tensor(log_val):
            if log_val.numel() != 1:
                raise TypeError(
                    f"HistoryBuffer.update expects a one-element tensor, got shape "
                    f"{tuple(log_val.shape)}."
                )
            self._push_tensor(log_val, count)
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
        self._push_number(log_val, count)

    # Unchecked appends for callers that validated already (``MessageHub.update_scalar``).
    def _push_tensor(self, log_val: Any, count: int | float) -> None:
        pending = self._pending
        if log_val.requires_grad:
            log_val = log_val.detach()
        elif self._snapshot:
            log_val = log_val.clone()
        try:
            version = log_val._version
        except RuntimeError:  # an inference-mode tensor has no version counter
            version = None
        pending.append(log_val)
        self._pending_counts.append(count)
        self._pending_versions.append(version)
        if len(pending) > _MAX_PENDING:
            self._flush()

    def _push_number(self, log_val: int | float, count: int | float) -> None:
        if self._pending:  # keep the order of updates
            self._pending.append(log_val)
            self._pending_counts.append(count)
            self._pending_versions.append(None)
            return
        values = self._values
        values.append(float(log_val))
        self._counts.append(float(count))
        self._arrays = None
        # ``_trim_limit`` is the cached ``_trim_at`` (a property call per update otherwise);
        # past it, ``_trim_at`` is re-read, so a changed ``max_length`` is still honoured.
        if len(values) > self._trim_limit and len(values) > self._trim_at:
            self._trim()

    @property
    def _trim_at(self) -> int:
        """Length past which the lists are trimmed back to ``max_length`` (see ``_slack``)."""
        max_length = self.max_length
        if self._trim_for != max_length:  # computed once per max_length
            self._trim_for, self._trim_limit = max_length, max_length + _slack(max_length)
        return self._trim_limit

    def _trim(self) -> None:
        """Drop the entries beyond ``max_length`` (done in batches, see ``_slack``)."""
        excess = len(self._values) - self.max_length
        if excess > 0:
            del self._values[:excess]
            del self._counts[:excess]

    def _append(self, values: list, counts: list) -> None:
        self._values.extend(float(v) for v in values)
        self._counts.extend(float(c) for c in counts)
        self._arrays = None
        if len(self._values) > self._trim_at:
            self._trim()

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, counts, versions = self._pending, self._pending_counts, self._pending_versions
        self._pending, self._pending_counts, self._pending_versions = [], [], []
        if not self._snapshot:
            for value, version in zip(pending, versions):
                if version is not None and value._version != version:
                    self._snapshot = True
                    warnings.warn(
                        "A tensor logged to a HistoryBuffer (MessageHub scalar) was changed in "
                        "place after it was logged, so the values logged since the last read "
                        "show its current value. From now on this scalar's tensors are copied; "
                        "to keep the earlier values too, log a copy (`value.clone()`) or a new "
                        "tensor each time.",
                        stacklevel=3,
                    )
                    break
        self._append(materialize(pending), counts)

    def _tail(self, window: int | None) -> tuple[list[float], list[float]] | None:
        """Last ``window`` kept values and counts as lists, when ``0 < window <= len``."""
        self._flush()
        kept = min(len(self._values), self.max_length)
        if type(window) is not int or not 0 < window <= kept:
            return None
        start = len(self._values) - window
        return self._values[start:], self._counts[start:]

    def _history_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        self._flush()
        if self._arrays is None:
            start = max(len(self._values) - self.max_length, 0)
            self._arrays = (
                np.array(self._values[start:], dtype=np.float64),
                np.array(self._counts[start:], dtype=np.float64),
            )
        return self._arrays

    @property
    def _log_history(self) -> np.ndarray:
        return self._history_arrays()[0]

    @property
    def _count_history(self) -> np.ndarray:
        return self._history_arrays()[1]

    @property
    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as numpy arrays."""
        return self._log_history, self._count_history

    def __len__(self) -> int:
        return min(len(self._values), self.max_length) + len(self._pending)

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict[str, Any]:
        # Plain lists and strings only, so that a checkpoint holding buffers loads with
        # ``torch.load(weights_only=True)`` once ``HistoryBuffer`` is allowlisted (DESIGN.md §4).
        # Custom statistics travel as ``(module, qualname)`` references, as pickle itself would
        # store a function.
        self._flush()
        start = max(len(self._values) - self.max_length, 0)
        custom = {
            name: (getattr(method, "__module__", ""), getattr(method, "__qualname__", name))
            for name, method in self._statistics_methods.items()
            if name not in _BUILTIN_STATISTICS
        }
        return {
            "max_length": self.max_length,
            "_log_history": self._values[start:],
            "_count_history": self._counts[start:],
            "_statistics_methods": custom,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.max_length = state.get("max_length", 1_000_000)
        self._values = [float(v) for v in state.get("_log_history", [])]
        self._counts = [float(c) for c in state.get("_count_history", [])]
        self._arrays = None
        self._trim_for, self._trim_limit = -1, 0
        self._pending, self._pending_counts, self._pending_versions = [], [], []
        self._snapshot = False
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
        tail = self._tail(window_size)
        if tail is not None:  # the usual logging window
            # One (2, w) array, rows reduced like two 1-D sums (bit-identical, half the calls).
            sums = np.array(tail).sum(axis=1)
            return sums[0] / sums[1]
        values, counts = self._log_history, self._count_history
        window = _window(window_size, len(values))
        return values[-window:].sum() / counts[-window:].sum()

    def max(self, window_size: int | None = None) -> np.float64:
        """Largest of the last ``window_size`` values."""
        tail = self._tail(window_size)
        if tail is not None:
            return np.array(tail[0]).max()
        values = self._log_history
        return values[-_window(window_size, len(values)) :].max()

    def min(self, window_size: int | None = None) -> np.float64:
        """Smallest of the last ``window_size`` values."""
        tail = self._tail(window_size)
        if tail is not None:
            return np.array(tail[0]).min()
        values = self._log_history
        return values[-_window(window_size, len(values)) :].min()

    def current(self) -> np.float64:
        """The latest value (ValueError when the buffer is empty)."""
        self._flush()
        if not self._values:
            raise ValueError(
                "HistoryBuffer._log_history is an empty array! Please call update first."
            )
        return np.float64(self._values[-1])


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
    # numpy integers slice like ints (a window computed with numpy must work as in MMEngine).
    if not isinstance(window_size, (int, np.integer)) or isinstance(window_size, bool):
        raise TypeError(
            f"window_size must be an int or None, but got {type(window_size)}: {window_size!r}"
        )
    return int(window_size)


def _slack(max_length: int) -> int:
    """Entries allowed beyond ``max_length`` before trimming, so trimming is amortised O(1)."""
    return min(max(max_length >> 3, 16), 65536)


_BUILTIN_STATISTICS = ("mean", "max", "min", "current")
for _name in _BUILTIN_STATISTICS:
    HistoryBuffer._statistics_methods[_name] = getattr(HistoryBuffer, _name)
del _name
