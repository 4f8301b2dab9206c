"""Wall-clock timers (``time.perf_counter``; never synchronises a device)."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["Timer", "TimerError", "check_time"]


class TimerError(Exception):
    """Raised when a stopped timer is read."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Timer:
    """A timer; as a context manager it prints the elapsed time on exit.

    Args:
        start: Start immediately.
        print_tmpl: Format of the printed time, default ``'{:.3f}'``.

    Example:
        >>> with Timer(print_tmpl='it takes {:.1f} seconds'):
        ...     pass  # doctest: +SKIP
        it takes 0.0 seconds
    """

    def __init__(self, start: bool = True, print_tmpl: str | None = None) -> None:
        self._is_running = False
        self.print_tmpl = print_tmpl if print_tmpl else "{:.3f}"
        if start:
            self.start()

    @property
    def is_running(self) -> bool:
        """Whether the timer is running."""
        return self._is_running

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        print(self.print_tmpl.format(self.since_last_check()))
        self._is_running = False

    def start(self) -> None:
        """Start the timer if it is not running; reset the last check time either way."""
        if not self._is_running:
            self._t_start = time.perf_counter()
            self._is_running = True
        self._t_last = time.perf_counter()

    def since_start(self) -> float:
        """Seconds since ``start``; also counts as a check."""
        if not self._is_running:
            raise TimerError("timer is not running")
        self._t_last = time.perf_counter()
        return self._t_last - self._t_start

    def since_last_check(self) -> float:
        """Seconds since the last check (``since_start``/``since_last_check``) or start."""
        if not self._is_running:
            raise TimerError("timer is not running")
        now = time.perf_counter()
        duration = now - self._t_last
        self._t_last = now
        return duration


_g_timers: dict[str, Timer] = {}


def check_time(timer_id: str) -> float:
    """Seconds since the previous call with the same ``timer_id`` (0 on the first call)."""
    if timer_id not in _g_timers:
        _g_timers[timer_id] = Timer()
        return 0
    return _g_timers[timer_id].since_last_check()
