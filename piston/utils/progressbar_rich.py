"""``track_progress_rich``: run a function over tasks (optionally in a pool) with a rich bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sized
from typing import Any

__all__ = ["track_progress_rich"]


class _Worker:
    """Picklable wrapper: ``(task, index) -> (func(task), index)``.

    A tuple/list task is unpacked as positional arguments, a mapping as keyword arguments, and
    anything else is passed as the single argument.
    """

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __call__(self, inputs: tuple[Any, int]) -> tuple[Any, int]:
        task, index = inputs
        if isinstance(task, Mapping):
            return self.func(**task), index
        if isinstance(task, (tuple, list)):
            return self.func(*task), index
        return self.func(task), index


def track_progress_rich(
    func: Callable,
    tasks: Iterable = (),
    task_num: int | None = None,
    nproc: int = 1,
    chunksize: int = 1,
    description: str = "Processing",
    color: str = "blue",
) -> list:
    """Call ``func`` on every task with a rich progress bar; return the results in order.

    Args:
        func: Function to call; picklable when ``nproc > 1``.
        tasks: The tasks. A tuple/list task is unpacked as positional arguments
            (``func(*task)``), a dict as keyword arguments, anything else is passed as is.
            Empty (the default) with ``task_num`` calls ``func()`` ``task_num`` times.
        task_num: Number of tasks; needed for empty or unsized ``tasks``.
        nproc: Worker processes (1 runs in this process).
        chunksize: Tasks sent to a worker at a time.
        description: Text shown before the bar.
        color: Colour of the description.

    Example:
        >>> track_progress_rich(pow, [(2, 3), (3, 2)])  # doctest: +SKIP
        [8, 9]
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    if not callable(func):
        raise TypeError(f"func must be a callable object, but got {type(func)}")
    if not isinstance(tasks, Iterable):
        raise TypeError(f"tasks must be an iterable object, but got {type(tasks)}")
    if nproc <= 0:
        raise ValueError(f"nproc must be a positive number, but got {nproc}")
    if isinstance(tasks, Sized):
        if len(tasks) == 0:
            if task_num is None:
                raise ValueError("If tasks is an empty iterable, task_num must be set")
            tasks = [() for _ in range(task_num)]
        elif task_num is not None and task_num != len(tasks):
            raise ValueError(f"task_num={task_num} does not match the {len(tasks)} tasks given")
        else:
            task_num = len(tasks)

    progress = Progress(
        TextColumn(f"[{color}]{{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    worker = _Worker(func)
    task_id = progress.add_task(description, total=task_num)
    indexed = ((task, index) for index, task in enumerate(tasks))
    results: dict[int, Any] = {}
    with progress:
        if nproc == 1:
            for item in indexed:
                result, index = worker(item)
                results[index] = result
                progress.update(task_id, advance=1, refresh=True)
        else:
            from multiprocessing import Pool

            with Pool(nproc) as pool:
                for result, index in pool.imap_unordered(worker, indexed, chunksize):
                    results[index] = result
                    progress.update(task_id, advance=1, refresh=True)
    return [results[index] for index in range(len(results))]
