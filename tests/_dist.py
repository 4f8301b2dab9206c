"""Run a test function in several real processes joined by a CPU ``gloo`` group.

Usage::

    def _check(rank: int, world_size: int) -> None:  # module-level, so it pickles
        ...

    @pytest.mark.distributed
    def test_something() -> None:
        run_in_processes(_check, world_size=2)

Each worker gets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` in its environment and an initialised default process group,
exactly as under ``torchrun``. An exception in any worker fails the test with
that worker's traceback.
"""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Callable
from typing import Any


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(
    rank: int,
    world_size: int,
    port: int,
    fn: Callable[..., Any],
    args: tuple,
    errors: Any,
    init_group: bool,
) -> None:
    import torch.distributed as torch_dist

    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_WORLD_SIZE=str(world_size),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
    )
    try:
        if init_group:
            torch_dist.init_process_group("gloo", rank=rank, world_size=world_size)
        fn(rank, world_size, *args)
        if torch_dist.is_initialized():
            # Leave together: a rank tearing the group down while another still talks to it
            # aborts the process ("terminate called without an active exception").
            torch_dist.barrier()
    except BaseException:
        errors.put((rank, traceback.format_exc()))
        raise
    finally:
        if torch_dist.is_initialized():
            torch_dist.destroy_process_group()


def run_in_processes(
    fn: Callable[..., Any],
    world_size: int = 2,
    *args: Any,
    init_group: bool = True,
    timeout_s: float = 120,
) -> None:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` spawned processes."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    errors = ctx.SimpleQueue()
    port = free_port()
    procs = [
        ctx.Process(target=_worker, args=(rank, world_size, port, fn, args, errors, init_group))
        for rank in range(world_size)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout_s)
    hung = [p for p in procs if p.is_alive()]
    for proc in hung:
        proc.kill()
        proc.join()
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    if failures:
        rank, tb = sorted(failures)[0]
        raise AssertionError(f"rank {rank} failed:\n{tb}")
    if hung:
        raise AssertionError(f"{len(hung)} worker(s) still running after {timeout_s}s")
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise AssertionError(f"worker exit codes {[p.exitcode for p in procs]}")
