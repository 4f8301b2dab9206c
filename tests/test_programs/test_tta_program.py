"""Test-time augmentation as mmdet/mmpretrain ``tools/test.py --tta`` set it up.

A ``BaseDataset`` with a transform pipeline, a ``BaseTTAModel`` that averages the views, and
both set-ups: ``build_runner_with_tta(cfg)`` and the manual
``cfg.model = dict(**cfg.tta_model, module=cfg.model)`` rewrite, each loading the trained
checkpoint with ``load_from``.
"""

from __future__ import annotations

import copy
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.config import Config
from piston.dataset import BaseDataset
from piston.evaluator import BaseMetric
from piston.hooks.test_time_aug_hook import build_runner_with_tta
from piston.model import BaseModel, BaseTTAModel
from piston.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from piston.runner import Runner
from piston.structures import BaseDataElement


@DATASETS.register_module(force=True)
class ToyPoints(BaseDataset):
    METAINFO = dict(classes=("neg", "pos"))

    def __init__(self, size: int = 8, seed: int = 0, **kwargs) -> None:
        self.size, self.seed = size, seed
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        gen = torch.Generator().manual_seed(self.seed)
        x = torch.randn(self.size, 4, generator=gen)
        return [dict(x=x[i], label=int(x[i, 0] > 0)) for i in range(self.size)]


@TRANSFORMS.register_module(force=True)
class PackPoint:
    def __call__(self, results: dict) -> dict:
        return dict(inputs=results["x"], data_samples=BaseDataElement(gt=results["label"]))


@TRANSFORMS.register_module(force=True)
class TwoScales:
    """Stands in for mmcv's ``TestTimeAug``: every key holds one entry per view."""

    def __call__(self, results: dict) -> dict:
        sample = BaseDataElement(gt=results["label"])
        return dict(inputs=[results["x"], results["x"] * 2], data_samples=[sample, sample])


@MODELS.register_module(force=True)
class PointClassifier(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        x = torch.stack(list(inputs)) if isinstance(inputs, (list, tuple)) else inputs
        logits = self.fc(x)
        if mode == "loss":
            target = torch.tensor([d.gt for d in data_samples])
            return dict(loss=F.cross_entropy(logits, target))
        return [
            dict(score=lg.softmax(0), gt=d.gt, x=xi) for lg, d, xi in zip(logits, data_samples, x)
        ]


@MODELS.register_module(force=True)
class AverageTTA(BaseTTAModel):
    def merge_preds(self, data_samples_list):
        return [
            dict(
                score=sum(v["score"] for v in views) / len(views),
                gt=views[0]["gt"],
                views=len(views),
                x=views[0]["x"],
            )
            for views in data_samples_list
        ]


@METRICS.register_module(force=True)
class TTATop1(BaseMetric):
    default_prefix = "tta"

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        hits = sum(int(r["score"].argmax()) == r["gt"] for r in results)
        return dict(top1=100.0 * hits / len(results), views=min(r.get("views", 1) for r in results))


def _loader(seed: int) -> dict:
    return dict(
        batch_size=3,
        num_workers=0,
        dataset=dict(type="ToyPoints", size=7, seed=seed, pipeline=[dict(type="PackPoint")]),
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="pseudo_collate"),
    )


def test_tta_two_ways(tmp_path) -> None:
    work_dir = str(tmp_path / "train")
    cfg = Config(
        dict(
            model=dict(type="PointClassifier"),
            work_dir=work_dir,
            train_dataloader=_loader(0),
            test_dataloader=_loader(1),
            train_cfg=dict(by_epoch=True, max_epochs=2),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
            test_cfg=dict(),
            test_evaluator=dict(type="TTATop1"),
            tta_model=dict(type="AverageTTA"),
            tta_pipeline=[dict(type="TwoScales")],
            randomness=dict(seed=0),
        )
    )
    runner = Runner.from_cfg(cfg)
    runner.train()
    plain = runner.test()
    assert plain["tta/views"] == 1
    weight = runner.model.fc.weight.detach().clone()
    bias = runner.model.fc.bias.detach().clone()
    ckpt = os.path.join(work_dir, "epoch_2.pth")

    def expected_top1() -> float:
        data = ToyPoints(size=7, seed=1)
        hits = 0
        for i in range(7):
            x, label = data[i]["x"], data[i]["label"]
            score = sum(((v @ weight.T) + bias).softmax(0) for v in (x, 2 * x)) / 2
            hits += int(score.argmax()) == label
        return 100.0 * hits / 7

    tta_cfg = copy.deepcopy(cfg)
    tta_cfg.load_from = ckpt
    tta_cfg.work_dir = str(tmp_path / "tta1")
    tta_runner = build_runner_with_tta(tta_cfg)
    first = tta_runner.test()
    assert type(tta_runner.model).__name__ == "AverageTTA"
    assert torch.equal(tta_runner.model.module.fc.weight, weight)
    assert first == {"tta/top1": expected_top1(), "tta/views": 2}

    manual = copy.deepcopy(cfg)
    manual.model = dict(**manual.tta_model, module=manual.model)
    manual.test_dataloader.dataset.pipeline = manual.tta_pipeline
    manual.load_from = ckpt
    manual.work_dir = str(tmp_path / "tta2")
    second = Runner.from_cfg(manual).test()
    assert second == first
