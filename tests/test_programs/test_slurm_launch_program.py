"""A tools script launched with ``srun ... python tools/test.py --launcher slurm``.

Two processes see only the SLURM environment (no ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``);
``init_dist('slurm', backend='gloo', port=...)`` resolves the master host with
``scontrol show hostname`` (a stand-in script on ``PATH``), exports the torch variables and
joins the group; then the script evaluates a shard per rank and collects the results.
"""

from __future__ import annotations

import os
import stat

import pytest
import torch
from _dist import free_port, run_in_processes

from piston import dist


def _srun_worker(rank: int, world_size: int, bin_dir: str, port: int, out_dir: str) -> None:
    for key in (
        "RANK",
        "LOCAL_RANK",
        "WORLD_SIZE",
        "LOCAL_WORLD_SIZE",
        "MASTER_ADDR",
        "MASTER_PORT",
    ):
        os.environ.pop(key, None)
    os.environ.update(
        SLURM_PROCID=str(rank),
        SLURM_NTASKS=str(world_size),
        SLURM_NODELIST="node[1-2]",
        SLURM_LOCALID=str(rank),
        PATH=bin_dir + os.pathsep + os.environ["PATH"],
    )
    assert dist.infer_launcher() == "slurm"
    dist.init_dist("slurm", backend="gloo", port=port, timeout=60)
    assert os.environ["MASTER_ADDR"] == "127.0.0.1"  # first host printed by scontrol
    assert os.environ["MASTER_PORT"] == str(port)
    assert (os.environ["RANK"], os.environ["WORLD_SIZE"], os.environ["LOCAL_RANK"]) == (
        str(rank),
        str(world_size),
        str(rank),
    )
    assert dist.get_dist_info() == (rank, world_size)
    assert dist.infer_launcher() == "pytorch"  # WORLD_SIZE is now exported
    part = [rank * 100 + i for i in range(3 - rank)]  # 3 + 2 results
    results = dist.collect_results(part, 5, device="cpu", tmpdir=os.path.join(out_dir, "tmp"))
    total = torch.tensor(float(len(part)))
    dist.all_reduce(total)
    if dist.is_main_process():
        assert results == [0, 100, 1, 101, 2]
        with open(os.path.join(out_dir, "done.txt"), "w") as f:
            f.write(f"{int(total.item())}\n")


@pytest.mark.distributed
def test_srun_launch(tmp_path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(
        '#!/bin/sh\n[ "$1 $2 $3" = "show hostname node[1-2]" ] || exit 3\n'
        "echo 127.0.0.1\necho node2\n"
    )
    scontrol.chmod(scontrol.stat().st_mode | stat.S_IEXEC)
    run_in_processes(_srun_worker, 2, str(bin_dir), free_port(), str(tmp_path), init_group=False)
    assert (tmp_path / "done.txt").read_text() == "5\n"
    assert not (tmp_path / "tmp").exists()
