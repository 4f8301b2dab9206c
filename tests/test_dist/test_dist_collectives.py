"""piston.dist primitives in two real gloo processes.

Spawning costs ~3 s per run, so each worker checks a group of related primitives.
"""

from __future__ import annotations

import os

import pytest
import torch
from _dist import run_in_processes

import piston.dist as dist


def _check_process_info_and_tensor_collectives(rank: int, world_size: int) -> None:
    _check_group_arguments(rank)
    assert dist.is_distributed()
    assert dist.get_rank() == rank
    assert dist.get_world_size() == world_size
    assert dist.get_dist_info() == (rank, world_size)
    assert dist.is_main_process() == (rank == 0)
    assert dist.get_backend() == "gloo"
    assert dist.get_default_group() is not None
    assert dist.get_comm_device() == torch.device("cpu")

    @dist.master_only
    def on_master() -> str:
        return "ran"

    assert on_master() == ("ran" if rank == 0 else None)
    dist.barrier()

    # all_reduce with every op; rank r holds r + 1 (ints for the bit ops)
    expected = {"sum": 3.0, "mean": 1.5, "product": 2.0, "min": 1.0, "max": 2.0}
    for op, value in expected.items():
        data = torch.tensor([float(rank + 1)])
        dist.all_reduce(data, op=op.upper() if op == "max" else op)
        assert data.item() == value, op
    for op, value in {"band": 0b01 & 0b10, "bor": 0b11, "bxor": 0b11}.items():
        data = torch.tensor([rank + 1])
        dist.all_reduce(data, op=op)
        assert data.item() == value, op
    with pytest.raises(ValueError, match="reduce op"):
        dist.all_reduce(torch.ones(1), op="median")
    # integer mean: the true quotient written back into the int tensor, truncated toward zero
    data = torch.tensor([-3, 3]) if rank == 0 else torch.tensor([0, 0])
    dist.all_reduce(data, op="mean")
    assert data.tolist() == [-1, 1]
    assert data.dtype == torch.int64
    # a non-contiguous view is reduced in place too
    base = torch.arange(6.0).reshape(2, 3) * (rank + 1)
    view = base.t()
    dist.all_reduce(view)
    assert base.tolist() == [[0.0, 3.0, 6.0], [9.0, 12.0, 15.0]]

    gathered = dist.all_gather(torch.tensor([rank, rank * 10]))
    assert [t.tolist() for t in gathered] == [[0, 0], [1, 10]]

    to_dst = dist.gather(torch.tensor([float(rank)]), dst=1)
    assert [t.tolist() for t in to_dst] == ([[0.0], [1.0]] if rank == 1 else [])

    data = torch.full((3,), float(rank))
    dist.broadcast(data, src=1)
    assert data.tolist() == [1.0, 1.0, 1.0]

    seeds = dist.all_gather(torch.tensor([dist.sync_random_seed()]))
    assert seeds[0].item() == seeds[1].item()
    assert 0 <= seeds[0].item() < 2**31

    tensors = {"b": torch.tensor([float(rank)]), "a": torch.tensor([[1, 2]]) * (rank + 1)}
    dist.all_reduce_dict(tensors, op="sum")
    assert tensors["b"].tolist() == [1.0]
    assert tensors["a"].tolist() == [[3, 6]]
    assert tensors["a"].dtype == torch.int64
    tensors = {"x": torch.tensor([2.0 * rank])}
    dist.all_reduce_dict(tensors, op="mean")
    assert tensors["x"].tolist() == [1.0]

    for kwargs in ({}, {"coalesce": False}, {"bucket_size_mb": 1}):
        model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
        with torch.no_grad():
            for param in model.parameters():
                param.fill_(float(rank))
        model[1].num_batches_tracked.fill_(rank + 1)
        dist.all_reduce_params(model.parameters(), op="mean", **kwargs)
        dist.all_reduce_params(model.buffers(), op="sum", **kwargs)
        assert all(torch.all(p == 0.5) for p in model.parameters()), kwargs
        assert model[1].num_batches_tracked.item() == 3

    # the per-node group: each rank alone on its "node"
    with pytest.raises(RuntimeError, match="init_local_group"):
        dist.get_local_group()
    dist.init_local_group(node_rank=rank, num_gpus_per_node=1)
    assert dist.get_local_size() == 1
    assert dist.get_local_rank() == 0
    assert dist.get_local_group() is not None
    with pytest.raises(AssertionError, match="already"):
        dist.init_local_group(node_rank=rank, num_gpus_per_node=1)
    data = torch.tensor([float(rank)])
    dist.all_reduce(data, group=dist.get_local_group())
    assert data.item() == float(rank)
    # both ranks on one "node" of two: the local group is the ranks [0, 2)
    from piston.dist.utils import _reset_local_group

    _reset_local_group()
    dist.init_local_group(node_rank=0, num_gpus_per_node=2)
    assert (dist.get_local_rank(), dist.get_local_size()) == (rank, 2)
    data = torch.tensor([float(rank + 1)])
    dist.all_reduce(data, group=dist.get_local_group())
    assert data.item() == 3.0


def _check_group_arguments(rank: int) -> None:
    """Every collective honours an explicit ``group`` (here a new group of both ranks)."""
    import torch.distributed as torch_dist

    group = torch_dist.new_group([0, 1])
    assert dist.get_dist_info(group) == (rank, 2)
    assert dist.is_main_process(group) == (rank == 0)
    assert dist.get_backend(group) == "gloo"
    assert dist.get_comm_device(group) == torch.device("cpu")
    dist.barrier(group)
    data = torch.tensor([rank + 1.0])
    dist.all_reduce(data, op="max", group=group)
    assert data.item() == 2.0
    assert [t.item() for t in dist.all_gather(torch.tensor([rank]), group=group)] == [0, 1]
    gathered = dist.gather(torch.tensor([rank]), dst=1, group=group)
    assert [t.item() for t in gathered] == ([0, 1] if rank == 1 else [])
    data = torch.tensor([float(rank)])
    dist.broadcast(data, src=1, group=group)
    assert data.item() == 1.0
    seeds = dist.all_gather_object(dist.sync_random_seed(group), group=group)
    assert seeds[0] == seeds[1]
    objs = [f"rank {rank}"]
    dist.broadcast_object_list(objs, src=1, group=group)
    assert objs == ["rank 1"]
    assert dist.gather_object(rank, dst=1, group=group) == ([0, 1] if rank == 1 else None)
    tensors = {"x": torch.tensor([float(rank)])}
    dist.all_reduce_dict(tensors, op="sum", group=group)
    assert tensors["x"].item() == 1.0
    params = [torch.full((2,), float(rank))]
    dist.all_reduce_params(params, op="mean", group=group)
    assert params[0].tolist() == [0.5, 0.5]


def _check_object_collectives(rank: int, world_size: int, tmp_dir: str) -> None:
    objs = [{"rank": rank}, f"from {rank}", None]
    dist.broadcast_object_list(objs, src=0)
    assert objs == [{"rank": 0}, "from 0", None]

    assert dist.all_gather_object({"r": rank}) == [{"r": 0}, {"r": 1}]
    gathered = dist.gather_object([rank] * (rank + 1), dst=0)
    assert gathered == ([[0], [1, 1]] if rank == 0 else None)

    # a distributed sampler gives rank 0 samples 0, 2, 4 and rank 1 samples 1, 3, (0 padded)
    parts = {0: [0, 2, 4], 1: [1, 3, 0]}
    os.chdir(tmp_dir)  # tmpdir=None creates ./.dist_test/<tmp> in the working directory
    for kwargs in ({"device": "cpu"}, {"device": "cpu", "tmpdir": "shared_tmp"}, {"device": "gpu"}):
        collected = dist.collect_results(parts[rank], 5, **kwargs)
        assert collected == ([0, 1, 2, 3, 4] if rank == 0 else None), kwargs
        dist.barrier()
    assert not os.path.exists("shared_tmp")
    assert os.listdir(".dist_test") == []
    dist.barrier()  # rank 0 must not make the next temporary dir before rank 1 has looked
    # uneven parts with None fillers
    uneven = {0: ["a", "c"], 1: ["b"]}
    assert dist.collect_results_cpu(uneven[rank], 3) == (["a", "b", "c"] if rank == 0 else None)
    assert dist.collect_results_gpu(uneven[rank], 2) == (["a", "b"] if rank == 0 else None)

    # a directory that is not shared: rank 0 cannot find rank 1's part
    if rank == 0:
        with pytest.raises(FileNotFoundError, match="shared"):
            dist.collect_results_cpu([0], 2, tmpdir=f"not_shared_{rank}")
    else:
        dist.collect_results_cpu([1], 2, tmpdir=f"not_shared_{rank}")


@pytest.mark.distributed
def test_process_info_tensor_collectives_and_local_group() -> None:
    run_in_processes(_check_process_info_and_tensor_collectives, 2)


@pytest.mark.distributed
def test_object_collectives_and_collect_results(tmp_path) -> None:
    run_in_processes(_check_object_collectives, 2, str(tmp_path))
