"""The fast path's optimizer wrapper: bf16 autocast with no GradScaler (no per-step sync)."""

from __future__ import annotations

import torch
from torch import nn

import piston.optim.optimizer.amp_optimizer_wrapper as amp_module
from piston.optim import AmpOptimWrapper
from piston.registry import OPTIM_WRAPPERS
from piston.runner import _fast


def test_fast_cfg_builds_bf16_wrapper_without_scaler(monkeypatch) -> None:
    monkeypatch.setattr(_fast.torch.cuda, "is_available", lambda: True)
    cfg = {"optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}}}
    _fast.apply_fast_cfg(cfg)
    wrapper_cfg = cfg["optim_wrapper"]
    assert wrapper_cfg["type"] == "AmpOptimWrapper"
    assert wrapper_cfg["dtype"] == "bfloat16"
    assert wrapper_cfg["loss_scale"] is None
    assert cfg["env_cfg"] == {"dist_cfg": {"backend": "nccl"}, "cudnn_benchmark": True}
    own = {"optim_wrapper": {"optimizer": {}}, "env_cfg": {"cudnn_benchmark": False}}
    _fast.apply_fast_cfg(own)
    assert own["env_cfg"] == {"cudnn_benchmark": False}  # what the config says wins
    monkeypatch.undo()
    # Build it (on the CPU, where bf16 autocast exists) and check no scaler is active.
    monkeypatch.setattr(amp_module, "_resolve_device", lambda: "cpu")
    model = nn.Linear(4, 1)
    wrapper_cfg["optimizer"] = torch.optim.SGD(model.parameters(), lr=0.1)
    wrapper = OPTIM_WRAPPERS.build(wrapper_cfg)
    assert isinstance(wrapper, AmpOptimWrapper)
    assert not wrapper.loss_scaler.is_enabled()
    with wrapper.optim_context(model):
        loss = model(torch.randn(2, 4)).float().sum()
    before = model.weight.detach().clone()
    wrapper.update_params(loss)
    assert not torch.equal(before, model.weight)
