"""A project-specific Runner subclass selected with ``runner_type`` and started from the CLI.

Downstream repos register ``class MyRunner(Runner)`` in RUNNERS (overriding ``from_cfg`` or a
build method) and set ``runner_type = 'MyRunner'``; ``tools/train.py`` then builds it with
``RUNNERS.build(cfg)``. Command-line values go through DictAction (quoted tuples, nested
lists, ``None``, booleans, comma lists) and show up in ``piston config print``.
"""

from __future__ import annotations

import os

from piston.cli import main
from piston.config import Config

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseModel
from piston.registry import DATASETS, MODELS, RUNNERS
from piston.runner import Runner

BUILT = []


@RUNNERS.register_module()
class TaggedRunner(Runner):
    def __init__(self, *args, tag='none', **kwargs):
        super().__init__(*args, **kwargs)
        self.tag = tag
        BUILT.append(self)

    @classmethod
    def from_cfg(cls, cfg):
        runner = super().from_cfg(cfg)
        runner.tag = cfg.get('runner_tag', 'none')
        return runner


@MODELS.register_module()
class OptNet(BaseModel):
    def __init__(self, out_indices=(0,), dims=((4, 2),), act=True, extra=None, names=()):
        super().__init__()
        self.out_indices, self.act, self.extra, self.names = out_indices, act, extra, names
        self.fc = nn.Linear(*dims[0])

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels


@DATASETS.register_module()
class OptPoints(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])
"""

CONFIG = """
runner_type = 'TaggedRunner'
runner_tag = 'from-config'
custom_imports = dict(imports=['custom_runner_project'], allow_failed_imports=False)
model = dict(type='OptNet', out_indices=(0, ), extra=dict(k=1))
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='OptPoints'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
"""

OPTIONS = [
    "--cfg-options",
    "model.out_indices=(1,2,3)",
    "model.dims=[(4,2),(2,2)]",
    "model.act=False",
    "model.extra=None",
    "model.names=a,b",
    "runner_tag='cli tag'",
]


def test_runner_type_from_cli(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "custom_runner_project.py").write_text(PROJECT)
    (tmp_path / "cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)

    assert main(["config", "print", "cfg.py", *OPTIONS]) == 0
    printed = capsys.readouterr().out
    assert "runner_tag = 'clitag'" in printed  # DictAction removes quotes and spaces
    assert "runner_type = 'TaggedRunner'" in printed
    printed_cfg = Config.fromstring(printed, ".py")
    assert printed_cfg.model.out_indices == (1, 2, 3)
    assert printed_cfg.model.dims == [(4, 2), (2, 2)]
    assert printed_cfg.model.names == ["a", "b"]
    assert printed_cfg.model.extra is None
    assert printed_cfg.model.act is False

    assert main(["train", "cfg.py", *OPTIONS]) == 0  # default work_dir: ./work_dirs/cfg
    project = __import__("custom_runner_project")
    (runner,) = project.BUILT
    assert type(runner).__name__ == "TaggedRunner"
    assert runner.tag == "clitag"
    assert runner.iter == 2
    model = runner.model
    assert model.out_indices == (1, 2, 3)
    assert model.names == ["a", "b"]
    assert model.act is False
    assert model.extra is None
    assert runner.work_dir == os.path.abspath("work_dirs/cfg")
    assert os.path.isfile(os.path.join("work_dirs", "cfg", "epoch_1.pth"))
    dumped = Config.fromfile(os.path.join("work_dirs", "cfg", "cfg.py"))
    assert dumped.runner_type == "TaggedRunner"
    assert dumped.model.dims == [(4, 2), (2, 2)]
