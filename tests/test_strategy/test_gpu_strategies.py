"""FlexibleRunner + SingleDeviceStrategy on CUDA: the model lives on the GPU, checkpoints hold
CPU tensors, and ``resume`` maps them back to the device (``map_location='default'``).

These run only where a CUDA device is present (``-m gpu``); CI has none.
"""

from __future__ import annotations

import os

import pytest
import torch
from test_runner._toy import ToyMetric, ToyModel, loader_cfg

from piston.runner import FlexibleRunner

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]


def _runner(work_dir, max_epochs: int, **kwargs) -> FlexibleRunner:
    return FlexibleRunner(
        {"type": ToyModel},
        work_dir=str(work_dir),
        train_dataloader=loader_cfg(),
        val_dataloader=loader_cfg(shuffle=False),
        train_cfg={"by_epoch": True, "max_epochs": max_epochs},
        val_cfg={},
        val_evaluator={"type": ToyMetric},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
        default_hooks={"checkpoint": {"type": "CheckpointHook", "interval": 1}},
        randomness={"seed": 1},
        **kwargs,
    )


def test_single_device_strategy_on_cuda(tmp_path) -> None:
    runner = _runner(tmp_path, max_epochs=1)
    runner.train()
    assert runner.model.linear.weight.device.type == "cuda"
    ckpt = torch.load(os.path.join(tmp_path, "epoch_1.pth"), weights_only=True)
    assert ckpt["state_dict"]["linear.weight"].device.type == "cpu"

    resumed = _runner(tmp_path, max_epochs=2, resume=True)
    resumed.train()
    assert resumed.epoch == 2
    assert resumed.model.linear.weight.device.type == "cuda"
    state = resumed.optim_wrapper.optimizer.state_dict()["state"]
    assert all(s["momentum_buffer"].device.type == "cuda" for s in state.values())
