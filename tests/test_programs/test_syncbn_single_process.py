"""A model built with ``SyncBN`` (``norm_cfg=dict(type='SyncBN')`` in mmdet/mmseg configs)
trained in a single non-distributed process: the runner reverts SyncBN to a BatchNorm that
runs on CPU, and the checkpoint loads back into the SyncBN model unchanged."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel
from piston.runner import Runner
from piston.runner.checkpoint import load_checkpoint


class SyncBNNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.SyncBatchNorm(4)
        self.neck = nn.Sequential(nn.Conv2d(4, 4, 1), nn.SyncBatchNorm(4, momentum=0.5))
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode="tensor"):
        x = self.neck(self.bn(self.conv(torch.stack(inputs)))).relu()
        logits = self.fc(x.mean((2, 3)))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, torch.stack(labels)))
        return [logits]


def _data() -> list[dict]:
    gen = torch.Generator().manual_seed(0)
    return [
        dict(inputs=torch.randn(3, 5, 5, generator=gen), labels=torch.tensor(i % 2))
        for i in range(8)
    ]


def test_syncbn_reverted_and_checkpoint_compatible(tmp_path) -> None:
    runner = Runner(
        model=SyncBNNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=_data(),
            batch_size=4,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
    )
    model = runner.model
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    assert isinstance(model.bn, nn.modules.batchnorm._BatchNorm)
    assert model.neck[1].momentum == 0.5
    runner.train()
    assert int(model.bn.num_batches_tracked) == 4
    assert not torch.all(model.bn.running_mean == 0)
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    assert (
        "SyncBatchNorm (SyncBN) layers in the model will be automatically reverted"
        in Path(log).read_text()
    )

    ckpt_path = os.path.join(str(tmp_path), "epoch_2.pth")
    ckpt = torch.load(ckpt_path, weights_only=False)
    fresh = SyncBNNet()
    assert set(ckpt["state_dict"]) == set(fresh.state_dict())
    load_checkpoint(fresh, ckpt_path, strict=True)
    assert isinstance(fresh.bn, nn.SyncBatchNorm)
    torch.testing.assert_close(fresh.bn.running_var, model.bn.running_var)
    torch.testing.assert_close(fresh.neck[1].weight, model.neck[1].weight)
    # the reverted model evaluates like plain BatchNorm with the same statistics
    model.eval()
    ref = nn.BatchNorm2d(4).eval()
    ref.load_state_dict(model.bn.state_dict())
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(model.bn(x), ref(x))
