"""BaseDataset features downstream datasets lean on, driven from configs.

``filter_cfg`` read by ``filter_data`` (mmdet's ``filter_empty_gt``/``min_size``), ``lazy_init``
datasets completed by the dataloader builder, a pipeline that drops samples (returns None) in
training, ``ConcatDataset(ignore_keys=...)`` over datasets whose metainfo differs,
``pseudo_collate`` vs ``default_collate`` on nested samples, and ``piston test CONFIG CKPT``.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from piston.cli import main
from piston.config import Config
from piston.dataset import pseudo_collate
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.dataset import BaseDataset
from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS, TRANSFORMS

DROPPED = []


@TRANSFORMS.register_module()
class DropOdd:
    def __call__(self, results):
        if results['value'] % 2:
            DROPPED.append(results['value'])
            return None
        return results


@TRANSFORMS.register_module()
class ToSample:
    def __call__(self, results):
        x = torch.full((4,), float(results['value']))
        return dict(inputs=x, meta=dict(value=results['value'], size=(results['h'], results['w'])))


@DATASETS.register_module()
class SizedRecords(BaseDataset):
    METAINFO = dict(classes=('a', 'b'), version=1)

    def load_data_list(self):
        return [dict(value=i, h=i, w=2 * i) for i in range(10)]

    def filter_data(self):
        min_size = self.filter_cfg.get('min_size', 0) if self.filter_cfg else 0
        return [d for d in self.data_list if d['h'] >= min_size]


@MODELS.register_module()
class ValueNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, inputs, meta=None, mode='tensor'):
        out = self.fc(inputs).squeeze(1)
        target = meta['value'].float() / 10
        if mode == 'loss':
            return dict(loss=F.mse_loss(out, target))
        return [dict(value=int(v)) for v in meta['value']]


@METRICS.register_module()
class ValueSum(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(s['value'] for s in data_samples)

    def compute_metrics(self, results):
        return dict(total=sum(results), count=len(results))
"""

CONFIG = """
custom_imports = dict(imports=['filters_project'], allow_failed_imports=False)
model = dict(type='ValueNet')
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='SizedRecords', filter_cfg=dict(min_size=2), lazy_init=True,
                 pipeline=[dict(type='DropOdd'), dict(type='ToSample')]))
test_dataloader = dict(
    batch_size=3, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ConcatDataset',
        ignore_keys=['version'],
        datasets=[
            dict(type='SizedRecords', indices=[1, 2], pipeline=[dict(type='ToSample')]),
            dict(type='SizedRecords', metainfo=dict(version=2), indices=-2,
                 test_mode=True, pipeline=[dict(type='ToSample')]),
        ]))
test_evaluator = dict(type='ValueSum')
test_cfg = dict()
train_cfg = dict(by_epoch=True, max_epochs=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
randomness = dict(seed=1)
"""


def _setup(tmp_path, monkeypatch) -> str:
    (tmp_path / "filters_project.py").write_text(PROJECT)
    (tmp_path / "filters_cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return str(tmp_path / "filters_cfg.py")


def test_filter_lazy_init_and_refetch(tmp_path, monkeypatch) -> None:
    cfg = Config.fromfile(_setup(tmp_path, monkeypatch))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    project = __import__("filters_project")
    dataset = runner.train_dataloader.dataset
    assert dataset._fully_initialized  # built lazily, completed by the dataloader builder
    assert len(dataset) == 8  # h >= 2 keeps values 2..9
    assert dataset.get_data_info(0) == {"value": 2, "h": 2, "w": 4, "sample_idx": 0}
    project.DROPPED.clear()
    runner.train()
    # odd values are dropped and replaced by random re-draws, so every batch is even and full
    assert runner.iter == 4
    assert project.DROPPED
    assert all(v % 2 for v in project.DROPPED)
    batch = next(iter(runner.train_dataloader))
    assert batch["inputs"].shape == (2, 4)
    values = batch["meta"]["value"].tolist()
    assert values[0] == 2
    assert values[1] % 2 == 0
    # default_collate transposes the (h, w) tuples into a list of two stacked tensors
    assert [t.tolist() for t in batch["meta"]["size"]] == [[2, values[1]], [4, 2 * values[1]]]

    subset = dataset.get_subset([3, 0])
    assert [subset.get_data_info(i)["value"] for i in range(2)] == [5, 2]
    assert len(dataset) == 8  # get_subset leaves the original alone


def test_pseudo_collate_keeps_lists(tmp_path, monkeypatch) -> None:
    _setup(tmp_path, monkeypatch)
    samples = [
        dict(inputs=torch.zeros(3, 2, 2), meta=dict(value=1, size=(1, 2), name="x")),
        dict(inputs=torch.ones(3, 4, 4), meta=dict(value=2, size=(3, 4), name="y")),
    ]
    batch = pseudo_collate(samples)
    assert isinstance(batch["inputs"], list)
    assert len(batch["inputs"]) == 2
    assert batch["meta"]["value"] == [1, 2]
    assert batch["meta"]["size"] == [(1, 3), (2, 4)]  # columns of the tuples, not stacked
    assert batch["meta"]["name"] == ["x", "y"]


def test_concat_with_ignore_keys_and_test_cli(tmp_path, monkeypatch, capsys) -> None:
    cfg_file = _setup(tmp_path, monkeypatch)
    cfg = Config.fromfile(cfg_file)
    cfg.work_dir = str(tmp_path / "train_work")
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = os.path.join(cfg.work_dir, "epoch_1.pth")

    # metainfo differs in `version` only, which is ignored; without ignore_keys it is an error
    bad = Config.fromfile(cfg_file)
    bad.test_dataloader.dataset.pop("ignore_keys")
    bad.work_dir = str(tmp_path / "bad")
    with pytest.raises(ValueError, match="version"):
        Runner.from_cfg(bad).test()

    work = str(tmp_path / "test_work")
    assert main(["test", "filters_cfg.py", ckpt, "--work-dir", work]) == 0
    (stamp,) = [d for d in os.listdir(work) if os.path.isdir(os.path.join(work, d))]
    with open(os.path.join(work, stamp, f"{stamp}.log")) as f:
        log = f.read()
    assert f"Load checkpoint from {ckpt}" in log
    # values 1, 2 from the first dataset, the last two (8, 9) from the second
    assert "Epoch(test) [2/2]    total: 20.0000  count: 4.0000  data_time: " in log
    with open(os.path.join(work, stamp, f"{stamp}.json")) as f:
        rows = [json.loads(line) for line in f]
    assert rows[-1]["total"] == 20.0
    assert rows[-1]["count"] == 4.0
