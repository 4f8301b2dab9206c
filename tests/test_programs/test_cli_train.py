"""``piston train CONFIG`` as ``tools/train.py`` is used: --work-dir, --cfg-options, --auto-scale-lr,
then ``--resume`` (auto-find) in the same work_dir, and what lands there."""

from __future__ import annotations

import json
import os
import time

import torch

from piston.cli import main
from piston.config import Config

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS


@MODELS.register_module()
class CliNet(BaseModel):
    def __init__(self, hidden=8):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.net(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels


@DATASETS.register_module()
class CliPoints(Dataset):
    def __init__(self, size=16, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


@METRICS.register_module()
class CliAcc(BaseMetric):
    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append((int((logits.argmax(1) == labels).sum()), len(labels)))

    def compute_metrics(self, results):
        return dict(accuracy=100.0 * sum(r[0] for r in results) / sum(r[1] for r in results))
"""

CONFIG = """
custom_imports = dict(imports=['cli_train_project'], allow_failed_imports=False)
model = dict(type='CliNet', hidden=8)
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CliPoints', size=16),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
val_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='CliPoints', size=8, seed=1),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
val_evaluator = dict(type='CliAcc')
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=1)
val_cfg = dict()
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=2),
    checkpoint=dict(type='CheckpointHook', interval=1))
randomness = dict(seed=0)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
"""


def _next_second(work: str) -> None:
    """Log dirs are named by the second: make sure the next run in ``work`` gets a new one."""
    last = max(d for d in os.listdir(work) if d[0].isdigit())
    while time.strftime("%Y%m%d_%H%M%S") <= last:
        time.sleep(0.02)


def _stamp_dirs(work: str) -> list[str]:
    return sorted(d for d in os.listdir(work) if os.path.isdir(os.path.join(work, d)))


def _scalars(work: str, stamp: str) -> list[dict]:
    with open(os.path.join(work, stamp, "vis_data", "scalars.json")) as f:
        return [json.loads(line) for line in f]


def test_train_cli_auto_scale_lr_then_resume(tmp_path, monkeypatch) -> None:
    (tmp_path / "cli_train_project.py").write_text(PROJECT)
    (tmp_path / "my_cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    work = str(tmp_path / "work")

    argv = ["train", "my_cfg.py", "--work-dir", work, "--auto-scale-lr", "--cfg-options"]
    assert main([*argv, "train_cfg.max_epochs=2", "model.hidden=6"]) == 0
    (first,) = _stamp_dirs(work)
    assert sorted(os.listdir(work)) == sorted(
        [first, "epoch_1.pth", "epoch_2.pth", "last_checkpoint", "my_cfg.py"]
    )
    assert sorted(os.listdir(os.path.join(work, first))) == [f"{first}.log", "vis_data"]
    assert sorted(os.listdir(os.path.join(work, first, "vis_data"))) == sorted(
        [f"{first}.json", "config.py", "scalars.json"]
    )
    with open(os.path.join(work, "last_checkpoint")) as f:
        assert f.read().strip() == os.path.join(work, "epoch_2.pth")
    # the dumped config carries the command-line changes
    dumped = Config.fromfile(os.path.join(work, "my_cfg.py"))
    assert dumped.model.hidden == 6
    assert dumped.train_cfg.max_epochs == 2
    assert dumped.auto_scale_lr == dict(enable=True, base_batch_size=16)
    assert dumped.launcher == "none"
    with open(os.path.join(work, first, f"{first}.log")) as f:
        log = f.read()
    assert (
        "LR is set based on batch size of 16 and the current batch size is 4. "
        "Scaling the original LR by 0.25." in log
    )
    # lr 0.1 * 4/16 = 0.025 in epoch 1, then MultiStepLR's milestone: 0.0025
    rows = _scalars(work, first)
    assert [round(r["lr"], 6) for r in rows if "lr" in r] == [0.025, 0.025, 0.0025, 0.0025]
    assert [r["step"] for r in rows if "accuracy" in r] == [1, 2]
    assert "Epoch(train) [2][4/4]  lr: 2.5000e-03" in log
    ckpt = torch.load(os.path.join(work, "epoch_2.pth"), weights_only=False)
    assert ckpt["state_dict"]["net.0.weight"].shape == (6, 4)

    # `--resume` with no path resumes from the work_dir's last checkpoint; no auto-scale now.
    _next_second(work)
    resume = ["train", "my_cfg.py", "--work-dir", work, "--resume", "--cfg-options"]
    assert main([*resume, "train_cfg.max_epochs=3", "model.hidden=6"]) == 0
    second = _stamp_dirs(work)[-1]
    assert second != first
    with open(os.path.join(work, second, f"{second}.log")) as f:
        log = f.read()
    assert f"Auto resumed from the latest checkpoint {os.path.join(work, 'epoch_2.pth')}" in log
    assert "resumed epoch: 2, iter: 8" in log
    assert "Epoch(train) [3][4/4]  lr: 2.5000e-03" in log
    rows = _scalars(work, second)
    assert [r["iter"] for r in rows if "loss" in r] == [10, 12]
    with open(os.path.join(work, "last_checkpoint")) as f:
        assert f.read().strip() == os.path.join(work, "epoch_3.pth")
    assert Config.fromfile(os.path.join(work, "my_cfg.py")).resume is True


def test_train_cli_user_errors(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "cli_train_project.py").write_text(PROJECT)
    (tmp_path / "bad.py").write_text(CONFIG.replace("auto_scale_lr = dict", "_unused = dict"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["train", "bad.py", "--work-dir", str(tmp_path / "w"), "--auto-scale-lr"]) == 2
    assert "auto_scale_lr" in capsys.readouterr().err
    # a value DictAction cannot parse into a dict (it keeps "{...}" as a string)
    bad_value = ["--cfg-options", "auto_scale_lr={'base_batch_size':8}"]
    assert main(["train", "bad.py", "--work-dir", str(tmp_path / "w2"), *bad_value]) == 2
    err = capsys.readouterr().err
    assert "TypeError: auto_scale_lr should be None or a dict" in err
    assert main(["train", "missing.py"]) == 2
    assert "missing.py" in capsys.readouterr().err
