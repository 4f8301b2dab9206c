"""DDPStrategy (strategy.md §4): signature, SyncBN conversion and errors, and FlexibleRunner
training in 2 real ``gloo`` processes whose process group the strategy itself initialises."""

from __future__ import annotations

import inspect
import os

import pytest
import torch
import torch.nn as nn
from _dist import run_in_processes
from test_runner._toy import ToyModel

from piston._strategy import DDPStrategy, SingleDeviceStrategy
from piston.registry import STRATEGIES


def test_signature_and_registration() -> None:
    params = inspect.signature(DDPStrategy.__init__).parameters
    assert params["model_wrapper"].kind is inspect.Parameter.KEYWORD_ONLY
    assert (params["model_wrapper"].default, params["sync_bn"].default) == (None, None)
    assert params["kwargs"].kind is inspect.Parameter.VAR_KEYWORD
    setup = inspect.signature(DDPStrategy._setup_distributed).parameters
    assert (setup["launcher"].default, setup["backend"].default) == ("pytorch", "nccl")
    assert STRATEGIES.get("DDPStrategy") is DDPStrategy
    assert issubclass(DDPStrategy, SingleDeviceStrategy)


def test_sync_bn_and_errors_without_a_group(tmp_path) -> None:
    strategy = DDPStrategy(work_dir=str(tmp_path), sync_bn="torch")
    assert strategy.model_wrapper == {
        "type": "MMDistributedDataParallel",
        "broadcast_buffers": False,
    }
    assert strategy.distributed is False  # launcher inferred 'none': no group
    model = strategy._convert_sync_bn(nn.Sequential(nn.BatchNorm1d(2)))
    assert isinstance(model[0], nn.SyncBatchNorm)
    with pytest.raises(RuntimeError, match="needs an initialised process group"):
        strategy.prepare(ToyModel())

    bad = DDPStrategy(work_dir=str(tmp_path / "bad"), experiment_name="bad", sync_bn="apex")
    with pytest.raises(ValueError, match='sync_bn should be "torch" or "mmcv"'):
        bad._convert_sync_bn(nn.Sequential(nn.BatchNorm1d(2)))
    (log_file,) = [h.baseFilename for h in bad.logger.handlers if hasattr(h, "baseFilename")]
    with open(log_file) as f:
        assert "ERROR" in f.read()
    with pytest.raises(TypeError, match="model_wrapper should be a dict"):
        DDPStrategy(work_dir=str(tmp_path), model_wrapper="MMDistributedDataParallel")


def _runner(work_dir: str, max_epochs: int, **kwargs):
    from test_runner._toy import ToyMetric, loader_cfg

    from piston.runner import FlexibleRunner

    return FlexibleRunner(
        {"type": ToyModel},
        work_dir=work_dir,
        train_dataloader=loader_cfg(batch_size=2, size=16),
        val_dataloader=loader_cfg(batch_size=2, size=8, shuffle=False),
        train_cfg={"by_epoch": True, "max_epochs": max_epochs},
        val_cfg={},
        val_evaluator={"type": ToyMetric},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
        param_scheduler={"type": "MultiStepLR", "milestones": [1]},
        auto_scale_lr={"enable": True, "base_batch_size": 8},
        default_hooks={"checkpoint": {"type": "CheckpointHook", "interval": 1}},
        env_cfg={"dist_cfg": {"backend": "gloo"}},
        randomness={"seed": 3},
        **kwargs,
    )


def _train_two_ranks(rank: int, world_size: int, work_dir: str) -> None:
    import torch.distributed as torch_dist

    from piston.dist import all_gather, all_gather_object
    from piston.model import MMDistributedDataParallel

    assert not torch_dist.is_initialized()
    runner = _runner(work_dir, max_epochs=2)  # launcher None -> 'pytorch' from WORLD_SIZE
    assert torch_dist.is_initialized()  # DDPStrategy._setup_distributed -> init_dist
    assert type(runner.strategy) is DDPStrategy
    assert (runner.launcher, runner.distributed) == ("pytorch", True)
    assert (runner.rank, runner.world_size) == (rank, world_size)
    assert len(set(all_gather_object(runner.timestamp))) == 1
    runner.train()
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model_name == "ToyModel"
    assert (runner.epoch, runner.iter) == (2, 8)  # 16 samples / 2 ranks / batch 2
    # lr 0.1 * (2 ranks * batch 2) / 8, then MultiStepLR(gamma=0.1) after epoch 1
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.005)
    weight = runner.model.module.linear.weight.detach()
    gathered = all_gather(weight)
    assert torch.equal(gathered[0], gathered[1])  # replicas stay in sync

    # cfg.activation_checkpointing applies to the DDP-wrapped model's inner module too
    cfg = {"activation_checkpointing": ["linear"]}
    resumed = _runner(work_dir, max_epochs=3, resume=True, cfg=cfg)
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (3, 12)
    gathered = all_gather(resumed.model.module.linear.weight.detach())
    assert torch.equal(gathered[0], gathered[1])
    with open(os.path.join(resumed.log_dir, f"{resumed.timestamp}.log")) as f:
        log = f.read() if rank == 0 else ""
    if rank == 0:
        assert "resumed epoch: 2, iter: 8" in log
        assert (
            "Enabling the \"activation_checkpointing\" feature for sub-modules: ['linear']" in log
        )


@pytest.mark.distributed
def test_flexible_runner_ddp_two_processes(tmp_path) -> None:
    work_dir = str(tmp_path / "wd")
    run_in_processes(_train_two_ranks, 2, work_dir, init_group=False)
    ckpts = sorted(f for f in os.listdir(work_dir) if f.endswith(".pth"))
    assert ckpts == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]  # written once, by rank 0
    ckpt = torch.load(os.path.join(work_dir, "epoch_3.pth"), weights_only=True)
    assert not any(k.startswith("module.") for k in ckpt["state_dict"])  # unwrapped
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"], ckpt["meta"]["seed"]) == (3, 12, 3)
