"""Program 6: a config-file project: ``_base_`` files, ``custom_imports``, ``Runner.from_cfg``."""

from __future__ import annotations

import glob
import os
import sys
import textwrap

import torch

from piston.config import Config
from piston.runner import Runner

PROJECT_MODULE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS


@MODELS.register_module()
class CfgNet(BaseModel):
    def __init__(self, in_dim=4, hidden=8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.net(inputs)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, labels))
        if mode == "predict":
            return logits, labels
        return logits


@DATASETS.register_module()
class CfgPoints(Dataset):
    METAINFO = dict(classes=("neg", "pos"))

    def __init__(self, size=16, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x.sum(1) > 0).long()
        self.metainfo = dict(self.METAINFO)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


@METRICS.register_module()
class CfgAcc(BaseMetric):
    default_prefix = "cls"

    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append(dict(hit=int((logits.argmax(1) == labels).sum()), n=len(labels)))

    def compute_metrics(self, results):
        return dict(acc=100.0 * sum(r["hit"] for r in results) / sum(r["n"] for r in results))
"""

SCHEDULE = """
lr = 0.1
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=1)
val_cfg = dict()
test_cfg = dict()
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=lr, momentum=0.9))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1, 8], gamma=0.1)]
"""

RUNTIME = """
default_scope = 'piston'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=2),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1, save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=2024)
log_level = 'INFO'
load_from = None
resume = False
"""

DATA = """
dataset_type = 'CfgPoints'
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(type=dataset_type, size=16, seed=0),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(type=dataset_type, size=8, seed=1),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
test_dataloader = val_dataloader
val_evaluator = dict(type='CfgAcc')
test_evaluator = val_evaluator
"""

MAIN = """
_base_ = ['./_base_/schedule.py', './_base_/runtime.py', './_base_/data.py']
custom_imports = dict(imports=['cfgprog_project'], allow_failed_imports=False)
model = dict(type='CfgNet', in_dim=4, hidden=8)
optim_wrapper = dict(optimizer=dict(lr=_base_.lr * 2))
train_dataloader = dict(batch_size=8)
"""


def _write_project(root) -> str:
    (root / "_base_").mkdir(parents=True)
    (root / "cfgprog_project.py").write_text(textwrap.dedent(PROJECT_MODULE))
    (root / "_base_" / "schedule.py").write_text(SCHEDULE)
    (root / "_base_" / "runtime.py").write_text(RUNTIME)
    (root / "_base_" / "data.py").write_text(DATA)
    (root / "cfg.py").write_text(MAIN)
    return str(root / "cfg.py")


def test_config_file_program(tmp_path, monkeypatch) -> None:
    cfg_file = _write_project(tmp_path / "proj")
    monkeypatch.syspath_prepend(str(tmp_path / "proj"))

    cfg = Config.fromfile(cfg_file)
    # _base_ merge: overridden keys change, siblings stay
    assert cfg.optim_wrapper.type == "OptimWrapper"
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=0.2, momentum=0.9)
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.dataset.type == "CfgPoints"
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1
    # a short debug run of the full schedule (milestone 8 then lies past the end)
    cfg.merge_from_dict({"train_cfg.max_epochs": 2})  # what --cfg-options does
    cfg.work_dir = str(tmp_path / "work_dirs" / "cfg")

    runner = Runner.from_cfg(cfg)
    runner.train()
    assert "cfgprog_project" in sys.modules
    assert type(runner.model).__name__ == "CfgNet"
    assert (runner.epoch, runner.iter) == (2, 4)
    work_dir = cfg.work_dir
    # max_keep_ckpts=1 keeps the last one; save_best='auto' keeps the best by cls/acc
    assert [os.path.basename(p) for p in glob.glob(os.path.join(work_dir, "epoch_*.pth"))] == [
        "epoch_2.pth"
    ]
    best = glob.glob(os.path.join(work_dir, "best_cls_acc_epoch_*.pth"))
    assert len(best) == 1
    # the config is dumped into the work_dir and reloads to the same settings
    dumped = Config.fromfile(os.path.join(work_dir, "cfg.py"))  # dumped under its own name
    assert dumped.optim_wrapper.optimizer.lr == 0.2
    assert dumped.train_cfg.max_epochs == 2
    assert dumped.model.type == "CfgNet"
    ckpt = torch.load(os.path.join(work_dir, "epoch_2.pth"), weights_only=False)
    assert ckpt["meta"]["dataset_meta"] == {"classes": ("neg", "pos")}
    assert ckpt["meta"]["cfg"].count("CfgNet") >= 1
    # lr: 0.2 for the first epoch, then MultiStepLR's milestone 1 scales it by 0.1
    assert abs(runner.optim_wrapper.get_lr()["lr"][0] - 0.02) < 1e-9

    # continue the same experiment for one more epoch from the dumped config
    dumped.train_cfg.max_epochs = 3
    dumped.resume = True
    dumped.work_dir = work_dir
    again = Runner.from_cfg(dumped)
    again.train()
    assert (again.epoch, again.iter) == (3, 6)
    metrics = again.test()
    assert set(metrics) == {"cls/acc"}
