"""A downstream-style dataset project: ``BaseDataset`` subclass + TRANSFORMS pipeline in configs.

mmpretrain/mmseg-style repos write ``dataset=dict(type=..., data_root=..., ann_file=...,
data_prefix=dict(img_path=...), pipeline=[...], metainfo=dict(classes=...))`` with a
``BaseDataset`` subclass implementing ``load_data_list``, wrap it in ``RepeatDataset`` /
``ConcatDataset`` / ``ClassBalancedDataset`` from the config, and train with the default
``pseudo_collate`` (the model stacks its own inputs).
"""

from __future__ import annotations

import json
import os

import numpy as np
import torch

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import os.path as osp

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.dataset import BaseDataset
from piston.evaluator import BaseMetric
from piston.fileio import load
from piston.model import BaseModel
from piston.registry import DATASETS as ROOT_DATASETS
from piston.registry import METRICS as ROOT_METRICS
from piston.registry import MODELS as ROOT_MODELS
from piston.registry import TRANSFORMS as ROOT_TRANSFORMS
from piston.registry import Registry
from piston.structures import BaseDataElement

MODELS = Registry('model', parent=ROOT_MODELS, scope='dsproj')
DATASETS = Registry('dataset', parent=ROOT_DATASETS, scope='dsproj')
TRANSFORMS = Registry('transform', parent=ROOT_TRANSFORMS, scope='dsproj')
METRICS = Registry('metric', parent=ROOT_METRICS, scope='dsproj')

LOADED = []


@TRANSFORMS.register_module()
class LoadVector:
    def __call__(self, results):
        LOADED.append(results['img_path'])
        results['img'] = np.load(results['img_path'])
        return results


@TRANSFORMS.register_module()
class ScaleVector:
    def __init__(self, factor=1.0):
        self.factor = factor

    def __call__(self, results):
        results['img'] = results['img'] * self.factor
        return results


@TRANSFORMS.register_module()
class PackVector:
    def __call__(self, results):
        sample = BaseDataElement(metainfo=dict(sample_idx=results['sample_idx']))
        sample.gt_label = torch.tensor(results['gt_label'])
        return dict(inputs=torch.from_numpy(results['img']).float(), data_samples=sample)


@DATASETS.register_module()
class VectorFolder(BaseDataset):
    METAINFO = dict(classes=('neg', 'pos'), palette=[(0, 0, 0), (255, 255, 255)])

    def load_data_list(self):
        raw = load(self.ann_file)
        data_list = []
        for item in raw['items']:
            data_list.append(dict(
                img_path=osp.join(self.data_prefix['img_path'], item['file']),
                gt_label=int(item['label'])))
        return data_list

    def get_cat_ids(self, idx):
        return [self.get_data_info(idx)['gt_label']]


@MODELS.register_module()
class VectorNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs)  # pseudo_collate leaves a list of tensors
        logits = self.fc(x)
        labels = torch.stack([d.gt_label for d in data_samples])
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return [dict(pred=int(p), gt=int(g), idx=d.sample_idx)
                for p, g, d in zip(logits.argmax(1), labels, data_samples)]  # noqa


@METRICS.register_module()
class SeenIdx(BaseMetric):
    default_prefix = 'seen'

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(count=len(results), idx_sum=sum(r['idx'] for r in results))
"""

CONFIG = """
default_scope = 'dsproj'
custom_imports = dict(imports=['dsproj_module'], allow_failed_imports=False)
dataset_type = 'VectorFolder'
data_root = '{root}'
train_pipeline = [
    dict(type='LoadVector'),
    dict(type='ScaleVector', factor=2.0),
    dict(type='PackVector'),
]
test_pipeline = [dict(type='LoadVector'), dict(type='PackVector')]
train_dataloader = dict(
    batch_size=3,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='RepeatDataset',
        times=2,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            ann_file='annotations/train.json',
            data_prefix=dict(img_path='vectors/'),
            metainfo=dict(classes=('negative', 'positive')),
            pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=data_root, ann_file='annotations/train.json',
                 data_prefix=dict(img_path='vectors/'), indices=2, test_mode=True,
                 pipeline=test_pipeline),
            dict(type=dataset_type, data_root=data_root, ann_file='annotations/train.json',
                 data_prefix=dict(img_path='vectors/'), indices=[5, 4], test_mode=True,
                 serialize_data=False, pipeline=test_pipeline),
        ]))
val_evaluator = dict(type='SeenIdx')
val_cfg = dict()
model = dict(type='VectorNet')
train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1))
"""


def _write_data(root) -> None:
    (root / "vectors").mkdir(parents=True)
    (root / "annotations").mkdir()
    items = []
    for i in range(6):
        vec = np.full(4, float(i), dtype=np.float32)
        np.save(root / "vectors" / f"{i}.npy", vec)
        items.append({"file": f"{i}.npy", "label": int(i < 2)})  # 2 positives, 4 negatives
    (root / "annotations" / "train.json").write_text(json.dumps({"items": items}))


def test_base_dataset_project(tmp_path, monkeypatch) -> None:
    root = tmp_path / "data"
    _write_data(root)
    (tmp_path / "dsproj_module.py").write_text(PROJECT)
    (tmp_path / "cfg.py").write_text(CONFIG.format(root=str(root)))
    monkeypatch.syspath_prepend(str(tmp_path))

    cfg = Config.fromfile(str(tmp_path / "cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    project = __import__("dsproj_module")

    train_set = runner.train_dataloader.dataset
    assert type(train_set).__name__ == "RepeatDataset"
    assert len(train_set) == 12
    # user metainfo overrides the class METAINFO key by key; other keys stay
    assert train_set.metainfo == {
        "classes": ("negative", "positive"),
        "palette": [(0, 0, 0), (255, 255, 255)],
    }
    inner = train_set.dataset
    assert inner.ann_file == os.path.join(str(root), "annotations/train.json")
    assert inner.data_prefix == {"img_path": os.path.join(str(root), "vectors/")}
    info = train_set.get_data_info(7)  # 7 % 6 == 1
    assert info["img_path"] == os.path.join(str(root), "vectors/", "1.npy")
    assert info["sample_idx"] == 1
    assert info["gt_label"] == 1
    sample = train_set[9]
    assert torch.equal(sample["inputs"], torch.full((4,), 6.0))  # 3 * factor 2
    assert sample["data_samples"].sample_idx == 3
    assert int(sample["data_samples"].gt_label) == 0

    val_set = runner.val_dataloader.dataset
    assert len(val_set) == 4
    assert [val_set.get_data_info(i)["sample_idx"] for i in range(4)] == [0, 1, 0, 1]
    assert [val_set.get_data_info(i)["img_path"][-5:] for i in range(4)] == [
        "0.npy",
        "1.npy",
        "5.npy",
        "4.npy",
    ]
    assert val_set.get_data_info(-1)["img_path"].endswith("4.npy")

    project.LOADED.clear()
    runner.train()
    # 12 training samples in 4 batches of 3, then 4 validation samples
    assert runner.iter == 4
    assert len(project.LOADED) == 16
    assert sorted(os.path.basename(p) for p in project.LOADED[:12]) == sorted(
        f"{i}.npy" for i in list(range(6)) * 2
    )
    metrics = runner.val()
    assert metrics == {"seen/count": 4, "seen/idx_sum": 2}


def test_class_balanced_wrapper_from_config(tmp_path, monkeypatch) -> None:
    root = tmp_path / "data"
    _write_data(root)
    (tmp_path / "dsproj_module.py").write_text(PROJECT)
    monkeypatch.syspath_prepend(str(tmp_path))
    from piston.registry import DATASETS, init_default_scope

    __import__("dsproj_module")
    init_default_scope("dsproj")
    dataset = DATASETS.build(
        dict(
            type="ClassBalancedDataset",
            oversample_thr=0.5,
            dataset=dict(
                type="VectorFolder",
                data_root=str(root),
                ann_file="annotations/train.json",
                data_prefix=dict(img_path="vectors/"),
                pipeline=[dict(type="LoadVector"), dict(type="PackVector")],
            ),
        )
    )
    # positives: f = 2/6 -> r = sqrt(0.5 / (1/3)) = 1.22 -> ceil 2; negatives f = 4/6 -> 1
    assert len(dataset) == 2 * 2 + 4
    labels = [dataset.get_data_info(i)["gt_label"] for i in range(len(dataset))]
    assert labels == [1, 1, 1, 1, 0, 0, 0, 0]
    assert dataset.get_cat_ids(1) == [1]
    assert dataset[2]["data_samples"].sample_idx == 1
