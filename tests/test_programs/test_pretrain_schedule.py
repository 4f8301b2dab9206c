"""An mmpretrain-style schedule from a config: ``paramwise_cfg`` (custom_keys, decay mults),
``auto_scale_lr`` enabled in the config itself, a warm-up converted to iterations
(``convert_to_iter_based=True``) and a top-level ``data_preprocessor`` merged into the model.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseModel
from piston.registry import DATASETS, MODELS


@MODELS.register_module()
class SchedClassifier(BaseModel):
    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.backbone = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8))
        self.head = nn.Linear(8, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(self.backbone(inputs).relu())
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits, data_samples


@DATASETS.register_module()
class Vectors(Dataset):
    def __init__(self, size=16):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen) * 10 + 5
        self.y = (self.x[:, 0] > 5).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])
"""

CONFIG = """
custom_imports = dict(imports=['pretrain_sched_project'], allow_failed_imports=False)
data_preprocessor = dict(type='BaseDataPreprocessor')
model = dict(type='SchedClassifier')
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='Vectors', size=16),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.25, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=2, by_epoch=True, begin=1, end=3, eta_min=0.0),
]
train_cfg = dict(by_epoch=True, max_epochs=3)
auto_scale_lr = dict(base_batch_size=4, enable=True)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
randomness = dict(seed=0)
"""


def test_pretrain_style_schedule(tmp_path, monkeypatch) -> None:
    (tmp_path / "pretrain_sched_project.py").write_text(PROJECT)
    (tmp_path / "sched.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / "sched.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    assert type(runner.model.data_preprocessor).__name__ == "BaseDataPreprocessor"
    runner.train()

    # groups in named_parameters order: backbone.0.{weight,bias}, backbone.1.{weight,bias},
    # head.{weight,bias}; initial_lr is the scaled lr (x2 for batch 8 over base 4)
    groups = runner.optim_wrapper.optimizer.param_groups
    initial = [g["initial_lr"] for g in groups]
    assert initial == pytest.approx([0.02, 0.02, 0.02, 0.02, 0.2, 0.2])
    # custom_keys win over the decay mults (backbone bias/norm keep weight_decay)
    decay = [g["weight_decay"] for g in groups]
    assert decay == pytest.approx([1e-4, 1e-4, 1e-4, 1e-4, 1e-4, 0.0])
    # with several groups the wrapper adds the base settings as a last, scheduled group
    assert len(runner.optim_wrapper.param_groups) == 7
    assert set(runner.optim_wrapper.get_lr()) == {"base_lr", "lr"}

    (stamp,) = [d for d in os.listdir(cfg.work_dir) if d[0].isdigit()]
    with open(os.path.join(cfg.work_dir, stamp, "vis_data", "scalars.json")) as f:
        rows = [json.loads(line) for line in f]
    # logged lr is the first group's (backbone: 0.02 after scaling); warm-up over 2 iters of
    # epoch 1 (0.25 -> 1.0, reached at iter end - 1), then cosine over epochs 2-3
    lrs = [r["lr"] for r in rows]
    assert lrs[0] == pytest.approx(0.005)
    assert lrs[1] == pytest.approx(0.02)
    assert lrs[2:4] == pytest.approx([0.02, 0.02])
    assert lrs[4:6] == pytest.approx([0.01, 0.01])
    with open(os.path.join(cfg.work_dir, stamp, f"{stamp}.log")) as f:
        log = f.read()
    assert "Scaling the original LR by 2.0" in log
    assert "paramwise_options -- backbone.0.weight:lr=0.01" in log or "lr_mult=0.1" in log
    ckpt = torch.load(os.path.join(cfg.work_dir, "epoch_3.pth"), weights_only=False)
    assert len(ckpt["optimizer"]["param_groups"]) == 6
