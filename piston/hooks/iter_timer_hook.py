"""IterTimerHook: iteration time, data-loading time and the ETA.

Design note: the timer reads ``time.perf_counter()`` only. It never synchronises with the
device, so with asynchronous CUDA execution ``time`` measures how fast the host issues work,
which converges to the true iteration time once the device queue is full; this is the price of
letting data loading overlap the GPU (DESIGN.md §3). Running totals are kept as Python floats
here, so the ETA never reads the message hub's buffers.

For the throughput report, the hook also feeds a :class:`ThroughputMeter` (published as runtime
info ``throughput_meter``) with the number of samples, the iteration time and the time the
train loop spent in ``next(data iterator)`` (``loop.fetch_time``; the ``data_time`` when a
custom loop does not record it) for each training iteration; ``LogProcessor`` reads it once
per log line. ``data_time`` itself would be the wrong measure of waiting for data: it also
holds the hooks that run between this hook's after-iter and its next before-iter. The meter is
not saved in checkpoints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["IterTimerHook", "ThroughputMeter"]


class ThroughputMeter:
    """Running totals of training samples, iteration time and data time.

    ``window()`` returns what was added since its previous call, so each log line reports the
    iterations it covers; asked again before anything new was added, it returns the same window
    (a user hook building the log line too does not take the items from the logged one).
    """

    __slots__ = ("_last", "_mark", "data_time", "iters", "samples", "time")

    def __init__(self) -> None:
        self.samples = 0
        self.time = 0.0
        self.data_time = 0.0
        self.iters = 0
        self._mark = (0, 0.0, 0.0, 0)
        self._last: tuple[int, float, float, int] | None = None

    def add(self, samples: int, iter_time: float, data_time: float) -> None:
        """Record one iteration."""
        self.samples += samples
        self.time += iter_time
        self.data_time += data_time
        self.iters += 1

    def window(self) -> tuple[int, float, float, int] | None:
        """``(samples, time, data_time, iters)`` since the last call, or None if empty."""
        now = (self.samples, self.time, self.data_time, self.iters)
        if now == self._mark:  # asked again with nothing new (a second log call, same iter)
            return self._last
        delta = tuple(a - b for a, b in zip(now, self._mark))
        self._mark = now
        self._last = delta if delta[3] > 0 and delta[1] > 0 else None  # type: ignore[assignment]
        return self._last


def batch_size_of(data_batch: Any) -> int:
    """Best-effort number of samples in a collated batch (0 when unknown).

    Handles ``default_collate`` output (a tensor, or a list/tuple/dict of tensors batched along
    dim 0) and ``pseudo_collate`` output (``dict(inputs=[...], data_samples=[...])``).
    """
    # Fast path (every iteration): a list/tuple whose first item is a tensor.
    cls = type(data_batch)
    if (cls is list or cls is tuple) and data_batch and type(data_batch[0]) is torch.Tensor:
        first = data_batch[0]
        return int(first.shape[0]) if first.dim() > 0 else 0
    if isinstance(data_batch, torch.Tensor):
        return int(data_batch.shape[0]) if data_batch.dim() > 0 else 0
    if isinstance(data_batch, Mapping):
        if not data_batch:
            return 0
        inputs = data_batch.get("inputs", next(iter(data_batch.values())))
        if isinstance(inputs, Sequence) and not isinstance(inputs, str):
            return len(inputs)
        return batch_size_of(inputs)
    if isinstance(data_batch, Sequence) and not isinstance(data_batch, str) and data_batch:
        first = data_batch[0]
        if isinstance(first, torch.Tensor):
            return batch_size_of(first)
        if isinstance(first, Sequence) and not isinstance(first, str):
            return len(first)
        return len(data_batch)
    return 0


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Log ``<mode>/data_time`` and ``<mode>/time`` scalars and the ``eta`` info."""

    priority = "NORMAL"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Route the train stages through ``_before_iter``/``_after_iter`` in subclasses that
        override those helpers (the MMEngine way to extend this hook) but not the stage itself.

        This class writes its train stages out for speed; without this, a subclass's helper
        override would run for val/test only. Decided once per class, so it costs nothing per
        iteration.
        """
        super().__init_subclass__(**kwargs)
        if (
            cls._before_iter is not IterTimerHook._before_iter
            and cls.before_train_iter is IterTimerHook.before_train_iter
        ):
            cls.before_train_iter = Hook.before_train_iter  # type: ignore[method-assign]
        if (
            cls._after_iter is not IterTimerHook._after_iter
            and cls.after_train_iter is IterTimerHook.after_train_iter
        ):
            cls.after_train_iter = Hook.after_train_iter  # type: ignore[method-assign]

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.start_iter = 0
        self.time_sec_tot = 0.0
        self.time_sec_test_val = 0.0
        self._data_time = 0.0
        self._samples = 0
        self._skip_throughput = True  # the next train iteration is not representative
        self._loop: Any = None  # the train loop, which may record ``fetch_time``
        self.throughput = ThroughputMeter()

    def before_run(self, runner) -> None:
        """Publish a fresh throughput meter (before any checkpoint is loaded, so that a resumed
        message hub knows the key and its ``resumed=False`` flag)."""
        self.throughput = ThroughputMeter()
        runner.message_hub.update_info("throughput_meter", self.throughput, resumed=False)

    def before_train(self, runner) -> None:
        """Remember the starting iteration so that the ETA is right after a resume."""
        self.start_iter = runner.iter
        self.time_sec_tot = 0.0
        self._loop = runner.train_loop

    def _before_epoch(self, runner, mode: str = "train") -> None:
        self.t = time.perf_counter()
        # The first batch of an epoch includes starting the DataLoader workers.
        self._skip_throughput = True

    def _after_epoch(self, runner, mode: str = "train") -> None:
        self.time_sec_test_val = 0.0
        # After a validation inside training, the next train iteration's "data time" also
        # holds the end-of-validation work (metrics, checkpoints): keep it out of the meter.
        self._skip_throughput = True

    # The train stages are written out (no ``_before_iter``/``_after_iter`` indirection, no
    # f-string keys): they run every iteration.
    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Record ``train/data_time`` and the batch size."""
        self._data_time = data_time = time.perf_counter() - self.t
        runner.message_hub.update_scalar("train/data_time", data_time)
        self._samples = batch_size_of(data_batch)

    def after_train_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | dict | None = None,
    ) -> None:
        """Record ``train/time``, the ETA and the throughput meter's sample."""
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        hub = runner.message_hub
        hub.update_scalar("train/time", iter_time)
        self.time_sec_tot = time_sec_tot = self.time_sec_tot + iter_time
        cur_iter = runner.iter
        eta = time_sec_tot / (cur_iter - self.start_iter + 1) * (runner.max_iters - cur_iter - 1)
        hub.update_info("eta", eta)
        if self._skip_throughput:
            self._skip_throughput = False
        else:
            # The data-wait share uses the time spent fetching the batch when the loop measured
            # it (``data_time`` also holds the hooks that run between this hook's two calls).
            fetch = getattr(self._loop, "fetch_time", None)
            meter = self.throughput
            meter.samples += self._samples
            meter.time += iter_time
            meter.data_time += self._data_time if fetch is None else fetch
            meter.iters += 1

    def _before_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, mode: str = "train"
    ) -> None:
        self._data_time = time.perf_counter() - self.t
        runner.message_hub.update_scalar(f"{mode}/data_time", self._data_time)
        if mode == "train":
            self._samples = batch_size_of(data_batch)

    def _after_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | dict | None = None,
        mode: str = "train",
    ) -> None:
        now = time.perf_counter()
        iter_time = now - self.t
        self.t = now
        hub = runner.message_hub
        hub.update_scalar(f"{mode}/time", iter_time)
        if mode == "train":
            self.time_sec_tot += iter_time
            done = runner.iter - self.start_iter + 1
            eta = self.time_sec_tot / done * (runner.max_iters - runner.iter - 1)
            if self._skip_throughput:
                self._skip_throughput = False
            else:
                self.throughput.add(self._samples, iter_time, self._data_time)
        else:
            self.time_sec_test_val += iter_time
            dataloader = getattr(runner, f"{mode}_dataloader")
            eta = self.time_sec_test_val / (batch_idx + 1) * (len(dataloader) - batch_idx - 1)
        hub.update_info("eta", eta)
