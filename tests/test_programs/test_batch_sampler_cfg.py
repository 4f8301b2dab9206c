"""mmdet's data pipeline shape: ``batch_sampler=dict(type='AspectRatioBatchSampler')``.

Every mmdet 3.x detector config trains with a custom batch sampler registered in the
project's DATA_SAMPLERS: the runner builds the sampler, then the batch sampler around it with
the config's ``batch_size``; images of different sizes go through ``pseudo_collate`` and the
model pads them itself. ``auto_scale_lr`` still reads ``train_dataloader.batch_size``.
"""

from __future__ import annotations

import json
import os

import pytest

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import BatchSampler, Sampler

from piston.dataset import BaseDataset
from piston.model import BaseModel
from piston.registry import DATA_SAMPLERS, DATASETS, MODELS, TRANSFORMS

BATCHES = []


@DATA_SAMPLERS.register_module()
class AspectRatioBatchSampler(BatchSampler):
    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False) -> None:
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        self._buckets = [[] for _ in range(2)]

    def __iter__(self):
        for idx in self.sampler:
            info = self.sampler.dataset.get_data_info(idx)
            bucket = self._buckets[0 if info['width'] < info['height'] else 1]
            bucket.append(idx)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                del bucket[:]
        left = self._buckets[0] + self._buckets[1]
        self._buckets = [[] for _ in range(2)]
        while left:
            if len(left) <= self.batch_size:
                if not self.drop_last:
                    yield left[:]
                left = []
            else:
                yield left[:self.batch_size]
                left = left[self.batch_size:]

    def __len__(self):
        return len(self.sampler) // self.batch_size


@TRANSFORMS.register_module()
class MakeImage:
    def __call__(self, results):
        img = torch.full((1, results['height'], results['width']), float(results['label']))
        return dict(inputs=img, data_samples=dict(label=results['label'], idx=results['sample_idx']))


@DATASETS.register_module()
class Shapes(BaseDataset):
    def load_data_list(self):
        sizes = [(2, 4), (4, 2), (2, 6), (6, 2), (2, 2), (4, 6), (6, 4), (2, 8)]
        return [dict(height=h, width=w, label=i % 2) for i, (h, w) in enumerate(sizes)]


@MODELS.register_module()
class PadNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(1, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        BATCHES.append(list(data_samples['idx']))  # pseudo_collate: a dict of lists
        h = max(i.shape[1] for i in inputs)
        w = max(i.shape[2] for i in inputs)
        batch = torch.stack([F.pad(i, (0, w - i.shape[2], 0, h - i.shape[1])) for i in inputs])
        logits = self.fc(batch.mean((2, 3)))
        labels = torch.tensor(data_samples['label'])
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return logits
"""

CONFIG = """
custom_imports = dict(imports=['ratio_project'], allow_failed_imports=False)
model = dict(type='PadNet')
train_dataloader = dict(
    batch_size=2,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(type='Shapes', pipeline=[dict(type='MakeImage')]))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
auto_scale_lr = dict(enable=True, base_batch_size=16)
default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
randomness = dict(seed=7)
"""


def test_aspect_ratio_batch_sampler_from_config(tmp_path, monkeypatch) -> None:
    (tmp_path / "ratio_project.py").write_text(PROJECT)
    (tmp_path / "cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    project = __import__("ratio_project")
    project.BATCHES.clear()
    runner.train()

    loader = runner.train_dataloader
    assert type(loader.batch_sampler).__name__ == "AspectRatioBatchSampler"
    assert type(loader.batch_sampler.sampler).__name__ == "DefaultSampler"
    assert loader.batch_sampler.batch_size == 2
    assert len(loader) == 4
    dataset = loader.dataset
    infos = [dataset.get_data_info(i) for i in range(8)]
    portrait = {i for i, info in enumerate(infos) if info["width"] < info["height"]}
    assert len(project.BATCHES) == 8
    assert all(len(b) == 2 for b in project.BATCHES)
    for epoch in (project.BATCHES[:4], project.BATCHES[4:]):
        assert sorted(i for b in epoch for i in b) == list(range(8))
    # full buckets are single-orientation; only leftovers may mix
    pure = [b for b in project.BATCHES if len({i in portrait for i in b}) == 1]
    assert len(pure) >= 6
    assert project.BATCHES[:4] != project.BATCHES[4:]  # reshuffled per epoch (set_epoch)
    assert runner.iter == 8
    # lr scaled by 2 / 16 from the dataloader's batch_size
    (stamp,) = [d for d in os.listdir(cfg.work_dir) if d[0].isdigit()]
    with open(os.path.join(cfg.work_dir, stamp, "vis_data", "scalars.json")) as f:
        rows = [json.loads(line) for line in f]
    assert rows[0]["lr"] == pytest.approx(0.0025)
