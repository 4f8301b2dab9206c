"""Terminal progress bars.

Design: on an interactive terminal the bar is drawn by ``rich`` (refreshed on each update, no
background thread). Anywhere else (a file, a pipe, a ``StringIO`` in tests) it writes the plain
one-line format ``[>>>   ] 3/10, 1.2 task/s, elapsed: 2s, ETA:     3s``, rewritten with ``\\r``.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterable, Sized
from typing import IO, Any

from .timer import Timer

__all__ = ["ProgressBar", "track_iter_progress", "track_parallel_progress", "track_progress"]


def _is_terminal(file: IO) -> bool:
    isatty = getattr(file, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed file
        return False


class ProgressBar:
    """A progress bar that tracks completed tasks.

    Args:
        task_num: Number of tasks; 0 when unknown (then only counts are shown).
        bar_width: Width of the bar in characters (shrunk to fit the terminal).
        start: Draw the bar immediately.
        file: Where to draw.
    """

    def __init__(
        self, task_num: int = 0, bar_width: int = 50, start: bool = True, file: IO = sys.stdout
    ) -> None:
        self.task_num = task_num
        self.bar_width = bar_width
        self.completed = 0
        self.file = file
        self._rich: Any = None
        if start:
            self.start()

    @property
    def terminal_width(self) -> int:
        width, _ = shutil.get_terminal_size()
        return width

    def start(self) -> None:
        """Draw the empty bar and start the clock."""
        if _is_terminal(self.file):
            self._start_rich()
        elif self.task_num > 0:
            self.file.write(f"[{' ' * self.bar_width}] 0/{self.task_num}, elapsed: 0s, ETA:")
        else:
            self.file.write("completed: 0, elapsed: 0s")
        self.file.flush()
        self.timer = Timer()

    def _start_rich(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [BarColumn(bar_width=self.bar_width), MofNCompleteColumn()]
        if self.task_num > 0:
            columns += [TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
        else:
            columns += [TimeElapsedColumn()]
        columns.append(TextColumn("{task.fields[speed]}"))
        self._rich = Progress(*columns, console=Console(file=self.file), auto_refresh=False)
        self._rich_task = self._rich.add_task(
            "", total=self.task_num if self.task_num > 0 else None, speed=""
        )
        self._rich.start()

    def update(self, num_tasks: int = 1) -> None:
        """Mark ``num_tasks`` more tasks as done and redraw."""
        if num_tasks <= 0:
            raise AssertionError(f"num_tasks must be positive, but got {num_tasks}")
        self.completed += num_tasks
        elapsed = self.timer.since_start()
        fps = self.completed / elapsed if elapsed > 0 else float("inf")
        if self._rich is not None:
            self._rich.update(self._rich_task, completed=self.completed, speed=f"{fps:.1f} task/s")
            self._rich.refresh()
            if self.task_num > 0 and self.completed >= self.task_num:
                self._rich.stop()
                self._rich = None
            return
        if self.task_num > 0:
            percentage = self.completed / float(self.task_num)
            eta = int(elapsed * (1 - percentage) / percentage + 0.5)
            msg = (
                f"\r[{{}}] {self.completed}/{self.task_num}, {fps:.1f} task/s, "
                f"elapsed: {int(elapsed + 0.5)}s, ETA: {eta:5}s"
            )
            bar_width = min(
                self.bar_width,
                int(self.terminal_width - len(msg)) + 2,
                int(self.terminal_width * 0.6),
            )
            bar_width = max(2, bar_width)
            mark_width = int(bar_width * percentage)
            bar_chars = ">" * mark_width + " " * (bar_width - mark_width)
            self.file.write(msg.format(bar_chars))
        else:
            self.file.write(
                f"completed: {self.completed}, elapsed: {int(elapsed + 0.5)}s, {fps:.1f} tasks/s"
            )
        self.file.flush()


def _split_tasks(tasks: Iterable | tuple) -> tuple[Iterable, int]:
    if isinstance(tasks, tuple):
        if len(tasks) != 2 or not isinstance(tasks[0], Iterable) or not isinstance(tasks[1], int):
            raise AssertionError(
                "tasks given as a tuple must be (iterable, task_num), but got "
                f"{[type(item) for item in tasks]}"
            )
        return tasks[0], tasks[1]
    if isinstance(tasks, Sized) and isinstance(tasks, Iterable):
        return tasks, len(tasks)
    raise TypeError(f'"tasks" must be an iterable object or a (iterator, int) tuple, got {tasks}')


def track_progress(
    func: Callable,
    tasks: Iterable | tuple,
    bar_width: int = 50,
    file: IO = sys.stdout,
    **kwargs: Any,
) -> list:
    """Run ``func(task, **kwargs)`` for every task while showing a progress bar.

    Args:
        func: Function applied to each task.
        tasks: A sized iterable, or an ``(iterable, task_num)`` tuple.
        bar_width: Width of the bar.
        file: Where to draw.

    Returns:
        The results, in order.
    """
    tasks, task_num = _split_tasks(tasks)
    prog_bar = ProgressBar(task_num, bar_width, file=file)
    results = []
    for task in tasks:
        results.append(func(task, **kwargs))
        prog_bar.update()
    prog_bar.file.write("\n")
    return results


def init_pool(process_num: int, initializer: Callable | None = None, initargs: Any = None) -> Any:
    """A ``multiprocessing.Pool`` with optional initializer."""
    from multiprocessing import Pool

    if initializer is None:
        return Pool(process_num)
    if initargs is None:
        return Pool(process_num, initializer)
    if not isinstance(initargs, tuple):
        raise TypeError(f'"initargs" must be a tuple, but got {type(initargs)}')
    return Pool(process_num, initializer, initargs)


def track_parallel_progress(
    func: Callable,
    tasks: Iterable | tuple,
    nproc: int,
    initializer: Callable | None = None,
    initargs: tuple | None = None,
    bar_width: int = 50,
    chunksize: int = 1,
    skip_first: bool = False,
    keep_order: bool = True,
    file: IO = sys.stdout,
) -> list:
    """Run ``func`` over ``tasks`` in a pool of ``nproc`` processes, with a progress bar.

    Args:
        func: Picklable function applied to each task.
        tasks: A sized iterable, or an ``(iterable, task_num)`` tuple.
        nproc: Number of worker processes.
        initializer: Worker initializer.
        initargs: Arguments of ``initializer``.
        bar_width: Width of the bar.
        chunksize: Tasks sent to a worker at a time.
        skip_first: Do not count the first ``nproc`` results in the speed (warm-up).
        keep_order: Keep results in task order (``imap``) rather than completion order.
        file: Where to draw.
    """
    tasks, task_num = _split_tasks(tasks)
    pool = init_pool(nproc, initializer, initargs)
    start = not skip_first
    task_num -= nproc * chunksize * int(skip_first)
    prog_bar = ProgressBar(task_num, bar_width, start, file=file)
    results = []
    gen = (
        pool.imap(func, tasks, chunksize)
        if keep_order
        else pool.imap_unordered(func, tasks, chunksize)
    )
    try:
        for result in gen:
            results.append(result)
            if skip_first:
                if len(results) < nproc * chunksize:
                    continue
                if len(results) == nproc * chunksize:
                    prog_bar.start()
                    continue
            prog_bar.update()
    finally:
        pool.close()
        pool.join()
    prog_bar.file.write("\n")
    return results


def track_iter_progress(
    tasks: Iterable | tuple, bar_width: int = 50, file: IO = sys.stdout
) -> Iterable:
    """Yield the tasks one by one while showing a progress bar.

    Args:
        tasks: A sized iterable, or an ``(iterable, task_num)`` tuple.
        bar_width: Width of the bar.
        file: Where to draw.
    """
    tasks, task_num = _split_tasks(tasks)
    prog_bar = ProgressBar(task_num, bar_width, file=file)
    for task in tasks:
        yield task
        prog_bar.update()
    prog_bar.file.write("\n")
