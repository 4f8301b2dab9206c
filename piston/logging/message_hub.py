"""MessageHub: the run's shared store of logged scalars and runtime information.

Design note: ``update_scalar`` is on the per-iteration path, so a tensor value is handed to its
``HistoryBuffer`` untouched (queued, converted on the first read; see ``history_buffer``). Only
its element count is checked, which needs no device synchronisation. ``state_dict`` returns deep
copies of the buffers, as the spec says; a ``HistoryBuffer`` pickles as plain lists, so
checkpoints load with ``torch.load(weights_only=True)`` once it is allowlisted (DESIGN.md §4).
``load_state_dict`` also accepts the plain per-scalar dicts older piston checkpoints stored.
"""

from __future__ import annotations

import copy
import logging
from collections import OrderedDict
from typing import Any

import numpy as np

from piston.logging.history_buffer import HistoryBuffer, _is_tensor
from piston.utils.manager import ManagerMixin

__all__ = ["MessageHub"]


def _warn(msg: str) -> None:
    from piston.logging.logger import print_log

    print_log(msg, logger="current", level=logging.WARNING)


def _buffer_from_plain(state: dict[str, Any]) -> HistoryBuffer:
    return HistoryBuffer(
        state["log_history"], state["count_history"], state.get("max_length", 1_000_000)
    )


def _plain_copy(value: Any) -> Any:
    """Deep copy with numpy scalars turned into Python numbers (weights_only-loadable)."""
    if isinstance(value, np.generic):
        return value.item()
    if type(value) in (dict, OrderedDict):
        return type(value)((k, _plain_copy(v)) for k, v in value.items())
    if type(value) in (list, tuple):
        return type(value)(_plain_copy(v) for v in value)
    return copy.deepcopy(value)


def _is_plain_buffer(value: Any) -> bool:
    return isinstance(value, dict) and {"log_history", "count_history"} <= value.keys()


class MessageHub(ManagerMixin):
    """Store scalars (as ``HistoryBuffer``) and runtime information shared across components.

    Args:
        name: Instance name (see ``ManagerMixin``).
        log_scalars: Initial scalars, key -> ``HistoryBuffer``.
        runtime_info: Initial runtime information.
        resumed_keys: Initial ``resumed`` flags; keys without a flag are resumed.

    Example:
        >>> hub = MessageHub.get_instance('demo')
        >>> hub.update_scalar('train/loss', 0.5)
        >>> float(hub.get_scalar('train/loss').current())
        0.5
    """

    def __init__(
        self,
        name: str,
        log_scalars: dict | None = None,
        runtime_info: dict | None = None,
        resumed_keys: dict | None = None,
    ) -> None:
        super().__init__(name)
        self._log_scalars: OrderedDict[str, HistoryBuffer] = self._parse_input(
            "log_scalars", log_scalars
        )
        for key, value in self._log_scalars.items():
            if not isinstance(value, HistoryBuffer):
                raise TypeError(
                    f"log_scalars values must be HistoryBuffer, but {key!r} is {type(value)}."
                )
        self._runtime_info: OrderedDict[str, Any] = self._parse_input("runtime_info", runtime_info)
        self._resumed_keys: OrderedDict[str, bool] = self._parse_input("resumed_keys", resumed_keys)
        for key in [*self._log_scalars, *self._runtime_info]:
            self._resumed_keys.setdefault(key, True)

    @staticmethod
    def _parse_input(name: str, value: Any) -> OrderedDict:
        if value is None:
            return OrderedDict()
        if not isinstance(value, dict):
            raise TypeError(f"{name} should be a dict or None, but got {type(value)}.")
        return OrderedDict(value)

    @classmethod
    def get_current_instance(cls) -> MessageHub:
        """The most recently created MessageHub; an instance ``'piston'`` is created if none."""
        try:
            return super().get_current_instance()
        except RuntimeError:
            return cls.get_instance("piston")

    # ------------------------------------------------------------------ scalars
    def update_scalar(self, key: str, value: Any, count: int = 1, resumed: bool = True) -> None:
        """Append ``value`` to the scalar ``key`` (creating it).

        Args:
            key: Scalar name, e.g. ``'train/loss'``.
            value: A number, or a numpy array/number or tensor with exactly one element.
                Tensors are stored without conversion (no device synchronisation).
            count: Weight of the value in ``mean``.
            resumed: Whether the key is saved in checkpoints.
        """
        buffer = self._log_scalars.get(key)
        # Per-iteration fast path: a known key with the same flag, an int count and a Python
        # float or a one-element tensor (validated here once, then appended unchecked).
        if buffer is not None and type(count) is int and self._resumed_keys.get(key) == resumed:
            if type(value) is float:
                buffer._push_number(value, count)
                return
            if _is_tensor(value) and value.numel() == 1:
                buffer._push_tensor(value, count)
                return
        value = self._valid_value(key, value)  # a rejected value leaves no trace
        self._set_resumed_key(key, resumed)
        if not isinstance(count, int) or isinstance(count, bool):
            raise AssertionError(f"count of {key!r} must be an int, but got {type(count)}.")
        if buffer is None:
            buffer = self._log_scalars[key] = HistoryBuffer()
        buffer.update(value, count)

    def update_scalars(self, log_dict: dict, resumed: bool = True) -> None:
        """Update several scalars; values are numbers or ``dict(value=..., count=...)``."""
        if not isinstance(log_dict, dict):
            raise AssertionError(f"log_dict must be a dict, but got {type(log_dict)}.")
        for key, item in log_dict.items():
            if isinstance(item, dict):
                if "value" not in item:
                    raise AssertionError(
                        f"log_dict[{key!r}] is a dict, so it needs a 'value' key; got {item}."
                    )
                self.update_scalar(key, item["value"], item.get("count", 1), resumed)
            else:
                self.update_scalar(key, item, resumed=resumed)

    @staticmethod
    def _valid_value(key: str, value: Any) -> Any:
        if _is_tensor(value):
            if value.numel() != 1:
                raise AssertionError(
                    f"The scalar {key!r} must have exactly one element, but got a tensor of "
                    f"shape {tuple(value.shape)}. Log a reduced value (e.g. .mean())."
                )
            return value
        if isinstance(value, (np.ndarray, np.generic)):
            if value.size != 1:
                raise AssertionError(
                    f"The scalar {key!r} must have exactly one element, but got an array of "
                    f"shape {value.shape}."
                )
            return value.item()
        if not isinstance(value, (int, float)):  # the spec promises AssertionError
            raise AssertionError(
                f"The scalar {key!r} must be a number or a one-element tensor/array, but got "
                f"{type(value)}: {value!r}."
            )
        return value

    def get_scalar(self, key: str) -> HistoryBuffer:
        """The ``HistoryBuffer`` of ``key`` (KeyError when it was never updated)."""
        if key not in self._log_scalars:
            raise KeyError(
                f"{key!r} is not found in the MessageHub's log scalars; "
                f"available: {list(self._log_scalars)}."
            )
        return self._log_scalars[key]

    @property
    def log_scalars(self) -> OrderedDict[str, HistoryBuffer]:
        """The live dict of scalars."""
        return self._log_scalars

    # ------------------------------------------------------------------ runtime info
    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        """Set runtime information ``key``."""
        if self._resumed_keys.get(key) != resumed:  # new key or changed flag (error)
            self._set_resumed_key(key, resumed)
        self._runtime_info[key] = value

    def update_info_dict(self, info_dict: dict, resumed: bool = True) -> None:
        """Set several runtime-information entries."""
        if not isinstance(info_dict, dict):
            raise AssertionError(f"info_dict must be a dict, but got {type(info_dict)}.")
        for key, value in info_dict.items():
            self.update_info(key, value, resumed=resumed)

    def pop_info(self, key: str, default: Any = None) -> Any:
        """Remove runtime information ``key`` and return it (``default`` if absent)."""
        return self._runtime_info.pop(key, default)

    def get_info(self, key: str, default: Any = None) -> Any:
        """Runtime information ``key``, or ``default``."""
        return self._runtime_info.get(key, default)

    @property
    def runtime_info(self) -> OrderedDict[str, Any]:
        """The live dict of runtime information."""
        return self._runtime_info

    def _set_resumed_key(self, key: str, resumed: bool) -> None:
        known = self._resumed_keys.get(key)
        if known is None:
            self._resumed_keys[key] = resumed
        elif known != resumed:
            raise AssertionError(
                f"{key!r} was updated with resumed={known} before; it cannot be updated with "
                f"resumed={resumed}. Use the same flag for every update of a key."
            )

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """The resumable keys: ``{'log_scalars', 'runtime_info', 'resumed_keys'}``.

        Scalars are deep copies of their ``HistoryBuffer`` (which pickle as plain lists, so a
        checkpoint loads with ``torch.load(weights_only=True)`` once ``HistoryBuffer`` is
        allowlisted); runtime info is deep-copied with numpy scalars turned into Python numbers.
        """
        scalars: OrderedDict[str, Any] = OrderedDict()
        for key, buffer in self._log_scalars.items():
            if self._resumed_keys.get(key, False):
                scalars[key] = copy.deepcopy(buffer)
        info: OrderedDict[str, Any] = OrderedDict()
        for key, value in self._runtime_info.items():
            if not self._resumed_keys.get(key, False):
                continue
            try:
                info[key] = _plain_copy(value)
            except Exception:
                _warn(f"{key!r} in MessageHub cannot be deep-copied; it is saved by reference.")
                info[key] = value
        return {
            "log_scalars": scalars,
            "runtime_info": info,
            "resumed_keys": OrderedDict(self._resumed_keys),
        }

    def load_state_dict(self, state_dict: dict | MessageHub) -> None:
        """Restore from ``state_dict()`` output (also the plain form of older piston checkpoints,
        ``{'log_history': [...], 'count_history': [...]}`` per scalar) or a MessageHub."""
        if isinstance(state_dict, MessageHub):
            self._log_scalars = copy.deepcopy(state_dict._log_scalars)
            self._runtime_info = copy.deepcopy(state_dict._runtime_info)
            self._resumed_keys = copy.deepcopy(state_dict._resumed_keys)
            return
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict or MessageHub, but got {type(state_dict)}.")
        missing = {"log_scalars", "runtime_info", "resumed_keys"} - state_dict.keys()
        if missing:
            raise AssertionError(
                f"The loaded MessageHub state_dict lacks the keys {sorted(missing)}; it needs "
                "'log_scalars', 'runtime_info' and 'resumed_keys'."
            )
        for key, value in state_dict["log_scalars"].items():
            if isinstance(value, HistoryBuffer):
                self._log_scalars[key] = copy.deepcopy(value)
            elif _is_plain_buffer(value):
                self._log_scalars[key] = _buffer_from_plain(value)
            else:
                _warn(f"{key!r} in the loaded message hub is not a HistoryBuffer; skipped.")
        for key, value in state_dict["runtime_info"].items():
            try:
                self._runtime_info[key] = copy.deepcopy(value)
            except Exception:
                _warn(f"{key!r} in the loaded message hub cannot be deep-copied; kept as is.")
                self._runtime_info[key] = value
        for key, flag in state_dict["resumed_keys"].items():
            if key not in self._log_scalars and key not in self._runtime_info:
                if flag:  # keys flagged False are not saved: their absence is expected
                    _warn(f"resumed key {key!r} is neither a scalar nor runtime info; skipped.")
                continue
            self._resumed_keys[key] = bool(flag)
