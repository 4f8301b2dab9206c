"""A pure-Python (lazy-import) config project: ``with read_base(): from .._base_.x import *``.

New-style MMEngine configs (mmpretrain/mmdet 3.x ``configs/`` packages) import the classes
they use (``from torch.optim import SGD``, ``from piston.hooks import LoggerHook``) and put
them in ``type=``; the runner must build those lazily imported types wherever it copies the
config (hooks, collate_fn, optimizer, loops), and the dumped config must reload and resume.
"""

from __future__ import annotations

import json
import os

import torch

from piston.config import Config
from piston.runner import Runner

FILES = {
    "lazyproj/__init__.py": "",
    "lazyproj/models.py": """
import torch.nn as nn
import torch.nn.functional as F

from piston.model import BaseModel


class LazyNet(BaseModel):
    def __init__(self, hidden=4):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.net(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels
""",
    "lazyproj/data.py": """
import torch
from torch.utils.data import Dataset


class LazyPoints(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])
""",
    "lazyproj/configs/__init__.py": "",
    "lazyproj/configs/_base_/__init__.py": "",
    "lazyproj/configs/_base_/default_runtime.py": """
from piston.hooks import CheckpointHook, IterTimerHook, LoggerHook, ParamSchedulerHook

default_scope = None
default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=LoggerHook, interval=1),
    param_scheduler=dict(type=ParamSchedulerHook),
    checkpoint=dict(type=CheckpointHook, interval=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
""",
    "lazyproj/configs/_base_/schedule.py": """
from torch.optim import SGD

from piston.optim import MultiStepLR, OptimWrapper
from piston.runner import EpochBasedTrainLoop

optim_wrapper = dict(type=OptimWrapper, optimizer=dict(type=SGD, lr=0.1, momentum=0.9))
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[1], gamma=0.5)]
train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=2)
""",
    "lazyproj/configs/exp/__init__.py": "",
    "lazyproj/configs/exp/lazy_exp.py": """
from piston.config import read_base

with read_base():
    from .._base_.default_runtime import *
    from .._base_.schedule import *

from piston.dataset import DefaultSampler, default_collate

from lazyproj.data import LazyPoints
from lazyproj.models import LazyNet

model = dict(type=LazyNet, hidden=6)
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    dataset=dict(type=LazyPoints, size=8),
    sampler=dict(type=DefaultSampler, shuffle=False),
    collate_fn=dict(type=default_collate))
optim_wrapper.update(dict(optimizer=dict(lr=0.05)))
train_cfg.update(max_epochs=3)
default_hooks.checkpoint.interval = 3
""",
}


def _write(root) -> str:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(root / "lazyproj/configs/exp/lazy_exp.py")


def test_lazy_config_trains_dumps_and_resumes(tmp_path, monkeypatch) -> None:
    cfg_file = _write(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(cfg_file)
    # `dict.update` inside a lazy config is recursive; the base's momentum survives
    assert cfg.to_dict()["optim_wrapper"] == {
        "type": "piston.optim.OptimWrapper",
        "optimizer": {"type": "torch.optim.SGD", "lr": 0.05, "momentum": 0.9},
    }
    assert cfg.optim_wrapper.optimizer.type is torch.optim.SGD

    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert type(runner.model).__name__ == "LazyNet"
    assert type(runner.optim_wrapper.optimizer) is torch.optim.SGD
    assert [type(h).__name__ for h in runner.hooks] == [
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
    ]
    assert runner.train_dataloader.collate_fn.func.__name__ == "default_collate"
    assert (runner.epoch, runner.iter) == (3, 6)
    # lr 0.05, halved after epoch 1 (milestone) -> 0.025
    assert runner.optim_wrapper.get_lr()["lr"] == [0.025]
    work = cfg.work_dir
    assert sorted(f for f in os.listdir(work) if not f[0].isdigit()) == [
        "epoch_3.pth",
        "last_checkpoint",
        "lazy_exp.py",
    ]
    (stamp,) = [f for f in os.listdir(work) if f[0].isdigit()]
    with open(os.path.join(work, stamp, "vis_data", "scalars.json")) as f:
        rows = [json.loads(line) for line in f]
    assert [row["lr"] for row in rows] == [0.05] * 2 + [0.025] * 4

    # the dumped config is a classic config with dotted type names; it reloads and resumes
    dumped = Config.fromfile(os.path.join(work, "lazy_exp.py"))
    assert dumped.model == {"type": "lazyproj.models.LazyNet", "hidden": 6}
    assert dumped.default_hooks.checkpoint == {"type": "piston.hooks.CheckpointHook", "interval": 3}
    dumped.train_cfg.max_epochs = 4
    dumped.resume = True
    again = Runner.from_cfg(dumped)
    again.train()
    assert (again.epoch, again.iter) == (4, 8)
    assert type(again.model).__name__ == "LazyNet"
    assert again.optim_wrapper.get_lr()["lr"] == [0.025]


PARTS = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel


class Net(BaseModel):
    def __init__(self, dims=(4, 2), act=None, data_preprocessor=None, dtype=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.fc = nn.Linear(*dims)
        self.act = act
        self.param_dtype = dtype

    def forward(self, inputs, labels, mode='tensor'):
        x = self.fc(inputs.to(self.param_dtype))
        if mode == 'loss':
            return dict(loss=F.cross_entropy(x, labels))
        return x, labels


class Points(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


class Acc(BaseMetric):
    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        self.results.append((int((logits.argmax(1) == labels).sum()), len(labels)))

    def compute_metrics(self, results):
        return dict(acc=100 * sum(r[0] for r in results) / sum(r[1] for r in results))
"""

LAZY_BASE = """
import torch
from torch.nn import Tanh

from piston.model import BaseDataPreprocessor

from lazyparts.parts import Net

model = dict(type=Net, dims=(4, 2), act=dict(type=Tanh),
             data_preprocessor=dict(type=BaseDataPreprocessor), dtype=torch.float32)
"""

LAZY_EXP = """
from piston.config import read_base

with read_base():
    from .base import *

from torch.optim import AdamW

from piston.dataset import DefaultSampler, default_collate
from piston.hooks import CheckpointHook, EMAHook
from piston.optim import CosineAnnealingLR, LinearLR, OptimWrapper
from piston.runner import EpochBasedTrainLoop, LogProcessor, ValLoop
from piston.visualization import LocalVisBackend, Visualizer

from lazyparts.parts import Acc, Points

model.act = None
_loader = dict(batch_size=4, num_workers=0, dataset=dict(type=Points, size=8),
               sampler=dict(type=DefaultSampler, shuffle=False),
               collate_fn=dict(type=default_collate))
train_dataloader = _loader
val_dataloader = _loader
val_evaluator = [dict(type=Acc)]
val_cfg = dict(type=ValLoop)
train_cfg = dict(type=EpochBasedTrainLoop, max_epochs=2, val_interval=1)
optim_wrapper = dict(type=OptimWrapper, optimizer=dict(type=AdamW, lr=0.01, betas=(0.9, 0.99)),
                     clip_grad=dict(max_norm=1.0))
param_scheduler = [dict(type=LinearLR, start_factor=0.5, by_epoch=False, begin=0, end=2),
                   dict(type=CosineAnnealingLR, by_epoch=True, begin=0, T_max=2)]
custom_hooks = [dict(type=EMAHook, momentum=0.5, priority='ABOVE_NORMAL')]
default_hooks = dict(
    checkpoint=dict(type=CheckpointHook, interval=1, save_best='acc', rule='greater'))
visualizer = dict(type=Visualizer, vis_backends=[dict(type=LocalVisBackend)])
log_processor = dict(type=LogProcessor, window_size=1, by_epoch=True)
"""


def test_lazy_types_in_every_runner_component(tmp_path, monkeypatch) -> None:
    files = {
        "lazyparts/__init__.py": "",
        "lazyparts/parts.py": PARTS,
        "lazyparts/configs/__init__.py": "",
        "lazyparts/configs/base.py": LAZY_BASE,
        "lazyparts/configs/exp.py": LAZY_EXP,
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / "lazyparts/configs/exp.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.model.act is None  # attribute assignment on the base's dict
    assert runner.model.param_dtype is torch.float32  # a LazyAttr argument is built too
    assert type(runner.model.data_preprocessor).__name__ == "BaseDataPreprocessor"
    assert type(runner.optim_wrapper.optimizer) is torch.optim.AdamW
    assert runner.optim_wrapper.optimizer.defaults["betas"] == (0.9, 0.99)
    assert [type(s).__name__ for s in runner.param_schedulers] == ["LinearLR", "CosineAnnealingLR"]
    assert [type(h).__name__ for h in runner.hooks][:2] == ["RuntimeInfoHook", "EMAHook"]
    assert type(runner.visualizer).__name__ == "Visualizer"
    assert type(runner.log_processor).__name__ == "LogProcessor"
    assert runner.log_processor.window_size == 1
    names = sorted(os.listdir(cfg.work_dir))
    assert {"epoch_1.pth", "epoch_2.pth", "last_checkpoint", "exp.py"} <= set(names)
    assert len([n for n in names if n.startswith("best_acc_epoch_")]) == 1
    dumped = Config.fromfile(os.path.join(cfg.work_dir, "exp.py"))
    assert dumped.model.dtype == "torch.float32"
    assert dumped.val_evaluator == [{"type": "lazyparts.parts.Acc"}]
