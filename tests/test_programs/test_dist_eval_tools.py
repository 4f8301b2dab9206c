"""A tools script that evaluates a model in parallel with piston.dist, as MMEngine users write.

Two real gloo processes: each rank scores its shard, results are collected on rank 0 in
dataset order (cpu through a shared tmpdir and "gpu" through object collectives), metrics are
reduced with ``all_reduce``/``all_reduce_dict`` and model buffers are synchronised with
``all_reduce_params``.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn as nn
from _dist import run_in_processes

from piston import dist


def _scores(rank: int, world_size: int, n: int) -> list[dict]:
    # A DistributedSampler-like split without padding: rank r gets r, r+ws, ...
    return [{"idx": i, "score": float(i) * 0.5} for i in range(rank, n, world_size)]


def _eval_worker(rank: int, world_size: int, tmpdir: str) -> None:
    assert dist.get_dist_info() == (rank, world_size)
    assert dist.is_distributed()
    assert dist.is_main_process() is (rank == 0)
    assert dist.get_backend() == "gloo"
    assert dist.get_comm_device() == torch.device("cpu")

    @dist.master_only
    def write_summary(path: str) -> str:
        with open(path, "w") as f:
            f.write("summary")
        return "written"

    out = write_summary(os.path.join(tmpdir, "summary.txt"))
    assert out == ("written" if rank == 0 else None)
    dist.barrier()
    assert os.listdir(tmpdir) == ["summary.txt"]
    dist.barrier()

    # uneven parts: 7 samples over 2 ranks -> 4 / 3
    part = _scores(rank, world_size, 7)
    shared = os.path.join(tmpdir, "collect")
    cpu = dist.collect_results(part, 7, device="cpu", tmpdir=shared)
    gpu = dist.collect_results(part, 7, device="gpu")
    auto = dist.collect_results(part, 7)  # tmpdir under ./.dist_test
    if rank == 0:
        for got in (cpu, gpu, auto):
            assert [r["idx"] for r in got] == list(range(7))
        assert not os.path.exists(shared)  # rank 0 cleans the shared dir
    else:
        assert cpu is None
        assert gpu is None
        assert auto is None
    with pytest.raises(AssertionError):
        dist.collect_results(part, 7, device="gpu", tmpdir=shared)
    with pytest.raises(NotImplementedError):
        dist.collect_results(part, 7, device="tpu")

    # metric reduction as a tools script does it
    correct = torch.tensor([rank + 1.0])
    dist.all_reduce(correct)
    assert correct.item() == 3.0
    mean = torch.tensor([float(rank)])
    dist.all_reduce(mean, op="mean")
    assert mean.item() == pytest.approx(0.5)
    imax = torch.tensor([rank * 10], dtype=torch.int64)
    dist.all_reduce(imax, op="MAX")
    assert imax.item() == 10
    with pytest.raises(ValueError):
        dist.all_reduce(torch.zeros(1), op="avg")

    stats = {"b_loss": torch.tensor([1.0 + rank, 2.0]), "a_acc": torch.tensor(float(rank))}
    dist.all_reduce_dict(stats, op="mean")
    assert torch.allclose(stats["b_loss"], torch.tensor([1.5, 2.0]))
    assert stats["a_acc"].shape == torch.Size([])
    assert stats["a_acc"].item() == 0.5

    gathered = dist.all_gather(torch.tensor([rank, rank * 2]))
    assert [g.tolist() for g in gathered] == [[0, 0], [1, 2]]
    objs = dist.all_gather_object({"rank": rank, "names": ["x"] * rank})
    assert objs == [{"rank": 0, "names": []}, {"rank": 1, "names": ["x"]}]
    g = dist.gather(torch.tensor([float(rank)]), dst=0)
    assert ([t.item() for t in g] if rank == 0 else g) == ([0.0, 1.0] if rank == 0 else [])
    go = dist.gather_object(f"r{rank}", dst=1)
    assert go == (["r0", "r1"] if rank == 1 else None)

    t = torch.full((3,), float(rank))
    dist.broadcast(t, src=1)
    assert t.tolist() == [1.0, 1.0, 1.0]
    meta = [{"classes": ("cat", "dog")}, None] if rank == 0 else [None, None]
    dist.broadcast_object_list(meta)
    assert meta == [{"classes": ("cat", "dog")}, None]

    seeds = dist.all_gather_object(dist.sync_random_seed())
    assert seeds[0] == seeds[1]
    assert 0 <= seeds[0] < 2**31

    # BN running stats synchronised after precise-BN-like statistics collection
    torch.manual_seed(rank)
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    model[1].running_mean.fill_(float(rank))
    model[1].num_batches_tracked.fill_(rank + 1)
    dist.all_reduce_params(model.buffers(), op="mean")
    assert model[1].running_mean.tolist() == [0.5, 0.5]
    assert model[1].num_batches_tracked.item() == 1  # int64 mean floors 3/2
    dist.all_reduce_params(model.parameters(), coalesce=False)
    weights = dist.all_gather(model[0].weight.detach())
    assert torch.equal(weights[0], weights[1])

    data = {"img": torch.ones(2), "metas": [torch.zeros(1)]}
    moved = dist.cast_data_device(data, torch.device("cpu"))
    assert moved["metas"][0].device.type == "cpu"
    assert dist.get_data_device(moved) is not None


@pytest.mark.distributed
def test_parallel_eval_tools_script(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    shared = tmp_path / "shared"
    shared.mkdir()
    run_in_processes(_eval_worker, 2, str(shared))
    # the auto tmpdir lives under ./.dist_test and is removed after collection
    assert (tmp_path / ".dist_test").is_dir()
    assert list((tmp_path / ".dist_test").iterdir()) == []


def test_single_process_fallbacks() -> None:
    assert dist.get_dist_info() == (0, 1)
    assert dist.is_main_process()
    assert dist.get_backend() is None
    assert dist.collect_results([1, 2, 3], 2) == [1, 2]
    assert dist.collect_results([1, 2, 3], 2, device="gpu") == [1, 2]
    t = torch.tensor([2.0])
    dist.all_reduce(t, op="mean")
    assert t.item() == 2.0
    assert dist.all_gather_object("a") == ["a"]
    assert dist.gather_object("a") == ["a"]
    assert dist.master_only(lambda: 5)() == 5
    assert isinstance(dist.sync_random_seed(), int)
