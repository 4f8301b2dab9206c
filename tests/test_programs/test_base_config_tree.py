"""An mmdet-style ``configs/`` tree: ``_base_/{models,datasets,schedules}`` + ``default_runtime``.

The experiment config inherits four bases, overrides nested keys, replaces a sub-dict with
``_delete_=True``, copies base values with ``{{_base_.x}}`` and the ``_base_`` variable, and is
then changed from the command line (``--cfg-options`` with list indices, tuples and lists)
before training. The dataset uses BaseDataset's own annotation format (``metainfo`` +
``data_list``) and a ``TRANSFORMS`` pipeline.
"""

from __future__ import annotations

import argparse
import json
import os

import numpy as np

from piston.config import Config, DictAction
from piston.runner import Runner

PROJECT = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.dataset import BaseDataset
from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, METRICS, MODELS, TRANSFORMS

SCALES = []


@TRANSFORMS.register_module()
class LoadPoints:
    def __call__(self, results):
        results['points'] = np.load(results['img_path'])
        return results


@TRANSFORMS.register_module()
class ScalePoints:
    def __init__(self, scale, keep_ratio=True):
        self.scale = tuple(scale)
        self.keep_ratio = keep_ratio

    def __call__(self, results):
        SCALES.append(self.scale)
        results['points'] = results['points'] * self.scale[0]
        return results


@TRANSFORMS.register_module()
class PackPoints:
    def __init__(self, keys=('inputs', 'labels')):
        self.keys = keys

    def __call__(self, results):
        return {self.keys[0]: torch.from_numpy(results['points']).float(),
                self.keys[1]: torch.tensor(results['img_label'])}


@DATASETS.register_module()
class TreePoints(BaseDataset):
    METAINFO = dict(classes=('neg', 'pos'))


@MODELS.register_module()
class TreeNet(BaseModel):
    def __init__(self, backbone, head):
        super().__init__()
        layers, dim = [], 4
        for width in backbone['widths'][:backbone['depth']]:
            layers += [nn.Linear(dim, width), nn.GroupNorm(backbone['norm_cfg']['num_groups'], width)]
            dim = width
        self.backbone = nn.Sequential(*layers)
        self.head = nn.Linear(dim, head['num_classes'])
        self.loss_weight = head['loss']['loss_weight']

    def forward(self, inputs, labels, mode='tensor'):
        logits = self.head(self.backbone(inputs))
        if mode == 'loss':
            return dict(loss=self.loss_weight * F.cross_entropy(logits, labels))
        return logits, labels


@METRICS.register_module()
class TopK(BaseMetric):
    def __init__(self, topk=(1,), **kwargs):
        super().__init__(**kwargs)
        self.topk = topk

    def process(self, data_batch, data_samples):
        logits, labels = data_samples
        for k in self.topk:
            hit = (logits.topk(k, dim=1).indices == labels[:, None]).any(1)
            self.results.append((k, int(hit.sum()), len(labels)))

    def compute_metrics(self, results):
        out = {}
        for k in self.topk:
            hits = [r for r in results if r[0] == k]
            out[f'top{k}'] = 100.0 * sum(r[1] for r in hits) / sum(r[2] for r in hits)
        return out
"""

FILES = {
    "_base_/models/tree_net.py": """
model = dict(
    type='TreeNet',
    backbone=dict(type='Backbone', depth=2, widths=[8, 8], norm_cfg=dict(type='BN', momentum=0.1)),
    head=dict(type='Head', num_classes=2, loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
""",
    "_base_/datasets/points.py": """
dataset_type = 'TreePoints'
data_root = '{root}'
train_pipeline = [
    dict(type='LoadPoints'),
    dict(type='ScalePoints', scale=(1.0, 2.0), keep_ratio=True),
    dict(type='PackPoints', keys=['inputs', 'labels']),
]
test_pipeline = [dict(type='LoadPoints'), dict(type='PackPoints', keys=['inputs', 'labels'])]
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='ann.json',
                 data_prefix=dict(img_path='pts/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='ann.json',
                 data_prefix=dict(img_path='pts/'), pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopK', topk=(1, ))
test_evaluator = val_evaluator
""",
    "_base_/schedules/schedule_1x.py": """
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
auto_scale_lr = dict(enable=False, base_batch_size=16)
""",
    "_base_/default_runtime.py": """
default_scope = 'piston'
custom_imports = dict(imports=['tree_project'], allow_failed_imports=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
""",
    "tree_net/tree_net_d4_2x.py": """
_base_ = [
    '../_base_/models/tree_net.py', '../_base_/datasets/points.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(depth=4, widths=[8, 8, 8, 8], norm_cfg=dict(_delete_=True, type='GN', num_groups=4)))
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.5, by_epoch=False, begin=0, end=2),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[16, 22], gamma=0.1)
]
base_lr = {{_base_.optim_wrapper.optimizer.lr}}
optim_wrapper = dict(optimizer=dict(lr=_base_.optim_wrapper.optimizer.lr * 5), clip_grad=dict(max_norm=35, norm_type=2))
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
default_hooks = dict(logger=dict(interval=1))
work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
""",
}


def _write(root, data_root: str) -> str:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.replace("{root}", data_root))
    return str(root / "tree_net/tree_net_d4_2x.py")


def _write_data(root) -> None:
    (root / "pts").mkdir(parents=True)
    data_list = []
    for i in range(6):
        np.save(root / "pts" / f"{i}.npy", np.full(4, i - 2.5, dtype=np.float32))
        data_list.append({"img_path": f"{i}.npy", "img_label": int(i >= 3)})
    meta = {"classes": ["a", "b"], "dataset_type": "toy"}
    (root / "ann.json").write_text(json.dumps({"metainfo": meta, "data_list": data_list}))


def test_mmdet_style_config_tree(tmp_path, monkeypatch) -> None:
    data_root = tmp_path / "data"
    _write_data(data_root)
    (tmp_path / "tree_project.py").write_text(PROJECT)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg_file = _write(tmp_path / "configs", str(data_root) + "/")

    cfg = Config.fromfile(cfg_file)
    assert cfg.model.backbone == dict(
        type="Backbone", depth=4, widths=[8, 8, 8, 8], norm_cfg=dict(type="GN", num_groups=4)
    )
    assert cfg.model.head.loss.loss_weight == 1.0  # untouched siblings survive
    assert cfg.base_lr == 0.02
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    assert cfg.param_scheduler[1].milestones == [16, 22]
    assert cfg.work_dir == "./work_dirs/tree_net_d4_2x"
    assert cfg.default_hooks.logger == dict(type="LoggerHook", interval=1)
    assert cfg.default_hooks.checkpoint.interval == 1

    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(
        [
            "--cfg-options",
            "train_dataloader.dataset.pipeline.1.scale=(3,4)",
            "model.backbone.depth=2",
            "model.backbone.widths=[4,4]",
            "param_scheduler.1.milestones=[1]",
            "val_evaluator.topk=(1,2)",
            "train_cfg.max_epochs=2",
            "randomness.seed=3",
            "randomness.deterministic=False",
            "model.head.loss.loss_weight=0.5",
        ]
    )
    cfg.merge_from_dict(args.cfg_options)
    assert cfg.train_dataloader.dataset.pipeline[1] == dict(
        type="ScalePoints", scale=(3, 4), keep_ratio=True
    )
    assert cfg.train_pipeline[1].scale == (1.0, 2.0)  # only the dataloader's copy changed
    assert cfg.model.backbone.widths == [4, 4]
    assert cfg.randomness == dict(seed=3, deterministic=False)
    assert cfg.test_evaluator.topk == (1,)

    # round trips: .py keeps everything; .yaml keeps tuples; .json turns them into lists
    for ext in ("py", "yaml"):
        cfg.dump(str(tmp_path / f"dumped.{ext}"))
        assert Config.fromfile(str(tmp_path / f"dumped.{ext}")).to_dict() == cfg.to_dict()
    cfg.dump(str(tmp_path / "dumped.json"))
    from_json = Config.fromfile(str(tmp_path / "dumped.json"))
    assert from_json.val_evaluator.topk == [1, 2]
    assert from_json.model == cfg.model
    assert Config.fromstring(cfg.pretty_text, ".py").to_dict() == cfg.to_dict()

    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    project = __import__("tree_project")
    project.SCALES.clear()
    runner.train()
    assert project.SCALES == [(3, 4)] * 6 * 2  # 6 samples, 2 epochs
    dataset = runner.train_dataloader.dataset
    # class METAINFO wins over the annotation file's; missing keys come from the file
    assert dataset.metainfo == {"classes": ("neg", "pos"), "dataset_type": "toy"}
    assert dataset.get_data_info(4)["img_path"] == os.path.join(str(data_root), "pts/", "4.npy")
    assert len(runner.model.backbone) == 4  # depth 2: (Linear, GroupNorm) x 2
    assert runner.model.loss_weight == 0.5
    # LinearLR warms up from 0.5 * lr over iters [0, 2); MultiStepLR milestone 1 -> x0.1
    assert abs(runner.optim_wrapper.get_lr()["lr"][0] - 0.01) < 1e-9
    metrics = runner.val()
    assert set(metrics) == {"top1", "top2"}
    assert metrics["top2"] == 100.0
    (stamp,) = [d for d in os.listdir(cfg.work_dir) if d[0].isdigit()]
    with open(os.path.join(cfg.work_dir, stamp, "vis_data", "scalars.json")) as f:
        rows = [json.loads(line) for line in f]
    lrs = [round(r["lr"], 6) for r in rows if "lr" in r]
    assert lrs == [0.05, 0.1, 0.1, 0.01, 0.01, 0.01]  # LinearLR reaches lr at step end - 1
    assert all("grad_norm" in r for r in rows if "lr" in r)  # clip_grad logs grad_norm
    dumped = Config.fromfile(os.path.join(cfg.work_dir, "tree_net_d4_2x.py"))
    assert dumped.train_dataloader.dataset.pipeline[1].scale == (3, 4)
