"""An mmseg-style iteration schedule run through ``piston train``, stopped and ``--resume``d.

``IterBasedTrainLoop`` + ``InfiniteSampler`` + ``PolyLR(by_epoch=False)`` +
``CheckpointHook(by_epoch=False)`` + ``log_processor=dict(by_epoch=False)``, as in mmseg's
``schedule_*k.py``. A run stopped at iteration 6 and resumed from the command line must log
the same lr and loss for iterations 7-10 as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from piston.cli import main

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS


@MODELS.register_module()
class PixelNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.conv(inputs)
        if mode == 'loss':
            return dict(loss_ce=F.cross_entropy(logits, data_samples))
        return logits.argmax(1), data_samples


@DATASETS.register_module()
class Blobs(Dataset):
    def __init__(self, size=10):
        gen = torch.Generator().manual_seed(3)
        self.x = torch.randn(size, 1, 6, 6, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], data_samples=self.y[idx])


@METRICS.register_module()
class PixelAcc(BaseMetric):
    def process(self, data_batch, data_samples):
        pred, gt = data_samples
        self.results.append(((pred == gt).sum().item(), gt.numel()))

    def compute_metrics(self, results):
        return dict(aAcc=100.0 * sum(r[0] for r in results) / sum(r[1] for r in results))
"""

CONFIG = """
custom_imports = dict(imports=['seg_iter_project'], allow_failed_imports=False)
model = dict(type='PixelNet')
train_dataloader = dict(
    batch_size=3, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='Blobs', size=10))
val_dataloader = dict(
    batch_size=5, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='Blobs', size=5))
val_evaluator = dict(type='PixelAcc')
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=10, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=10, val_interval=5)
val_cfg = dict(type='ValLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=3),
    sampler_seed=dict(type='DistSamplerSeedHook'))
log_processor = dict(by_epoch=False)
randomness = dict(seed=11)
"""


def _next_second(work: str) -> None:
    """Log dirs are named by the second: make sure the next run in ``work`` gets a new one."""
    last = max(d for d in os.listdir(work) if d[0].isdigit())
    while time.strftime("%Y%m%d_%H%M%S") <= last:
        time.sleep(0.02)


def _train_rows(work: str) -> dict[int, dict]:
    rows = {}
    for stamp in sorted(d for d in os.listdir(work) if d[0].isdigit()):
        with open(os.path.join(work, stamp, "vis_data", "scalars.json")) as f:
            for line in f:
                row = json.loads(line)
                if "loss" in row:
                    rows[row["iter"]] = row
    return rows


def test_iteration_schedule_resumed_from_cli(tmp_path, monkeypatch) -> None:
    (tmp_path / "seg_iter_project.py").write_text(PROJECT)
    (tmp_path / "seg_cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)

    stop_early = ["--cfg-options", "train_cfg.max_iters=6"]
    assert main(["train", "seg_cfg.py", "--work-dir", "part", *stop_early]) == 0
    assert sorted(f for f in os.listdir("part") if f.endswith(".pth")) == [
        "iter_3.pth",
        "iter_6.pth",
    ]
    assert main(["train", "seg_cfg.py", "--work-dir", "full"]) == 0  # the reference run
    _next_second("part")
    assert main(["train", "seg_cfg.py", "--work-dir", "part", "--resume"]) == 0
    assert sorted(f for f in os.listdir("part") if f.endswith(".pth")) == [
        "iter_10.pth",
        "iter_3.pth",
        "iter_6.pth",
        "iter_9.pth",
    ]

    full, part = _train_rows("full"), _train_rows("part")
    assert sorted(full) == list(range(1, 11))
    assert sorted(part) == list(range(1, 11))
    for it in range(7, 11):
        assert part[it]["lr"] == pytest.approx(full[it]["lr"], rel=1e-12)
        assert part[it]["loss"] == pytest.approx(full[it]["loss"], rel=1e-6)
    # PolyLR over total_iters = end - begin - 1 = 9 steps (logged before the step):
    # lr = (0.01 - 1e-4) * (1 - step / 9) ** 0.9 + 1e-4
    assert full[1]["lr"] == pytest.approx(0.01)
    assert full[8]["lr"] == pytest.approx((0.01 - 1e-4) * (1 - 7 / 9) ** 0.9 + 1e-4)

    stamps = sorted(d for d in os.listdir("part") if d[0].isdigit())
    with open(os.path.join("part", stamps[-1], f"{stamps[-1]}.log")) as f:
        log = f.read()
    assert "resumed epoch: 0, iter: 6" in log
    assert "Iter(train) [ 7/10]  lr: " in log
    assert "Iter(val) [1/1]    aAcc: " in log
