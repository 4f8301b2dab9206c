"""``TimeCounter``: average run time of a function or block, logged after warm-up.

This is a profiling tool: with ``with_sync=True`` it synchronises CUDA around the timed code,
so never leave it on a training hot path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, ClassVar

import torch

__all__ = ["TimeCounter"]


class TimeCounter:
    """Decorator / context manager logging the average time per run.

    Instances are shared per ``tag``: ``TimeCounter(tag='x')`` returns the same counter
    everywhere, so a block inside a loop accumulates.

    Args:
        log_interval: Log every ``log_interval`` runs.
        warmup_interval: Runs ignored at the start (>= 1).
        with_sync: Synchronise CUDA before and after the timed code.
        tag: Name in the log; defaults to the decorated function's name.
        logger: Logger name or instance for ``print_log``; default the current logger.
    """

    instance_dict: ClassVar[dict[str, TimeCounter]] = {}

    log_interval: int
    warmup_interval: int
    with_sync: bool
    tag: str | None
    logger: Any

    def __new__(
        cls,
        log_interval: int = 1,
        warmup_interval: int = 1,
        with_sync: bool = True,
        tag: str | None = None,
        logger: Any = None,
    ) -> TimeCounter:
        if warmup_interval < 1:
            raise AssertionError(f"warmup_interval must be >= 1, got {warmup_interval}")
        if tag is not None and tag in cls.instance_dict:
            return cls.instance_dict[tag]
        instance = super().__new__(cls)
        if tag is not None:
            cls.instance_dict[tag] = instance
        instance.log_interval = log_interval
        instance.warmup_interval = warmup_interval
        instance.with_sync = with_sync
        instance.tag = tag
        instance.logger = logger
        instance._count = 0
        instance._pure_inf_time = 0.0
        instance._start_time = 0.0
        return instance

    def _sync(self) -> None:
        if self.with_sync and torch.cuda.is_available():
            torch.cuda.synchronize()

    def __call__(self, fn: Callable) -> Callable:
        if self.tag is None:
            self.tag = fn.__name__

        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self._count += 1
            self._sync()
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            self._sync()
            self.print_time(time.perf_counter() - start)
            return result

        return wrapper

    def __enter__(self) -> TimeCounter:
        if self.tag is None:
            raise AssertionError(
                "In order to clearly distinguish printing information in "
                "different contexts, please specify the tag parameter"
            )
        self._count += 1
        self._sync()
        self._start_time = time.perf_counter()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._sync()
        self.print_time(time.perf_counter() - self._start_time)

    def print_time(self, elapsed: float) -> None:
        """Accumulate ``elapsed`` seconds after warm-up and log the average on schedule."""
        if self._count < self.warmup_interval:
            return
        self._pure_inf_time += elapsed
        if self._count % self.log_interval == 0:
            runs = self._count - self.warmup_interval + 1
            per_run_ms = 1000 * self._pure_inf_time / runs
            message = (
                f"[{self.tag}]-time per run averaged in the past {self._count} runs: "
                f"{per_run_ms:.1f} ms"
            )
            try:
                from piston.logging import print_log
            except ImportError:
                logging.getLogger("piston").info(message)
                return
            print_log(message, logger=self.logger if self.logger is not None else "current")
