"""``track_progress_rich``: run a function over zipped task lists with a rich progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["track_progress_rich"]


class _Worker:
    """Picklable wrapper calling ``func(*args)`` and returning ``(index, result)``."""

    def __init__(self, func: Callable) -> None:
        self.func = func

    def __call__(self, inputs: tuple[int, tuple]) -> tuple[int, Any]:
        index, args = inputs
        return index, self.func(*args)


def track_progress_rich(
    func: Callable,
    tasks: Iterable = (),
    task_num: int | None = None,
    nproc: int = 1,
    chunksize: int = 1,
    description: str = "Processing",
    color: str = "blue",
) -> list:
    """Call ``func(*args)`` for ``args`` in ``zip(*tasks)`` with a rich progress bar.

    Args:
        func: Function to call; picklable when ``nproc > 1``.
        tasks: A tuple of iterables zipped into the arguments, e.g. ``(range(10),)`` for
            ``func(x)`` or ``(xs, ys)`` for ``func(x, y)``.
        task_num: Number of tasks; required when ``tasks`` are not sized.
        nproc: Worker processes (1 runs in this process).
        chunksize: Tasks sent to a worker at a time.
        description: Text shown before the bar.
        color: Colour of the description.

    Returns:
        The results in task order.
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
        raise TypeError("func must be a callable object")
    if not isinstance(tasks, Iterable):
        raise TypeError(f"tasks must be an iterable object, but got {type(tasks)}")
    task_lists = [list(task) for task in tasks]
    if not task_lists:
        if task_num is None:
            raise ValueError("If tasks is an empty iterable, task_num must be set")
        arg_tuples: list[tuple] = [() for _ in range(task_num)]
    else:
        lengths = {len(task) for task in task_lists}
        if len(lengths) > 1:
            raise ValueError(f"the lengths of the task lists must be equal, got {lengths}")
        length = lengths.pop()
        if task_num is not None and task_num != length:
            raise ValueError(f"task_num={task_num} does not match the {length} tasks given")
        arg_tuples = list(zip(*task_lists))
    if nproc <= 0:
        raise ValueError("nproc must be a positive number")

    progress = Progress(
        TextColumn(f"[{color}]{description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    worker = _Worker(func)
    task_id = progress.add_task(total=len(arg_tuples), color=color, description=description)
    results: list = [None] * len(arg_tuples)
    with progress:
        if nproc == 1:
            for index, args in enumerate(arg_tuples):
                results[index] = worker((index, args))[1]
                progress.update(task_id, advance=1, refresh=True)
        else:
            from multiprocessing import Pool

            with Pool(nproc) as pool:
                for index, result in pool.imap_unordered(
                    worker, enumerate(arg_tuples), chunksize=chunksize
                ):
                    results[index] = result
                    progress.update(task_id, advance=1)
    return results
