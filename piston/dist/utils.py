"""Process information, launchers and device helpers for ``torch.distributed``.

Design note: every helper answers for a plain single process when no process group exists
("distributed" = ``torch.distributed`` available and initialised), so callers never branch on
the launch mode. ``init_dist`` turns a launcher's environment (torchrun, SLURM, Open MPI) into
the ``env://`` variables ``init_process_group`` reads, then initialises the group.
"""

from __future__ import annotations

import datetime
import functools
import importlib
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from torch.distributed import ProcessGroup

__all__ = [
    "barrier",
    "cast_data_device",
    "get_backend",
    "get_comm_device",
    "get_data_device",
    "get_default_group",
    "get_dist_info",
    "get_local_group",
    "get_local_rank",
    "get_local_size",
    "get_rank",
    "get_world_size",
    "infer_launcher",
    "init_dist",
    "init_local_group",
    "is_distributed",
    "is_main_process",
    "master_only",
]

_F = TypeVar("_F", bound=Callable[..., Any])
_LOCAL_PROCESS_GROUP: ProcessGroup | None = None

# Backends of vendor devices and the device type their collectives run on.
_BACKEND_DEVICE = {
    "nccl": "cuda",
    "smddp": "cuda",  # SageMaker's data-parallel backend runs on CUDA like NCCL
    "hccl": "npu",
    "cncl": "mlu",
    "mccl": "musa",
}


# ---------------------------------------------------------------------- process information
def is_distributed() -> bool:
    """Whether a default process group is initialised."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_default_group() -> ProcessGroup | None:
    """The default process group (only meaningful when distributed)."""
    return torch_dist.distributed_c10d._get_default_group()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of processes in ``group`` (default group); 1 when not distributed."""
    if not is_distributed():
        return 1
    return torch_dist.get_world_size(group or get_default_group())


def get_rank(group: ProcessGroup | None = None) -> int:
    """Rank of this process in ``group`` (default group); 0 when not distributed."""
    if not is_distributed():
        return 0
    return torch_dist.get_rank(group or get_default_group())


def get_dist_info(group: ProcessGroup | None = None) -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when not distributed."""
    return get_rank(group), get_world_size(group)


def is_main_process(group: ProcessGroup | None = None) -> bool:
    """Whether this process has rank 0 in ``group``."""
    return get_rank(group) == 0


def get_backend(group: ProcessGroup | None = None) -> str | None:
    """Backend name of ``group`` (e.g. ``'gloo'``, ``'nccl'``); None when not distributed."""
    if not is_distributed():
        return None
    return str(torch_dist.get_backend(group or get_default_group()))


def barrier(group: ProcessGroup | None = None) -> None:
    """Synchronise all processes of ``group``; a no-op when not distributed."""
    if is_distributed():
        torch_dist.barrier(group or get_default_group())


def master_only(func: _F) -> _F:
    """Decorate ``func`` to run on rank 0 only; other ranks get None."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if is_main_process():
            return func(*args, **kwargs)
        return None

    return wrapper  # type: ignore[return-value]


def infer_launcher() -> str:
    """Guess the launcher from the environment: ``pytorch``, ``slurm``, ``mpi`` or ``none``."""
    if "WORLD_SIZE" in os.environ:
        return "pytorch"
    if "SLURM_NTASKS" in os.environ:
        return "slurm"
    if "OMPI_COMM_WORLD_LOCAL_RANK" in os.environ:
        return "mpi"
    return "none"


# ---------------------------------------------------------------------- local (per-node) group
def init_local_group(node_rank: int, num_gpus_per_node: int) -> None:
    """Create the group of ranks ``[node_rank * n, (node_rank + 1) * n)`` of this node.

    Every rank must call it (``new_group`` is collective); groups of all nodes are created so
    that the calls match on every rank. It can be called only once.
    """
    global _LOCAL_PROCESS_GROUP
    if _LOCAL_PROCESS_GROUP is not None:
        raise AssertionError("The local process group has already been created.")
    world_size = get_world_size()
    num_nodes = max(world_size // num_gpus_per_node, 1)
    if world_size % num_gpus_per_node != 0:
        num_nodes = node_rank + 1
    for node in range(num_nodes):
        ranks = list(range(node * num_gpus_per_node, (node + 1) * num_gpus_per_node))
        group = torch_dist.new_group(ranks)
        if node == node_rank:
            _LOCAL_PROCESS_GROUP = group


def get_local_group() -> ProcessGroup | None:
    """The per-node group; None when not distributed, RuntimeError if never created."""
    if not is_distributed():
        return None
    if _LOCAL_PROCESS_GROUP is None:
        raise RuntimeError("Local process group is not created, please use `init_local_group`.")
    return _LOCAL_PROCESS_GROUP


def get_local_size() -> int:
    """Number of processes on this node (1 when not distributed)."""
    if not is_distributed():
        return 1
    return torch_dist.get_world_size(get_local_group())


def get_local_rank() -> int:
    """Rank of this process on its node (0 when not distributed)."""
    if not is_distributed():
        return 0
    return torch_dist.get_rank(get_local_group())


def _reset_local_group() -> None:
    global _LOCAL_PROCESS_GROUP
    _LOCAL_PROCESS_GROUP = None


# ---------------------------------------------------------------------- launchers
def init_dist(
    launcher: str, backend: str = "nccl", init_backend: str = "torch", **kwargs: Any
) -> None:
    """Initialise the default process group from a launcher's environment.

    Args:
        launcher: ``'pytorch'`` (torchrun), ``'slurm'`` (srun) or ``'mpi'`` (mpirun).
        backend: Communication backend, e.g. ``'nccl'`` or ``'gloo'``.
        init_backend: ``'torch'``, ``'deepspeed'`` or ``'colossalai'``.
        **kwargs: Passed to ``init_process_group``; ``timeout`` may be seconds; ``port`` is the
            master port for SLURM.
    """
    timeout = kwargs.get("timeout")
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(
                f"Timeout for distributed training must be provided as timeout in seconds, "
                f"but we've received the type {type(timeout)}: {timeout!r}. Please specify "
                "the timeout like this: dist_cfg=dict(backend='nccl', timeout=1800)."
            )
        kwargs["timeout"] = datetime.timedelta(seconds=timeout)
    if mp.get_start_method(allow_none=True) is None:
        mp.set_start_method("spawn")
    if launcher not in ("pytorch", "mpi", "slurm"):
        raise ValueError(
            f"Invalid launcher type: {launcher}; use 'pytorch', 'slurm' or 'mpi' "
            "(or 'none' for a single process without init_dist)."
        )
    if init_backend not in ("torch", "deepspeed", "colossalai"):
        raise ValueError(
            f'supported "init_backend" is "torch", "deepspeed" or "colossalai", but got '
            f"{init_backend!r}."
        )
    if launcher == "pytorch":
        _init_dist_pytorch(backend, init_backend=init_backend, **kwargs)
    elif launcher == "mpi":
        _init_dist_mpi(backend, **kwargs)
    else:
        _init_dist_slurm(backend, init_backend=init_backend, **kwargs)


def _vendor_backend(backend: str) -> str:
    for device_type, vendor_backend in (("npu", "hccl"), ("mlu", "cncl"), ("musa", "mccl")):
        module = getattr(torch, device_type, None)
        if module is not None and getattr(module, "is_available", lambda: False)():
            getattr(module, "set_device", lambda _: None)(int(os.environ["LOCAL_RANK"]))
            return vendor_backend
    return backend


def _set_device(local_rank: int) -> None:
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank % max(torch.cuda.device_count(), 1))


def _init_process_group(backend: str, init_backend: str, **kwargs: Any) -> None:
    if init_backend in ("deepspeed", "colossalai"):
        try:
            module = importlib.import_module(init_backend)
        except ImportError as exc:
            raise ImportError(
                f"init_backend={init_backend!r} needs the {init_backend} package: run "
                f'"pip install {init_backend}", or use init_backend="torch".'
            ) from exc
        if init_backend == "deepspeed":
            module.init_distributed(dist_backend=backend, **kwargs)
        else:
            module.launch_from_torch(backend=backend, **kwargs)
    else:
        torch_dist.init_process_group(backend=backend, **kwargs)


def _init_dist_pytorch(backend: str, init_backend: str = "torch", **kwargs: Any) -> None:
    if "LOCAL_RANK" not in os.environ:
        raise KeyError(
            "LOCAL_RANK is not set: launcher='pytorch' expects the environment of torchrun "
            "(torchrun --nproc_per_node N train.py --launcher pytorch)."
        )
    local_rank = int(os.environ["LOCAL_RANK"])
    vendor = _vendor_backend(backend)
    if vendor != backend:
        backend = vendor
    else:
        _set_device(local_rank)
    _init_process_group(backend, init_backend, **kwargs)


def _init_dist_mpi(backend: str, **kwargs: Any) -> None:
    local_rank = int(os.environ["OMPI_COMM_WORLD_LOCAL_RANK"])
    _set_device(local_rank)
    if backend == "smddp":
        try:
            import smdistributed.dataparallel.torch.torch_smddp  # noqa: F401
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "backend='smddp' needs SageMaker's smdistributed package: run inside an Amazon "
                "SageMaker deep learning container, or pick another backend (e.g. 'nccl')."
            ) from exc

    os.environ.setdefault("MASTER_PORT", "29500")
    if "MASTER_ADDR" not in os.environ:
        raise KeyError("The environment variable MASTER_ADDR is not set; mpirun needs it.")
    os.environ["WORLD_SIZE"] = os.environ["OMPI_COMM_WORLD_SIZE"]
    os.environ["RANK"] = os.environ["OMPI_COMM_WORLD_RANK"]
    os.environ["LOCAL_RANK"] = str(local_rank)
    _init_process_group(backend, "torch", **kwargs)


def _init_dist_slurm(
    backend: str, port: int | None = None, init_backend: str = "torch", **kwargs: Any
) -> None:
    proc_id = int(os.environ["SLURM_PROCID"])
    ntasks = int(os.environ["SLURM_NTASKS"])
    node_list = os.environ["SLURM_NODELIST"]
    local_id = os.environ.get("SLURM_LOCALID")
    if local_id is not None:
        local_rank = int(local_id)
    else:
        local_rank = proc_id % max(torch.cuda.device_count(), 1)
    if "MASTER_ADDR" not in os.environ:
        os.environ["MASTER_ADDR"] = _first_slurm_host(node_list)
    if port is not None:
        os.environ["MASTER_PORT"] = str(port)
    else:
        os.environ.setdefault("MASTER_PORT", "29500")
    os.environ["WORLD_SIZE"] = str(ntasks)
    os.environ["LOCAL_RANK"] = str(local_rank)
    os.environ["RANK"] = str(proc_id)
    # from here on it is a torchrun environment: same device choice and vendor backends
    _init_dist_pytorch(backend, init_backend=init_backend, **kwargs)


def _first_slurm_host(node_list: str) -> str:
    """The first host of a SLURM node list (``node[1-4]`` -> ``node1``), via ``scontrol``."""
    command = ["scontrol", "show", "hostname", node_list]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        raise RuntimeError(
            f"launcher='slurm' could not resolve the master host: `{' '.join(command)}` failed "
            f"({str(detail).strip()}). Run under srun, or set MASTER_ADDR yourself."
        ) from exc
    hosts = result.stdout.split()
    if not hosts:
        raise RuntimeError(f"`{' '.join(command)}` printed no host name; set MASTER_ADDR yourself.")
    return hosts[0]


# ---------------------------------------------------------------------- device helpers
def get_data_device(data: Any) -> torch.device:
    """The device of a tensor, or the one device shared by every tensor in a mapping/iterable.

    Raises:
        ValueError: Empty data, or tensors on different devices.
        TypeError: Data that is neither a tensor nor a container of tensors.
    """
    if isinstance(data, torch.Tensor):
        return data.device
    if isinstance(data, Mapping):
        items: Iterable = data.values()
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        items = data
    else:
        raise TypeError(
            f"data should be a Tensor, sequence of tensor or dict, but got {type(data)}."
        )
    device = None
    for item in items:
        current = get_data_device(item)
        if device is None:
            device = current
        elif current != device:
            raise ValueError(f"device type in data should be consistent, but got {data}.")
    if device is None:
        raise ValueError("data should not be empty.")
    return device


def get_comm_device(group: ProcessGroup | None = None) -> torch.device:
    """The device collectives of ``group`` run on (CUDA for NCCL, ..., CPU otherwise)."""
    backend = get_backend(group)
    device_type = _BACKEND_DEVICE.get(backend or "")
    if device_type is None:
        return torch.device("cpu")
    if device_type == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    module = getattr(torch, device_type)
    return torch.device(device_type, module.current_device())


def cast_data_device(data: Any, device: torch.device, out: Any = None) -> Any:
    """Recursively copy tensors in ``data`` to ``device``, optionally into ``out``.

    Args:
        data: A tensor or a mapping/sequence of them (sets are not allowed).
        device: Target device.
        out: Optional destination of the same structure; its tensors are filled in place.
    """
    if out is not None and type(data) is not type(out):
        raise TypeError(
            f"out should be the same type as data, but got data: {type(data)}, out: {type(out)}."
        )
    if isinstance(data, set):
        raise TypeError("data should not be a set.")
    if isinstance(data, torch.Tensor):
        moved = data.to(device)
        if out is None:
            return moved
        if out is not moved:
            out.copy_(moved)
        return out
    if isinstance(data, Mapping):
        if out is not None and len(data) != len(out):
            raise ValueError("length of data and out should be same")
        return type(data)(
            {
                k: cast_data_device(v, device, None if out is None else out[k])
                for k, v in data.items()
            }
        )
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, set)):
        data = list(data) if not isinstance(data, (list, tuple)) else data
        if out is not None and len(data) != len(out):
            raise ValueError("length of data and out should be same")
        outs = [None] * len(data) if out is None else out
        result = [cast_data_device(v, device, o) for v, o in zip(data, outs)]
        return tuple(result) if isinstance(data, tuple) else result
    raise TypeError(
        f"data should be a Tensor, list of Tensor or dict of Tensor, but got {type(data)}."
    )
