"""init_dist from the environments torchrun, SLURM and Open MPI set up, in two processes.

One spawned pair runs the three launchers one after the other (spawning costs seconds): the
group made by the ``pytorch`` launcher shares two free ports picked by rank 0, then each
launcher's group is destroyed before the next one is made.
"""

from __future__ import annotations

import os
import stat

import pytest
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from _dist import free_port, run_in_processes

import piston.dist as dist

_TORCHRUN_VARS = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE")


def _check_pytorch_launcher(rank: int, world_size: int) -> list[int]:
    # torchrun's variables (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_*) are set by the helper
    dist.init_dist("pytorch", backend="gloo", timeout=60)
    assert dist.get_dist_info() == (rank, world_size)
    assert dist.get_backend() == "gloo"
    assert mp.get_start_method(allow_none=True) is not None
    ports = [free_port(), free_port()] if rank == 0 else [0, 0]
    dist.broadcast_object_list(ports)
    return ports


def _check_slurm_launcher(rank: int, world_size: int, tmp_dir: str, port: str) -> None:
    os.environ.pop("MASTER_PORT")
    for key in (*_TORCHRUN_VARS, "MASTER_ADDR"):
        os.environ.pop(key, None)
    # a stand-in for SLURM's scontrol that records its arguments
    scontrol = os.path.join(tmp_dir, "bin", "scontrol")
    os.environ["PATH"] = f"{os.path.dirname(scontrol)}{os.pathsep}{os.environ['PATH']}"
    os.environ.update(
        SLURM_PROCID=str(rank),
        SLURM_NTASKS=str(world_size),
        SLURM_NODELIST="node[1-2]",
        SLURM_LOCALID=str(rank),
    )
    dist.init_dist("slurm", backend="gloo", port=int(port))
    assert dist.get_dist_info() == (rank, world_size)
    assert os.environ["MASTER_ADDR"] == "127.0.0.1"
    assert os.environ["MASTER_PORT"] == port
    assert os.environ["RANK"] == str(rank)
    assert os.environ["WORLD_SIZE"] == str(world_size)
    assert os.environ["LOCAL_RANK"] == str(rank)
    with open(os.path.join(tmp_dir, "scontrol_args")) as f:
        assert f.read().split() == ["show", "hostname", "node[1-2]"]


def _check_mpi_launcher(rank: int, world_size: int, port: str) -> None:
    for key in _TORCHRUN_VARS:
        os.environ.pop(key, None)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=port,
        OMPI_COMM_WORLD_LOCAL_RANK=str(rank),
        OMPI_COMM_WORLD_RANK=str(rank),
        OMPI_COMM_WORLD_SIZE=str(world_size),
    )
    dist.init_dist("mpi", backend="gloo")
    assert dist.get_dist_info() == (rank, world_size)
    assert os.environ["RANK"] == str(rank)
    assert os.environ["WORLD_SIZE"] == str(world_size)


def _check_launchers(rank: int, world_size: int, tmp_dir: str) -> None:
    slurm_port, mpi_port = _check_pytorch_launcher(rank, world_size)
    torch_dist.destroy_process_group()
    _check_slurm_launcher(rank, world_size, tmp_dir, str(slurm_port))
    torch_dist.destroy_process_group()
    _check_mpi_launcher(rank, world_size, str(mpi_port))


@pytest.mark.distributed
def test_init_dist_pytorch_slurm_and_mpi(tmp_path) -> None:
    script = tmp_path / "bin" / "scontrol"
    script.parent.mkdir()
    script.write_text(
        f'#!/bin/sh\necho "$@" > {tmp_path}/scontrol_args\necho 127.0.0.1\necho node2\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    run_in_processes(_check_launchers, 2, str(tmp_path), init_group=False)
