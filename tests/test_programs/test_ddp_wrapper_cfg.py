"""``model_wrapper_cfg`` as mmdet configs set it for models with an unused branch.

Two gloo processes train a model whose auxiliary head only runs in ``predict`` mode, with
``model_wrapper_cfg=dict(type='MMDistributedDataParallel', find_unused_parameters=True,
detect_anomalous_params=True)``; the program checks the wrapper type and its DDP options,
the ERROR lines naming the unused parameters in the log, that the ranks stay in sync, and
the SyncBN helpers.
"""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _dist import run_in_processes

from piston.config import Config
from piston.model import (
    BaseModel,
    MMDistributedDataParallel,
    convert_sync_batchnorm,
    is_model_wrapper,
    revert_sync_batchnorm,
)
from piston.registry import MODEL_WRAPPERS, MODELS, Registry
from piston.runner import Runner


@MODELS.register_module(force=True)
class BranchyNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(4, 4)
        self.stem.requires_grad_(False)  # frozen: never reported as anomalous
        self.backbone = nn.Linear(4, 4)
        self.head = nn.Linear(4, 2)
        self.aux_head = nn.Linear(4, 2)  # never used by the loss

    def forward(self, inputs, labels=None, mode="tensor"):
        feat = self.backbone(self.stem(torch.stack(inputs))).relu()
        if mode == "loss":
            return dict(loss_cls=F.cross_entropy(self.head(feat), torch.stack(labels)))
        return [self.head(feat) + self.aux_head(feat)]


def _data(seed: int) -> list[dict]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 4, generator=gen)
    return [dict(inputs=x[i], labels=(x[i, 0] > 0).long()) for i in range(8)]


def _worker(rank: int, world_size: int, work_dir: str) -> None:
    cfg = dict(
        model=dict(type="BranchyNet"),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_data(0),
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=True),
            collate_fn=dict(type="pseudo_collate"),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        model_wrapper_cfg=dict(
            type="MMDistributedDataParallel",
            find_unused_parameters=True,
            detect_anomalous_params=True,
        ),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        randomness=dict(seed=0),
    )
    runner = Runner.from_cfg(Config(cfg))
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert is_model_wrapper(runner.model)
    assert runner.model.find_unused_parameters is True
    assert runner.model.detect_anomalous_params is True
    runner.train()
    assert runner.iter == 2
    state = {k: v.tolist() for k, v in runner.model.module.state_dict().items()}
    with open(os.path.join(work_dir, f"state{rank}.json"), "w") as f:
        json.dump(state, f)


@pytest.mark.distributed
def test_model_wrapper_cfg_unused_branch(tmp_path) -> None:
    work_dir = str(tmp_path)
    run_in_processes(_worker, 2, work_dir, init_group=False, timeout_s=120)
    states = []
    for r in range(2):
        with open(os.path.join(work_dir, f"state{r}.json")) as f:
            states.append(json.load(f))
    assert states[0] == states[1]
    logs = glob.glob(os.path.join(work_dir, "*", "*.log"))
    assert len(logs) == 1  # only rank 0 writes the log file
    text = Path(logs[0]).read_text()
    for name, shape in (
        ("aux_head.weight", "torch.Size([2, 4])"),
        ("aux_head.bias", "torch.Size([2])"),
    ):
        assert f"{name} with shape {shape} is not in the computational graph" in text
    assert "backbone.weight with shape" not in text
    assert "stem.weight with shape" not in text
    assert text.count("is not in the computational graph") == 2 * 2  # two params, two iters


def test_wrapper_helpers() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Sequential(nn.BatchNorm1d(4)))
    with torch.no_grad():
        model[1].weight.fill_(2.0)
        model[1].running_mean.fill_(0.5)
    model.eval()
    synced = convert_sync_batchnorm(model)
    assert isinstance(synced[1], nn.SyncBatchNorm)
    assert isinstance(synced[2][0], nn.SyncBatchNorm)
    assert torch.all(synced[1].weight == 2.0)
    reverted = revert_sync_batchnorm(synced)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in reverted.modules())
    bn = reverted[1]
    assert isinstance(bn, nn.modules.batchnorm._BatchNorm)
    assert torch.all(bn.weight == 2.0)
    assert torch.all(bn.running_mean == 0.5)
    assert bn.training is False
    # the reverted BN accepts any input rank (SyncBN-converted 1d/2d alike)
    out = reverted(torch.rand(2, 3, 5, 5))
    assert out.shape == (2, 4, 5, 5)
    reverted[2](torch.rand(2, 4))
    with pytest.raises(ValueError):
        convert_sync_batchnorm(model, implementation="apex")

    # is_model_wrapper: plain modules are not, torch's DataParallel and downstream wrappers are
    assert not is_model_wrapper(model)
    assert is_model_wrapper(nn.DataParallel(model))
    child = Registry("model_wrapper", parent=MODEL_WRAPPERS, scope="mmdet_like")

    @child.register_module()
    class MyWrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    assert is_model_wrapper(MyWrapper(model))
