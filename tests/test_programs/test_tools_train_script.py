"""A repo's ``tools/train.py`` written the way OpenMMLab repos write it, plus ``auto_argparser``.

The script parses ``--cfg-options`` with DictAction (nested quotes and brackets), merges them,
derives ``work_dir`` from the config file name, builds the runner with ``RUNNERS.build`` when
``runner_type`` is set and ``Runner.from_cfg`` otherwise; the project code comes in through
``custom_imports``.
"""

from __future__ import annotations

import argparse
import json
import os.path as osp
import sys

import pytest

from piston.config import Config, DictAction
from piston.registry import DATASETS, MODELS, RUNNERS
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseModel
from piston.registry import DATASETS, MODELS, RUNNERS
from piston.runner import Runner

SEEN = {}


@MODELS.register_module()
class ToolNet(BaseModel):
    def __init__(self, dims=(4, 2), out_indices=(0,), names=(), extra=None):
        super().__init__()
        SEEN.update(dims=dims, out_indices=out_indices, names=names, extra=extra)
        self.fc = nn.Linear(*dims)

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits, labels


@DATASETS.register_module()
class ToolPoints(Dataset):
    def __init__(self, size=8):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], labels=self.y[i])


@RUNNERS.register_module()
class ToolRunner(Runner):
    pass
"""

CONFIG = """
custom_imports = dict(imports=['toolproj'], allow_failed_imports=False)
model = dict(type='ToolNet', dims=(4, 2))
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='ToolPoints', size=8),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Train a model")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", help="the dir to save logs and models")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir", None) is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    if "runner_type" not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    return runner


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "toolproj.py").write_text(PROJECT)
    cfg_dir = tmp_path / "configs"
    cfg_dir.mkdir()
    (cfg_dir / "toolnet_1e.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "toolproj", raising=False)
    yield cfg_dir / "toolnet_1e.py"
    for registry, name in ((MODELS, "ToolNet"), (DATASETS, "ToolPoints"), (RUNNERS, "ToolRunner")):
        registry.module_dict.pop(name, None)  # the module is imported afresh by the next test


def test_train_script_with_cfg_options(project, tmp_path) -> None:
    runner = main(
        [
            str(project),
            "--cfg-options",
            "model.dims=(4,2)",
            "model.out_indices=[0, 1]",
            "model.names='a,b'",
            'model.extra="[(1,2),[3,(4,5)]]"',
            "train_cfg.max_epochs=2",
            "--cfg-options",
            "runner_type=ToolRunner",
            "optim_wrapper.optimizer.lr=0.05",
            "randomness.seed=None",
        ]
    )
    seen = sys.modules["toolproj"].SEEN
    assert seen["dims"] == (4, 2)
    assert seen["out_indices"] == [0, 1]
    assert seen["names"] == ["a", "b"]
    assert seen["extra"] == [(1, 2), [3, (4, 5)]]
    assert type(runner).__name__ == "ToolRunner"
    assert runner.work_dir == osp.abspath("./work_dirs/toolnet_1e")
    assert runner.max_epochs == 2
    assert runner.iter == 4
    assert runner.optim_wrapper.get_lr()["lr"] == [0.05]
    work = tmp_path / "work_dirs" / "toolnet_1e"
    assert (work / "toolnet_1e.py").exists()  # the merged config is dumped as <name>.py
    dumped = Config.fromfile(str(work / "toolnet_1e.py"), import_custom_modules=False)
    assert dumped.runner_type == "ToolRunner"
    assert dumped.train_cfg.max_epochs == 2
    assert dumped.model.extra == [(1, 2), [3, (4, 5)]]
    assert (work / "epoch_2.pth").exists()
    ts = runner.timestamp
    log = (work / ts / f"{ts}.log").read_text()
    assert "Epoch(train) [2][2/2]" in log
    scalars = [json.loads(line) for line in (work / ts / "vis_data" / "scalars.json").open()]
    assert [s["step"] for s in scalars] == [1, 2, 3, 4]


def test_without_runner_type_and_explicit_work_dir(project, tmp_path) -> None:
    runner = main([str(project), "--work-dir", str(tmp_path / "explicit")])
    assert type(runner) is Runner
    assert runner.work_dir == str(tmp_path / "explicit")
    assert runner.iter == 2
    assert (tmp_path / "explicit" / "epoch_1.pth").exists()


def test_custom_imports_switch_and_auto_argparser(project, monkeypatch) -> None:
    Config.fromfile(str(project), import_custom_modules=False)
    assert "toolproj" not in sys.modules
    cfg = Config.fromfile(str(project))
    assert "toolproj" in sys.modules
    assert cfg.model.type == "ToolNet"

    monkeypatch.setattr(sys, "argv", ["train.py", str(project), "--train_cfg.max_epochs", "3"])
    parser, parsed_cfg = Config.auto_argparser("auto")
    args = parser.parse_args()
    assert args.config == str(project)
    assert parsed_cfg.filename == str(project)
    assert vars(args)["train_cfg.max_epochs"] == 3
    assert (
        vars(args)["optim_wrapper.optimizer.lr"] == 0.1
        or vars(args)["optim_wrapper.optimizer.lr"] is None
    )
