"""Every piston.dist function in a plain process without a process group."""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import pytest
import torch

import piston.dist as dist


def test_process_info_without_group() -> None:
    assert not dist.is_distributed()
    assert dist.get_rank() == 0
    assert dist.get_world_size() == 1
    assert dist.get_dist_info() == (0, 1)
    assert dist.is_main_process()
    assert dist.get_backend() is None
    assert dist.get_local_group() is None
    assert dist.get_local_size() == 1
    assert dist.get_local_rank() == 0
    assert dist.get_comm_device() == torch.device("cpu")
    dist.barrier()


def test_master_only_runs_in_single_process() -> None:
    @dist.master_only
    def answer(x: int) -> int:
        """Doc kept."""
        return x + 1

    assert answer(1) == 2
    assert answer.__doc__ == "Doc kept."


def test_collectives_fall_back() -> None:
    data = torch.tensor([1.0, 2.0])
    dist.all_reduce(data, op="mean")
    assert data.tolist() == [1.0, 2.0]
    assert dist.all_gather(data)[0] is data
    assert dist.gather(data)[0] is data
    dist.broadcast(data)
    assert data.tolist() == [1.0, 2.0]
    seed = dist.sync_random_seed()
    assert isinstance(seed, int)
    assert 0 <= seed < 2**31
    objs = ["a", {"b": 1}]
    dist.broadcast_object_list(objs)
    assert objs == ["a", {"b": 1}]
    tensors = {"a": torch.ones(2)}
    dist.all_reduce_dict(tensors)
    assert tensors["a"].tolist() == [1.0, 1.0]
    assert dist.all_gather_object({"x": 1}) == [{"x": 1}]
    assert dist.gather_object(3) == [3]
    assert dist.collect_results([1, 2, 3], 2) == [1, 2]
    assert dist.collect_results([1, 2, 3], 2, device="gpu") == [1, 2]
    assert dist.collect_results_cpu([1, 2, 3], 1) == [1]
    assert dist.collect_results_gpu([1, 2, 3], 3) == [1, 2, 3]
    model = torch.nn.Linear(2, 2)
    before = [p.clone() for p in model.parameters()]
    dist.all_reduce_params(model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_argument_errors_without_group() -> None:
    with pytest.raises(ValueError, match="reduce op"):
        dist.all_reduce(torch.ones(1), op="median")
    with pytest.raises(AssertionError, match="list"):
        dist.broadcast_object_list(("a",))
    with pytest.raises(NotImplementedError, match="device"):
        dist.collect_results([1], 1, device="tpu")
    with pytest.raises(AssertionError, match="tmpdir"):
        dist.collect_results([1], 1, device="gpu", tmpdir="/tmp/x")


def test_infer_launcher(monkeypatch) -> None:
    for key in ("WORLD_SIZE", "SLURM_NTASKS", "OMPI_COMM_WORLD_LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert dist.infer_launcher() == "none"
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0")
    assert dist.infer_launcher() == "mpi"
    monkeypatch.setenv("SLURM_NTASKS", "2")
    assert dist.infer_launcher() == "slurm"
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert dist.infer_launcher() == "pytorch"


def test_init_dist_argument_errors(monkeypatch) -> None:
    with pytest.raises(ValueError, match="Invalid launcher type: local"):
        dist.init_dist("local", backend="gloo")
    with pytest.raises(TypeError, match="timeout"):
        dist.init_dist("pytorch", backend="gloo", timeout="30")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with pytest.raises(KeyError, match="torchrun"):
        dist.init_dist("pytorch", backend="gloo")
    with pytest.raises(ValueError, match="init_backend"):
        dist.init_dist("pytorch", backend="gloo", init_backend="horovod")
    assert not dist.is_distributed()


def test_init_dist_mpi_requires_master_addr(monkeypatch) -> None:
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0")
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "1")
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "0")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(KeyError, match="MASTER_ADDR"):
        dist.init_dist("mpi", backend="gloo")
    assert os.environ["MASTER_PORT"] == "29500"


def test_get_data_device() -> None:
    cpu = torch.device("cpu")
    assert dist.get_data_device(torch.ones(1)) == cpu
    assert dist.get_data_device([torch.ones(1), (torch.zeros(2),)]) == cpu
    assert dist.get_data_device({"a": torch.ones(1), "b": [torch.ones(1)]}) == cpu
    with pytest.raises(ValueError, match="empty"):
        dist.get_data_device([])
    with pytest.raises(TypeError, match="Tensor"):
        dist.get_data_device(1)
    with pytest.raises(ValueError, match="consistent"):
        dist.get_data_device([torch.ones(1), torch.ones(1, device="meta")])


def test_cast_data_device() -> None:
    meta = torch.device("meta")
    data = OrderedDict(a=torch.ones(2), b=[torch.zeros(1), (torch.ones(3),)])
    moved = dist.cast_data_device(data, meta)
    assert isinstance(moved, OrderedDict)
    assert moved["a"].device == meta
    assert isinstance(moved["b"][1], tuple)
    assert moved["b"][1][0].device == meta

    out = {"x": torch.zeros(2), "y": [torch.zeros(1)]}
    result = dist.cast_data_device(
        {"x": torch.tensor([1.0, 2.0]), "y": [torch.tensor([3.0])]}, torch.device("cpu"), out
    )
    assert result["x"] is out["x"]
    assert out["x"].tolist() == [1.0, 2.0]
    assert out["y"][0].tolist() == [3.0]

    with pytest.raises(TypeError, match="set"):
        dist.cast_data_device({torch.ones(1)}, meta)
    with pytest.raises(TypeError, match="same type"):
        dist.cast_data_device(torch.ones(1), meta, out=[torch.ones(1)])
    with pytest.raises(ValueError, match="length"):
        dist.cast_data_device([torch.ones(1)], meta, out=[torch.ones(1), torch.ones(1)])
    with pytest.raises(TypeError, match="Tensor"):
        dist.cast_data_device([1], meta)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cast_data_device_to_cuda_and_back() -> None:
    data = {"a": torch.arange(4.0)}
    on_gpu = dist.cast_data_device(data, torch.device("cuda"))
    assert on_gpu["a"].is_cuda
    out = {"a": torch.zeros(4)}
    dist.cast_data_device(on_gpu, torch.device("cpu"), out)
    assert out["a"].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert dist.get_data_device(on_gpu).type == "cuda"


def test_get_comm_device_follows_the_backend(monkeypatch) -> None:
    import piston.dist.utils as dist_utils

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    expected = {
        "nccl": torch.device("cuda", 1),
        "smddp": torch.device("cuda", 1),  # SageMaker data parallel communicates on CUDA
        "gloo": torch.device("cpu"),
        "mpi": torch.device("cpu"),
    }
    for backend, device in expected.items():
        monkeypatch.setattr(dist_utils, "get_backend", lambda group=None, b=backend: b)
        assert dist.get_comm_device() == device, backend


def test_init_dist_pytorch_in_a_world_of_one(monkeypatch) -> None:
    """Real group of one: the start method becomes 'spawn' and ``timeout`` seconds reach torch."""
    import datetime

    import torch.distributed as torch_dist
    from _dist import free_port

    import piston.dist.utils as dist_utils

    started: list[str] = []
    monkeypatch.setattr(dist_utils.mp, "get_start_method", lambda allow_none=False: None)
    monkeypatch.setattr(dist_utils.mp, "set_start_method", started.append)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    dist.init_dist("pytorch", backend="gloo", timeout=7)
    assert started == ["spawn"]
    assert dist.get_dist_info() == (0, 1)
    backend = torch_dist.distributed_c10d._get_default_group()._get_backend(torch.device("cpu"))
    assert backend.options._timeout == datetime.timedelta(seconds=7)


def test_init_dist_slurm_without_scontrol_says_what_to_set(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no scontrol on PATH
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NTASKS", "1")
    monkeypatch.setenv("SLURM_NODELIST", "node[1-2]")
    with pytest.raises(RuntimeError, match="set MASTER_ADDR"):
        dist.init_dist("slurm", backend="gloo")
    assert not dist.is_distributed()


def test_init_dist_mpi_smddp_without_sagemaker(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "smdistributed", None)
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0")
    with pytest.raises(ModuleNotFoundError, match="SageMaker"):
        dist.init_dist("mpi", backend="smddp")


@pytest.mark.parametrize("init_backend", ["deepspeed", "colossalai"])
def test_init_dist_missing_init_backend_package(monkeypatch, init_backend) -> None:
    monkeypatch.setitem(sys.modules, init_backend, None)
    monkeypatch.setenv("LOCAL_RANK", "0")
    with pytest.raises(ImportError, match=f"pip install {init_backend}"):
        dist.init_dist("pytorch", backend="gloo", init_backend=init_backend)
    assert not dist.is_distributed()
