"""A downstream inferencer: train from a config, then ``MyInferencer(model=cfg, weights=ckpt)``.

Like mmpretrain's ``ImageClassificationInferencer``: a subclass registered in the project's
INFERENCERS child registry builds its pipeline from ``test_dataloader.dataset.pipeline``, reads
a directory of inputs, batches them with the config's collate_fn and post-processes the
model's predictions. ``model=None`` recovers the config saved inside the checkpoint.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from piston.config import Config
from piston.runner import Runner

PROJECT = """
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.dataset import Compose
from piston.evaluator import BaseMetric
from piston.infer import BaseInferencer
from piston.model import BaseModel
from piston.registry import DATASETS as ROOT_DATASETS
from piston.registry import INFERENCERS as ROOT_INFERENCERS
from piston.registry import METRICS as ROOT_METRICS
from piston.registry import MODELS as ROOT_MODELS
from piston.registry import TRANSFORMS as ROOT_TRANSFORMS
from piston.registry import Registry

MODELS = Registry('model', parent=ROOT_MODELS, scope='inferproj')
DATASETS = Registry('dataset', parent=ROOT_DATASETS, scope='inferproj')
TRANSFORMS = Registry('transform', parent=ROOT_TRANSFORMS, scope='inferproj')
INFERENCERS = Registry('inferencer', parent=ROOT_INFERENCERS, scope='inferproj')
METRICS = Registry('metric', parent=ROOT_METRICS, scope='inferproj')


@METRICS.register_module()
class Count(BaseMetric):
    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        return dict(count=len(results))


@TRANSFORMS.register_module()
class LoadArray:
    def __call__(self, results):
        if isinstance(results, str):
            results = dict(img_path=results)
        results['inputs'] = torch.from_numpy(np.load(results['img_path'])).float()
        results.setdefault('labels', torch.tensor(-1))
        return dict(inputs=results['inputs'], labels=results['labels'])


@DATASETS.register_module()
class ArrayPoints(Dataset):
    def __init__(self, size=16, pipeline=()):
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(size, 4, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return dict(inputs=self.x[idx], labels=self.y[idx])


@MODELS.register_module()
class SignNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode='tensor'):
        logits = self.fc(inputs)
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, labels))
        return [dict(score=s) for s in logits.softmax(1)]


@INFERENCERS.register_module()
class SignInferencer(BaseInferencer):
    postprocess_kwargs = {'topk'}

    def _init_pipeline(self, cfg):
        return Compose(cfg.test_dataloader.dataset.pipeline)

    def visualize(self, inputs, preds, **kwargs):
        return None

    def postprocess(self, preds, visualization, return_datasamples=False, topk=1):
        if return_datasamples:
            return dict(predictions=preds, visualization=visualization)
        results = []
        for pred in preds:
            score = pred['score']
            results.append(dict(pred_label=int(score.argmax()),
                                top=score.topk(topk).indices.tolist()))
        return dict(predictions=results, visualization=visualization)
"""

CONFIG = """
default_scope = 'inferproj'
custom_imports = dict(imports=['inferproj_module'], allow_failed_imports=False)
model = dict(type='SignNet')
train_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='ArrayPoints', size=32),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))
test_dataloader = dict(
    batch_size=4, num_workers=0,
    dataset=dict(type='ArrayPoints', size=4, pipeline=[dict(type='LoadArray')]),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
test_evaluator = dict(type='Count')
test_cfg = dict()
train_cfg = dict(by_epoch=True, max_epochs=8)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.5))
randomness = dict(seed=0)
"""


def test_inferencer_from_config_and_checkpoint(tmp_path, monkeypatch) -> None:
    (tmp_path / "inferproj_module.py").write_text(PROJECT)
    (tmp_path / "sign_cfg.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = Config.fromfile(str(tmp_path / "sign_cfg.py"))
    cfg.work_dir = str(tmp_path / "work")
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = os.path.join(cfg.work_dir, "epoch_8.pth")

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    signs = [3.0, -2.0, 1.5, -4.0, 2.5]
    for i, sign in enumerate(signs):
        np.save(inputs / f"{i}.npy", np.array([sign, 0.0, 0.0, 0.0], dtype=np.float32))

    project = __import__("inferproj_module")
    inferencer = project.SignInferencer(
        model=str(tmp_path / "sign_cfg.py"), weights=ckpt, device="cpu", show_progress=False
    )
    assert inferencer.scope == "inferproj"
    assert torch.equal(inferencer.model.fc.weight, runner.model.fc.weight)
    assert not inferencer.model.training
    out = inferencer(str(inputs), batch_size=2, topk=2)
    files = sorted(os.listdir(inputs))
    expected = [int(signs[int(name[0])] > 0) for name in files]
    assert [p["pred_label"] for p in out["predictions"]] == expected
    assert all(len(p["top"]) == 2 for p in out["predictions"])

    # the config travels inside the checkpoint: model=None rebuilds the same model
    again = project.SignInferencer(model=None, weights=ckpt, device="cpu", show_progress=False)
    raw = again([str(inputs / "0.npy")], return_datasamples=True)
    assert len(raw["predictions"]) == 1
    assert raw["predictions"][0]["score"].shape == (2,)
    assert int(raw["predictions"][0]["score"].argmax()) == 1
