"""Program 9: data elements end to end, and ``dataset_meta`` from a BaseDataset's metainfo."""

from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.dataset import BaseDataset
from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import DATASETS, TRANSFORMS
from piston.runner import Runner
from piston.structures import BaseDataElement, InstanceData


@DATASETS.register_module(force=True)
class ToyShapes(BaseDataset):
    """Points in memory; ``load_data_list`` replaces reading an annotation file."""

    METAINFO = dict(classes=("circle", "square"), palette=[(255, 0, 0), (0, 0, 255)])

    def __init__(self, num: int = 10, seed: int = 0, **kwargs) -> None:
        self.num = num
        self.seed = seed
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        gen = torch.Generator().manual_seed(self.seed)
        points = torch.randn(self.num, 3, generator=gen)
        return [
            dict(point=p.tolist(), label=int(p[0] + p[1] > 0), name=f"shape_{i}")
            for i, p in enumerate(points)
        ]


@TRANSFORMS.register_module(force=True)
class PackShape:
    """Last pipeline step: inputs tensor plus a data sample carrying the annotation."""

    def __call__(self, results: dict) -> dict:
        sample = BaseDataElement(metainfo=dict(sample_idx=results["sample_idx"]))
        sample.gt_label = torch.tensor(results["label"])
        return dict(inputs=torch.tensor(results["point"]), data_samples=sample)


class ShapeClassifier(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(3, 2)

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        logits = self.head(torch.stack(inputs))
        if mode == "loss":
            labels = torch.stack([s.gt_label for s in data_samples])
            return dict(loss=F.cross_entropy(logits, labels))
        if mode == "predict":
            scores = logits.softmax(1)
            results = []
            for sample, score in zip(data_samples, scores):
                sample.pred_instances = InstanceData(
                    scores=score.max().reshape(1), labels=score.argmax().reshape(1)
                )
                results.append(sample)
            return results
        return logits


class PerClassAcc(BaseMetric):
    default_prefix = "shapes"

    def __init__(self) -> None:
        super().__init__()
        self.seen_types: set[type] = set()
        self.seen_idx: list[int] = []

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            self.seen_types.add(type(sample))
            self.seen_idx.append(sample["sample_idx"])
            pred = sample["pred_instances"]
            self.results.append((int(pred["labels"][0]), int(sample["gt_label"])))

    def compute_metrics(self, results) -> dict:
        classes = self.dataset_meta["classes"]
        metrics = {}
        for index, name in enumerate(classes):
            hits = [p == g for p, g in results if g == index]
            metrics[f"acc_{name}"] = 100.0 * sum(hits) / max(len(hits), 1)
        return metrics


def _loader(num: int, seed: int, shuffle: bool) -> dict:
    return dict(
        batch_size=4,
        num_workers=0,
        dataset=dict(
            type="ToyShapes",
            num=num,
            seed=seed,
            pipeline=[dict(type="PackShape")],
            metainfo=dict(classes=("disc", "box")),
        ),
        sampler=dict(type="DefaultSampler", shuffle=shuffle),
    )


def test_data_elements_and_dataset_meta(tmp_path) -> None:
    metric = PerClassAcc()
    runner = Runner(
        model=ShapeClassifier(),
        work_dir=str(tmp_path),
        train_dataloader=_loader(12, seed=0, shuffle=True),
        val_dataloader=_loader(10, seed=1, shuffle=False),
        val_evaluator=[metric],  # a list of built metrics, as MMEngine accepts
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=2),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.3)),
        randomness=dict(seed=0),
    )
    runner.train()
    # a metainfo argument overrides the class METAINFO key by key
    expected_meta = dict(classes=("disc", "box"), palette=[(255, 0, 0), (0, 0, 255)])
    assert runner.train_dataloader.dataset.metainfo == expected_meta
    assert metric.dataset_meta == expected_meta
    assert metric.seen_types == {dict}  # data elements reach the metric as dicts
    assert metric.seen_idx == list(range(10))
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    assert ckpt["meta"]["dataset_meta"] == expected_meta

    # a standalone evaluation of the saved model reports per-class accuracy by class name
    evaluator = Runner(
        model=ShapeClassifier(),
        work_dir=str(tmp_path / "eval"),
        test_dataloader=_loader(10, seed=1, shuffle=False),
        test_evaluator=[PerClassAcc()],
        test_cfg=dict(),
        load_from=os.path.join(str(tmp_path), "epoch_2.pth"),
    )
    results = evaluator.test()
    assert set(results) == {"shapes/acc_disc", "shapes/acc_box"}
    assert results == runner.val()

    # the prediction itself is a data element with an InstanceData inside
    batch = next(iter(evaluator.test_dataloader))
    preds = evaluator.model.test_step(batch)
    assert isinstance(preds[0], BaseDataElement)
    assert isinstance(preds[0].pred_instances, InstanceData)
    assert len(preds[0].pred_instances) == 1
    assert preds[0].sample_idx == 0
