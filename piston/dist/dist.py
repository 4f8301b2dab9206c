"""Collectives that work the same in one process and in a process group.

Design note: tensor collectives move the data to the backend's communication device
(``get_comm_device``) and bring the result back to the caller's device, so a CPU tensor can be
reduced over NCCL and a CUDA tensor over gloo. Without a process group every function returns
what a group of one would (``[data]``, ``results[:size]``, a no-op for in-place ones).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable
from itertools import chain, zip_longest
from typing import Any

import numpy as np
import torch
import torch.distributed as torch_dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors
from torch.distributed import ProcessGroup

from piston.dist.utils import (
    barrier,
    cast_data_device,
    get_backend,
    get_comm_device,
    get_data_device,
    get_default_group,
    get_rank,
    get_world_size,
)

__all__ = [
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "all_reduce_dict",
    "all_reduce_params",
    "broadcast",
    "broadcast_object_list",
    "collect_results",
    "collect_results_cpu",
    "collect_results_gpu",
    "gather",
    "gather_object",
    "sync_random_seed",
]

_REDUCE_OPS = {
    "sum": torch_dist.ReduceOp.SUM,
    "product": torch_dist.ReduceOp.PRODUCT,
    "min": torch_dist.ReduceOp.MIN,
    "max": torch_dist.ReduceOp.MAX,
    "band": torch_dist.ReduceOp.BAND,
    "bor": torch_dist.ReduceOp.BOR,
    "bxor": torch_dist.ReduceOp.BXOR,
}


def _group(group: ProcessGroup | None) -> ProcessGroup:
    return get_default_group() if group is None else group


def _reduce_op(op: str) -> torch_dist.ReduceOp:
    name = op.lower()
    if name == "mean":
        return _REDUCE_OPS["sum"]
    if name not in _REDUCE_OPS:
        raise ValueError(
            f"reduce op should be one of {[*_REDUCE_OPS, 'mean']} (case-insensitive), "
            f"but got {op!r}."
        )
    return _REDUCE_OPS[name]


def all_reduce(data: torch.Tensor, op: str = "sum", group: ProcessGroup | None = None) -> None:
    """Reduce ``data`` in place over all ranks.

    Args:
        data: Tensor to reduce (left unchanged in a single process).
        op: ``sum``, ``product``, ``min``, ``max``, ``band``, ``bor``, ``bxor`` or ``mean``.
        group: Process group (default group if None).
    """
    reduce_op = _reduce_op(op)
    world_size = get_world_size(group)
    if world_size == 1:
        return
    group = _group(group)
    on_comm = cast_data_device(data, get_comm_device(group))
    torch_dist.all_reduce(on_comm, reduce_op, group)
    if op.lower() == "mean":
        if on_comm.is_floating_point() or on_comm.is_complex():
            on_comm.div_(world_size)
        else:  # the true quotient written back into the integer tensor: truncated, -3/2 -> -1
            on_comm.div_(world_size, rounding_mode="trunc")
    cast_data_device(on_comm, data.device, out=data)


def all_gather(data: torch.Tensor, group: ProcessGroup | None = None) -> list[torch.Tensor]:
    """Gather ``data`` (same shape on every rank) from all ranks, one tensor per rank."""
    if get_world_size(group) == 1:
        return [data]
    group = _group(group)
    on_comm = cast_data_device(data, get_comm_device(group)).contiguous()
    gathered = [torch.empty_like(on_comm) for _ in range(get_world_size(group))]
    torch_dist.all_gather(gathered, on_comm, group)
    return cast_data_device(gathered, data.device)


def gather(data: torch.Tensor, dst: int = 0, group: ProcessGroup | None = None) -> list:
    """Gather ``data`` to rank ``dst``: a list there, ``[]`` on the other ranks."""
    if get_world_size(group) == 1:
        return [data]
    group = _group(group)
    on_comm = cast_data_device(data, get_comm_device(group)).contiguous()
    if get_rank(group) == dst:
        gathered = [torch.empty_like(on_comm) for _ in range(get_world_size(group))]
    else:
        gathered = []
    torch_dist.gather(on_comm, gathered or None, torch_dist.get_global_rank(group, dst), group)
    return cast_data_device(gathered, data.device) if gathered else []


def broadcast(data: torch.Tensor, src: int = 0, group: ProcessGroup | None = None) -> None:
    """Overwrite ``data`` on every rank with rank ``src``'s value."""
    if get_world_size(group) == 1:
        return
    group = _group(group)
    on_comm = cast_data_device(data, get_comm_device(group))
    torch_dist.broadcast(on_comm, torch_dist.get_global_rank(group, src), group)
    if get_rank(group) != src:
        cast_data_device(on_comm, data.device, out=data)


def sync_random_seed(group: ProcessGroup | None = None) -> int:
    """A random seed drawn on rank 0 and shared with every rank."""
    seed = np.random.randint(2**31)
    if get_world_size(group) == 1:
        return int(seed)
    group = _group(group)
    device = get_comm_device(group)
    seed_tensor = torch.tensor(
        seed if get_rank(group) == 0 else 0, dtype=torch.int64, device=device
    )
    torch_dist.broadcast(seed_tensor, torch_dist.get_global_rank(group, 0), group)
    return int(seed_tensor.item())


def broadcast_object_list(data: list[Any], src: int = 0, group: ProcessGroup | None = None) -> None:
    """Replace the items of ``data`` on every rank with rank ``src``'s (pickled) items."""
    if not isinstance(data, list):
        raise AssertionError(f"data must be a list, but got {type(data)}.")
    if get_world_size(group) == 1:
        return
    group = _group(group)
    global_src = torch_dist.get_global_rank(group, src)
    device = get_comm_device(group)
    torch_dist.broadcast_object_list(data, global_src, group, device=device)


def all_reduce_dict(
    data: dict[str, torch.Tensor], op: str = "sum", group: ProcessGroup | None = None
) -> None:
    """All-reduce every tensor of ``data`` in place with a single collective.

    The tensors are flattened in sorted-key order into one buffer (same keys on every rank).
    """
    if not isinstance(data, dict):
        raise AssertionError(f"data must be a dict of tensors, but got {type(data)}.")
    _reduce_op(op)
    if get_world_size(group) == 1 or not data:
        return
    keys = sorted(data)
    tensors = [data[key] for key in keys]
    flat = torch.cat([t.reshape(-1).to(get_data_device(tensors[0])) for t in tensors])
    all_reduce(flat, op=op, group=group)
    chunks = torch.split(flat, [t.numel() for t in tensors])
    for key, tensor, chunk in zip(keys, tensors, chunks):
        data[key] = chunk.view_as(tensor).to(tensor.dtype)


def all_gather_object(data: Any, group: ProcessGroup | None = None) -> list[Any]:
    """Every rank's (picklable) ``data``, in rank order."""
    if get_world_size(group) == 1:
        return [data]
    group = _group(group)
    gathered: list[Any] = [None] * get_world_size(group)
    torch_dist.all_gather_object(gathered, data, group)
    return gathered


def gather_object(data: Any, dst: int = 0, group: ProcessGroup | None = None) -> list | None:
    """Every rank's ``data`` on rank ``dst`` (None on the other ranks)."""
    if get_world_size(group) == 1:
        return [data]
    group = _group(group)
    is_dst = get_rank(group) == dst
    if get_backend(group) == "nccl":  # gather_object is not supported by every NCCL build
        gathered = all_gather_object(data, group)
        return gathered if is_dst else None
    gathered = [None] * get_world_size(group) if is_dst else None
    torch_dist.gather_object(data, gathered, torch_dist.get_global_rank(group, dst), group)
    return gathered


def _order_results(parts: list[list[Any]], size: int) -> list[Any]:
    """Interleave per-rank parts as a distributed sampler split them, drop fillers, trim."""
    ordered = [item for item in chain.from_iterable(zip_longest(*parts)) if item is not None]
    return ordered[:size]


def collect_results(
    results: list, size: int, device: str = "cpu", tmpdir: str | None = None
) -> list | None:
    """Collect per-rank results on rank 0 in dataset order (None on the other ranks).

    Args:
        results: This rank's results.
        size: Size of the dataset; padding added by the sampler is trimmed.
        device: ``'cpu'`` (through a shared directory) or ``'gpu'``/``'npu'`` (through the
            communication backend).
        tmpdir: Shared directory for ``'cpu'`` mode; a fresh one under ``./.dist_test`` if None.
    """
    if device not in ("cpu", "gpu", "npu"):
        raise NotImplementedError(f"device must be 'cpu', 'gpu' or 'npu', but got {device!r}.")
    if device == "cpu":
        return collect_results_cpu(results, size, tmpdir)
    if tmpdir is not None:
        raise AssertionError("tmpdir should be None when device is 'gpu' or 'npu'.")
    return collect_results_gpu(results, size)


def collect_results_cpu(result_part: list, size: int, tmpdir: str | None = None) -> list | None:
    """``collect_results`` through pickles in a directory shared by all ranks."""
    rank, world_size = get_rank(), get_world_size()
    if world_size == 1:
        return result_part[:size]
    if tmpdir is None:
        buffer = torch.full((512,), 32, dtype=torch.uint8)
        if rank == 0:
            os.makedirs(".dist_test", exist_ok=True)
            name = tempfile.mkdtemp(dir=".dist_test").encode()
            if len(name) > 512:
                raise ValueError(f"temporary directory name {name!r} is longer than 512 bytes.")
            buffer[: len(name)] = torch.frombuffer(bytearray(name), dtype=torch.uint8)
        broadcast(buffer, 0)
        tmpdir = buffer.numpy().tobytes().decode().rstrip()
    else:
        os.makedirs(tmpdir, exist_ok=True)
    with open(os.path.join(tmpdir, f"part_{rank}.pkl"), "wb") as f:
        pickle.dump(result_part, f, protocol=2)
    barrier()
    if rank != 0:
        return None
    parts = []
    for i in range(world_size):
        path = os.path.join(tmpdir, f"part_{i}.pkl")
        if not os.path.exists(path):
            raise FileNotFoundError(
                f"{tmpdir} is not a shared directory for rank {i}: its results file {path} is "
                "missing. Pass a tmpdir that every rank (every node) can read and write."
            )
        with open(path, "rb") as f:
            parts.append(pickle.load(f))
    shutil.rmtree(tmpdir, ignore_errors=True)
    return _order_results(parts, size)


def collect_results_gpu(result_part: list, size: int) -> list | None:
    """``collect_results`` through the communication backend (an object gather)."""
    if get_world_size() == 1:
        return result_part[:size]
    parts = gather_object(result_part, dst=0)
    if get_rank() != 0:
        return None
    return _order_results(parts, size)


def all_reduce_params(
    params: Iterable[torch.Tensor],
    coalesce: bool = True,
    bucket_size_mb: int = -1,
    op: str = "sum",
    group: ProcessGroup | None = None,
) -> None:
    """All-reduce the ``.data`` of parameters or buffers in place.

    Args:
        params: Parameters or buffers (e.g. ``model.buffers()``).
        coalesce: Reduce flattened buckets instead of one tensor at a time.
        bucket_size_mb: Bucket size in MB; <= 0 means one bucket per dtype.
        op: Reduce op, as in ``all_reduce``.
        group: Process group.
    """
    _reduce_op(op)
    if get_world_size(group) == 1:
        return
    tensors = [param.data for param in params]
    if not coalesce:
        for tensor in tensors:
            all_reduce(tensor, op=op, group=group)
        return
    for bucket in _buckets(tensors, bucket_size_mb):
        flat = _flatten_dense_tensors(bucket)
        all_reduce(flat, op=op, group=group)
        for tensor, synced in zip(bucket, _unflatten_dense_tensors(flat, bucket)):
            tensor.copy_(synced)


def _buckets(tensors: list[torch.Tensor], bucket_size_mb: int) -> list[list[torch.Tensor]]:
    by_type: dict[tuple, list[torch.Tensor]] = {}
    for tensor in tensors:
        by_type.setdefault((tensor.dtype, tensor.device), []).append(tensor)
    if bucket_size_mb <= 0:
        return list(by_type.values())
    limit = bucket_size_mb * 1024 * 1024
    buckets: list[list[torch.Tensor]] = []
    for group in by_type.values():
        current: list[torch.Tensor] = []
        current_bytes = 0
        for tensor in group:
            nbytes = tensor.numel() * tensor.element_size()
            if current and current_bytes + nbytes > limit:
                buckets.append(current)
                current, current_bytes = [], 0
            current.append(tensor)
            current_bytes += nbytes
        if current:
            buckets.append(current)
    return buckets
