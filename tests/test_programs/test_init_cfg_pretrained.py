"""Weight init from configs, as mmdet/mmseg models declare it.

A detector-like model whose backbone carries ``init_cfg=dict(type='Pretrained',
checkpoint=..., prefix='backbone.')`` (weights taken from a previous run's checkpoint) and
whose neck/head use ``Kaiming``/``Constant``/``Normal`` with ``override``; the runner calls
``init_weights()`` at the start of training, and ``load_from`` takes precedence afterwards.
"""

from __future__ import annotations

import glob
import os

import torch

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseModel, BaseModule
from piston.registry import DATASETS, MODELS


@MODELS.register_module()
class ConvBackbone(BaseModule):
    def __init__(self, width=4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv = nn.Conv2d(1, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)

    def forward(self, x):
        return self.bn(self.conv(x)).relu()


@MODELS.register_module()
class ClsHead(BaseModule):
    def __init__(self, width=4, num_classes=2, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(width, num_classes)
        self.aux = nn.Linear(width, num_classes)

    def forward(self, feats):
        return self.fc(feats.mean((2, 3))) + 0 * self.aux(feats.mean((2, 3)))


@MODELS.register_module()
class Detectorish(BaseModel):
    def __init__(self, backbone, head, init_cfg=None, data_preprocessor=None):
        super().__init__(init_cfg=init_cfg, data_preprocessor=data_preprocessor)
        self.backbone = MODELS.build(backbone)
        self.head = MODELS.build(head)

    def forward(self, inputs, labels=None, mode='tensor'):
        logits = self.head(self.backbone(inputs))
        if mode == 'loss':
            return dict(loss_cls=F.cross_entropy(logits, labels))
        return logits, labels


@DATASETS.register_module()
class Patches(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 1, 4, 4, generator=gen)
        self.y = (self.x.mean((1, 2, 3)) > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])
"""

CONFIG = """
custom_imports = dict(imports=['initcfg_project'], allow_failed_imports=False)
model = dict(
    type='Detectorish',
    backbone=dict(type='ConvBackbone', width=4),
    head=dict(
        type='ClsHead', width=4,
        init_cfg=dict(type='Normal', layer='Linear', std=0.01, bias=0.5,
                      override=dict(type='Constant', name='aux', val=0.25, bias=0.0))))
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='Patches', size=8),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.0))
randomness = dict(seed=0)
"""


def test_pretrained_backbone_and_override_init(tmp_path, monkeypatch) -> None:
    (tmp_path / "initcfg_project.py").write_text(PROJECT)
    (tmp_path / "cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))

    # a "pretraining" run whose backbone we reuse
    pre_cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    pre_cfg.work_dir = str(tmp_path / "pre")
    pre_cfg.optim_wrapper.optimizer.lr = 0.1
    pre = Runner.from_cfg(pre_cfg)
    pre.train()
    pre_ckpt = os.path.join(pre_cfg.work_dir, "epoch_1.pth")
    pre_state = torch.load(pre_ckpt, weights_only=False)["state_dict"]

    cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg.merge_from_dict(
        {
            "model.backbone.init_cfg": dict(
                type="Pretrained", checkpoint=pre_ckpt, prefix="backbone."
            ),
            "model.backbone.width": 4,
        }
    )
    cfg.work_dir = str(tmp_path / "ft")
    runner = Runner.from_cfg(cfg)
    runner.train()  # lr 0: the weights stay as initialized
    model = runner.model
    assert torch.equal(model.backbone.conv.weight, pre_state["backbone.conv.weight"])
    assert torch.equal(model.backbone.bn.weight, pre_state["backbone.bn.weight"])
    assert torch.all(model.head.fc.bias == 0.5)
    assert model.head.fc.weight.std() < 0.05
    assert torch.all(model.head.aux.weight == 0.25)
    assert torch.all(model.head.aux.bias == 0)
    assert model.backbone.is_init
    assert model.head.is_init
    (log_file,) = glob.glob(os.path.join(cfg.work_dir, "*", "*.log"))
    with open(log_file) as f:
        log = f.read()
    assert "head.aux.weight - torch.Size([2, 4]): \nConstantInit: val=0.25, bias=0.0" in log
    assert "head.fc.bias - torch.Size([2]): \nNormalInit: mean=0, std=0.01, bias=0.5" in log

    # load_from is applied after init_weights and wins over the initializers
    cfg2 = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg2.work_dir = str(tmp_path / "ft2")
    cfg2.load_from = pre_ckpt
    runner2 = Runner.from_cfg(cfg2)
    runner2.train()
    assert torch.equal(runner2.model.head.fc.bias, pre_state["head.fc.bias"])
    assert torch.equal(runner2.model.head.aux.weight, pre_state["head.aux.weight"])
