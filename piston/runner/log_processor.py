"""LogProcessor: turns the message hub's scalars into the log lines and the records for
visualization backends.

Design note: the line formats are a compatibility contract (``logging.md`` §4; tools grep and
compare them byte for byte), so each piece is built by one small function in the order the
spec lists. The processor only runs when ``LoggerHook`` decides to log (every ``interval``
iterations), which is also when the lazily stored tensors of the message hub are converted to
numbers, in one batched transfer per buffer.

Beyond the spec (issue 6, "throughput reporting"), the train line ends with two more items over
the log window, formatted like every other item (``.Df`` floats):
``throughput: <samples per second>  data_wait: <share of iteration time spent waiting for data,
0..1>``. ``log_throughput=False`` turns them off for byte-identical MMEngine lines. When the data
wait exceeds a third of the iteration time, a one-time warning says so, whatever the option.
"""

from __future__ import annotations

import copy
import datetime
import re
from collections import OrderedDict
from typing import Any

import numpy as np
import torch

from piston.registry import LOG_PROCESSORS

__all__ = ["LogProcessor"]

_MODES = ("train", "val", "test")
_TIME_KEYS = ("time", "data_time")
# Data waiting above this share of the iteration time triggers the one-time hint, provided the
# wait is long enough to matter (tiny CPU runs wait microseconds and would only get noise).
_DATA_WAIT_HINT_SHARE = 1 / 3
_DATA_WAIT_HINT_MIN_S = 0.002


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Format the logs of train/val/test iterations and of val/test epochs.

    Args:
        window_size: Number of recent values averaged for keys matching ``mean_pattern``.
        by_epoch: Whether the header counts epochs (``Epoch(train) [1][ 10/100]``) or
            iterations (``Iter(train) [ 10/1000]``).
        custom_cfg: Extra or overriding statistics, e.g.
            ``[dict(data_src='loss', method_name='mean', window_size='global', log_name='loss_avg')]``.
            ``window_size`` may be an int, ``'epoch'`` (since the start of the epoch) or
            ``'global'`` (since the start of training).
        num_digits: Digits after the decimal point of logged floats.
        log_with_hierarchy: Keep the ``train/``/``val/``/``test/`` prefix in the returned tags.
        mean_pattern: Keys matching this regex are averaged over ``window_size``; the others
            show their latest value.
        log_throughput: Append ``throughput: <samples/s>  data_wait: <fraction>`` to train
            lines (piston addition; ``False`` gives MMEngine's lines exactly).

    Example:
        >>> log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
    """

    def __init__(
        self,
        window_size: int = 10,
        by_epoch: bool = True,
        custom_cfg: list[dict] | None = None,
        num_digits: int = 4,
        log_with_hierarchy: bool = False,
        mean_pattern: str = r".*(loss|time|data_time|grad_norm).*",
        log_throughput: bool = True,
    ) -> None:
        if not isinstance(window_size, int) or isinstance(window_size, bool) or window_size < 1:
            raise ValueError(f"window_size must be a positive int, but got {window_size!r}.")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.custom_cfg = copy.deepcopy(custom_cfg) if custom_cfg else []
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self.log_throughput = log_throughput
        self._data_wait_hinted = False
        self._check_custom_cfg()

    # ------------------------------------------------------------------ validation
    def _check_custom_cfg(self) -> None:
        if not isinstance(self.custom_cfg, list):
            raise TypeError(f"custom_cfg must be a list of dicts, but got {self.custom_cfg!r}.")
        names: set[str] = set()
        for cfg in self.custom_cfg:
            if not isinstance(cfg, dict) or "data_src" not in cfg:
                raise AssertionError(
                    f"Each custom_cfg entry must be a dict with a 'data_src' key, got {cfg!r}."
                )
            if "method_name" not in cfg:
                raise AssertionError(
                    f"custom_cfg entry {cfg!r} has no 'method_name'; use one of the "
                    "HistoryBuffer statistics, e.g. 'mean', 'max', 'min' or 'current'."
                )
            name = cfg.get("log_name", cfg["data_src"])
            if name in names:
                raise AssertionError(
                    f"Two custom_cfg entries produce the log name {name!r}; give each entry "
                    "that reads the same data_src a distinct `log_name`."
                )
            names.add(name)
            if "window_size" not in cfg:
                continue
            if cfg.get("method_name") == "current":
                raise AssertionError(
                    f"custom_cfg entry {cfg!r}: method_name='current' takes no window_size; "
                    "remove it."
                )
            window = cfg["window_size"]
            if isinstance(window, str):
                if window not in ("epoch", "global"):
                    raise TypeError(
                        f"custom_cfg window_size must be an int, 'epoch' or 'global', but got "
                        f"{window!r} in {cfg!r}."
                    )
                if window == "epoch" and not self.by_epoch:
                    raise AssertionError(
                        f"window_size='epoch' needs by_epoch=True in LogProcessor ({cfg!r}); "
                        "use 'global' or an int window with iteration-based logging."
                    )
            elif not isinstance(window, int) or isinstance(window, bool):
                raise TypeError(
                    f"custom_cfg window_size must be an int, 'epoch' or 'global', but got "
                    f"{type(window).__name__} {window!r} in {cfg!r}."
                )

    # ------------------------------------------------------------------ public API
    def get_log_after_iter(self, runner, batch_idx: int, mode: str) -> tuple[dict, str]:
        """Tag (for vis backends) and log line after a train/val/test iteration.

        Args:
            runner: The runner.
            batch_idx: Index of the iteration in the current epoch (for ``IterBasedTrainLoop``
                the global iteration).
            mode: ``'train'``, ``'val'`` or ``'test'``.
        """
        if mode not in _MODES:
            raise AssertionError(f"mode must be one of {_MODES}, but got {mode!r}.")
        custom = self._parse_windows_size(runner, batch_idx, self.custom_cfg)
        items = self._collect_scalars(custom, runner, mode)
        tag = self._with_hierarchy(items, mode)  # a new dict: ``items`` is consumed below
        line_items = items
        has_train_loop = _train_loop_built(runner)

        log_str = self._iter_header(runner, batch_idx, mode, has_train_loop)
        if self.by_epoch and mode in ("train", "val"):
            tag["epoch"] = self._get_epoch(runner, mode)
        tag["iter"] = runner.iter + 1 if has_train_loop else 0

        lr_keys = [key for key in line_items if key.endswith("lr")]
        digits = self.num_digits
        log_str += " ".join(f"{key}: {line_items.pop(key):.{digits}e}" for key in lr_keys) + "  "

        eta = runner.message_hub.get_info("eta")
        if all(key in line_items for key in _TIME_KEYS) and eta is not None:
            eta_str = str(datetime.timedelta(seconds=int(eta)))
            log_str += (
                f"eta: {eta_str}  time: {line_items.pop('time'):.{digits}f}  "
                f"data_time: {line_items.pop('data_time'):.{digits}f}  "
            )
        cuda = self.__dict__.get("_cuda_available")
        if cuda is None:  # asked once: the check costs ~10 us on every log otherwise
            cuda = self._cuda_available = torch.cuda.is_available()
        if cuda:
            memory = self._get_max_memory(runner)
            log_str += f"memory: {memory}  "
            tag["memory"] = memory

        if mode in ("train", "val"):
            shown = [
                f"{name}: {self._format(value)}"
                for name, value in line_items.items()
                if mode == "train" or name.startswith("val/loss")
            ]
            log_str += "  ".join(shown)
        if mode == "train":
            log_str = self._throughput(runner, log_str)
        return tag, log_str

    def get_log_after_epoch(
        self, runner, batch_idx: int, mode: str, with_non_scalar: bool = False
    ) -> tuple[dict, str]:
        """Tag and log line after a val/test epoch.

        Args:
            runner: The runner.
            batch_idx: Length of the evaluated dataloader (``LoggerHook`` passes it).
            mode: ``'val'`` or ``'test'``.
            with_non_scalar: Include non-scalar metrics (e.g. arrays) in the returned tag.
        """
        if mode not in ("val", "test"):
            raise AssertionError(
                f"get_log_after_epoch only supports 'val' and 'test' mode, but got {mode!r}."
            )
        length = self._get_dataloader_size(runner, mode)
        if not self.by_epoch:
            log_str = f"Iter({mode}) [{length}/{length}]  "
        elif mode == "val":
            epoch = self._get_epoch(runner, mode)
            log_str = f"Epoch(val) [{epoch}][{length}/{length}]  "
        else:
            log_str = f"Epoch(test) [{length}/{length}]  "

        custom = list(self.custom_cfg)
        customized = {_strip_mode(cfg["data_src"], mode) for cfg in custom}
        # time and data_time default to the mean over this evaluation.
        custom += [
            {"data_src": key, "method_name": "mean", "window_size": batch_idx}
            for key in _TIME_KEYS
            if key not in customized
        ]
        custom = self._parse_windows_size(runner, batch_idx, custom)
        scalars = self._with_hierarchy(self._collect_scalars(custom, runner, mode), mode)
        time_names = {self._name(key, mode) for key in _TIME_KEYS}
        tag = OrderedDict((k, v) for k, v in scalars.items() if k not in time_names)
        time_tag = OrderedDict((k, v) for k, v in scalars.items() if k in time_names)
        non_scalars = self._collect_non_scalars(runner, mode)

        log_items = []
        for name, value in [*tag.items(), *non_scalars.items(), *time_tag.items()]:
            if isinstance(value, (torch.Tensor, np.ndarray)):
                log_items.append(f"{name}: \n{value}\n")
            else:
                log_items.append(f"{name}: {self._format(value)}")
        log_str += "  " + "  ".join(log_items)

        if with_non_scalar:
            tag.update(non_scalars)
        tag.update(time_tag)
        return tag, log_str

    # ------------------------------------------------------------------ header pieces
    def _iter_header(self, runner, batch_idx: int, mode: str, has_train_loop: bool) -> str:
        if self.by_epoch or mode != "train":
            length = self._get_dataloader_size(runner, mode)
            cur = str(batch_idx + 1).rjust(len(str(length)))
            if not self.by_epoch:
                return f"Iter({mode}) [{cur}/{length}]  "
            if mode == "test":
                return f"Epoch(test) [{cur}/{length}]  "
            epoch = f"[{self._get_epoch(runner, mode)}]"
            if has_train_loop:
                # "[", "]" and one space around the widest epoch number.
                epoch = epoch.rjust(len(str(runner.max_epochs)) + 3)
            return f"Epoch({mode}){epoch}[{cur}/{length}]  "
        max_iters = runner.max_iters
        cur = str(self._get_iter(runner, batch_idx)).rjust(len(str(max_iters)))
        return f"Iter(train) [{cur}/{max_iters}]  "

    # The helpers below keep MMEngine's names and signatures: subclasses and tests written
    # for MMEngine override or mock them.
    def _get_epoch(self, runner, mode: str) -> int:
        """Epoch shown in train/val headers: ``epoch + 1`` in training, the finished epoch in
        validation (0 without a built train loop)."""
        if mode == "train":
            return runner.epoch + 1
        if mode == "val":
            return runner.epoch if _train_loop_built(runner) else 0
        raise ValueError(f"runner mode should be 'train' or 'val', but got {mode!r}.")

    def _get_iter(self, runner, batch_idx: int | None = None) -> int:
        """Iteration shown in headers: ``batch_idx + 1`` by epoch, else ``runner.iter + 1``."""
        if self.by_epoch and batch_idx is not None:
            return batch_idx + 1
        return runner.iter + 1

    def _get_cur_loop(self, runner, mode: str):
        """The runner's loop of ``mode``."""
        if mode == "train":
            return runner.train_loop
        if mode == "val":
            return runner.val_loop
        return runner.test_loop

    def _get_dataloader_size(self, runner, mode: str) -> int:
        """Length of the ``mode`` dataloader (``runner.<mode>_dataloader``)."""
        return _dataloader_len(runner, mode)

    # ------------------------------------------------------------------ scalar collection
    def _parse_windows_size(
        self, runner, batch_idx: int, custom_cfg: list[dict] | None = None
    ) -> list[dict]:
        """Copies of ``custom_cfg`` (default: ``self.custom_cfg``) with ``'epoch'``/``'global'``
        window sizes resolved to ints."""
        parsed = []
        for cfg in self.custom_cfg if custom_cfg is None else custom_cfg:
            cfg = dict(cfg)
            window = cfg.get("window_size")
            if window == "epoch":
                cfg["window_size"] = batch_idx + 1
            elif window == "global":
                cfg["window_size"] = runner.iter + 1
            elif window is not None and not isinstance(window, int):
                raise TypeError(
                    f"window_size should be an int, 'epoch' or 'global', but got {window!r}."
                )
            parsed.append(cfg)
        return parsed

    def _collect_scalars(
        self, custom_cfg: list[dict], runner, mode: str, reserve_prefix: bool = False
    ) -> OrderedDict:
        """Statistics of the mode's scalars, keyed by name without the ``<mode>/`` prefix
        (with it when ``reserve_prefix``)."""
        log_scalars = runner.message_hub.log_scalars
        names, plan = self._scalar_plan(log_scalars, mode)
        window = self.window_size
        items: dict[str, Any] = {}
        for name, key, mean in plan:
            buffer = log_scalars[key]
            items[name] = buffer.mean(window) if mean else buffer.current()
        for cfg in custom_cfg:
            cfg = dict(cfg)
            src = _strip_mode(cfg.pop("data_src"), mode)
            name = cfg.pop("log_name", src)
            key = names.get(src)
            if key is not None:
                items[name] = log_scalars[key].statistics(**cfg)
        prefix = f"{mode}/" if reserve_prefix else ""
        out: OrderedDict[str, Any] = OrderedDict()
        for name, value in items.items():
            # The statistics are numpy float64 (a float subclass) in the usual case.
            out[prefix + name] = float(value) if type(value) is np.float64 else _to_python(value)
        return out

    def _scalar_plan(self, log_scalars: dict, mode: str) -> tuple[dict, list]:
        """``({name: key}, [(name, key, averaged), ...])`` for the mode's scalars, computed
        once per key set, mode and ``mean_pattern`` (this runs on every log)."""
        keys = tuple(log_scalars)
        pattern = self.mean_pattern
        cache = self.__dict__.get("_plans")
        if cache is None or cache[0] is not pattern:
            cache = self._plans = (pattern, {})
        plans = cache[1]
        cached = plans.get(mode)
        if cached is not None and cached[0] == keys:
            return cached[1], cached[2]
        # Later keys stripping to the same name win, as in a dict built in key order.
        names = {_strip_mode(key, mode): key for key in keys if key.startswith(mode)}
        plan = [(name, key, pattern.search(name) is not None) for name, key in names.items()]
        plans[mode] = (keys, names, plan)
        return names, plan

    def _collect_non_scalars(self, runner, mode: str) -> OrderedDict:
        return OrderedDict(
            (self._name(_strip_mode(key, mode), mode), value)
            for key, value in runner.message_hub.runtime_info.items()
            if key.startswith(mode)
        )

    def _name(self, name: str, mode: str) -> str:
        return f"{mode}/{name}" if self.log_with_hierarchy else name

    def _with_hierarchy(self, items: OrderedDict, mode: str) -> OrderedDict:
        if not self.log_with_hierarchy:
            return OrderedDict(items)
        prefix = f"{mode}/"
        return OrderedDict((prefix + name, value) for name, value in items.items())

    def _format(self, value: Any) -> str:
        return f"{value:.{self.num_digits}f}" if isinstance(value, float) else str(value)

    # ------------------------------------------------------------------ device memory
    def _get_max_memory(self, runner) -> int:
        """Peak CUDA memory in MB since the last reading (the peak counter is then reset)."""
        device = getattr(runner.model, "output_device", None)
        memory = torch.cuda.max_memory_allocated(device=device) // 2**20
        torch.cuda.reset_peak_memory_stats(device)
        return int(memory)

    # ------------------------------------------------------------------ throughput
    def _throughput(self, runner, log_str: str) -> str:
        meter = runner.message_hub.get_info("throughput_meter")
        window = meter.window() if meter is not None else None
        if not window:
            return log_str
        samples, iter_time, data_time, iters = window
        share = data_time / iter_time
        waits = share > _DATA_WAIT_HINT_SHARE and data_time / iters >= _DATA_WAIT_HINT_MIN_S
        if waits and not self._data_wait_hinted:
            self._data_wait_hinted = True
            runner.logger.warning(
                f"Waiting for data took {share:.0%} of the iteration time over the last "
                f"{iters} iterations, so the model is starved of data. Consider more "
                "DataLoader workers (num_workers), persistent_workers=True, pin_memory=True "
                "or cheaper transforms."
            )
        if not self.log_throughput:
            return log_str
        if not log_str.endswith("  "):
            log_str += "  "
        digits = self.num_digits
        extra = f"data_wait: {share:.{digits}f}"
        if samples:
            extra = f"throughput: {samples / iter_time:.{digits}f}  " + extra
        return log_str + extra


def _train_loop_built(runner) -> bool:
    loop = getattr(runner, "_train_loop", None)
    return loop is not None and not isinstance(loop, dict)


def _dataloader_len(runner, mode: str) -> int:
    return len(getattr(runner, f"{mode}_dataloader"))


def _strip_mode(key: str, mode: str) -> str:
    prefix = f"{mode}/"
    return key[len(prefix) :] if key.startswith(prefix) else key


def _to_python(value: Any) -> Any:
    """numpy / one-element tensor statistics -> Python numbers (JSON-friendly)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.item()
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value
