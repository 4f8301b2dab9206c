"""A downstream project with its own child registries and ``default_scope``.

Projects built on MMEngine define ``MODELS = Registry('model', parent=MMENGINE_MODELS,
scope='myproj')`` and so on, set ``default_scope='myproj'`` in their configs, and still use the
engine's hooks, optimizers and samplers (looked up in the parent, or by ``'piston.'`` prefix).
"""

from __future__ import annotations

import os
import sys

import torch

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.hooks import Hook
from piston.model import BaseModel
from piston.registry import DATASETS as PISTON_DATASETS
from piston.registry import HOOKS as PISTON_HOOKS
from piston.registry import METRICS as PISTON_METRICS
from piston.registry import MODELS as PISTON_MODELS
from piston.registry import Registry

MODELS = Registry("model", parent=PISTON_MODELS, scope="scopedproj")
DATASETS = Registry("dataset", parent=PISTON_DATASETS, scope="scopedproj")
HOOKS = Registry("hook", parent=PISTON_HOOKS, scope="scopedproj")
METRICS = Registry("metric", parent=PISTON_METRICS, scope="scopedproj")


@MODELS.register_module()
class ScopedNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.fc(inputs)
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels


@DATASETS.register_module()
class ScopedPoints(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


@HOOKS.register_module()
class CountIters(Hook):
    def __init__(self):
        self.count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.count += 1


@METRICS.register_module()
class Hits(BaseMetric):
    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append(int((logits.argmax(1) == labels).sum()))

    def compute_metrics(self, results):
        return dict(hits=sum(results))
"""

CONFIG = """
default_scope = 'scopedproj'
custom_imports = dict(imports=['scopedproj_registry'], allow_failed_imports=False)
model = dict(type='ScopedNet')
_loader = dict(
    batch_size=4,
    dataset=dict(type='ScopedPoints', size=8),
    sampler=dict(type='piston.DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
train_dataloader = _loader
val_dataloader = _loader
val_evaluator = dict(type='Hits')
val_cfg = dict()
train_cfg = dict(by_epoch=True, max_epochs=2)
optim_wrapper = dict(optimizer=dict(type='piston.SGD', lr=0.1))
custom_hooks = [dict(type='CountIters'), dict(type='EMAHook', momentum=0.5)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=2))
"""


def test_project_with_child_registries(tmp_path, monkeypatch) -> None:
    (tmp_path / "scopedproj_registry.py").write_text(PROJECT)
    (tmp_path / "cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))

    cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    runner.train()

    project = sys.modules["scopedproj_registry"]
    assert isinstance(runner.model, project.ScopedNet)
    assert isinstance(runner.train_dataloader.dataset, project.ScopedPoints)
    counter = next(h for h in runner.hooks if isinstance(h, project.CountIters))
    assert counter.count == 4
    assert any(type(h).__name__ == "EMAHook" for h in runner.hooks)  # from the parent
    assert isinstance(runner.optim_wrapper.optimizer, torch.optim.SGD)
    metrics = runner.val()
    assert set(metrics) == {"hits"}
    assert 0 <= metrics["hits"] <= 8
    ckpt = torch.load(os.path.join(cfg.work_dir, "epoch_2.pth"), weights_only=False)
    assert "ema_state_dict" in ckpt
