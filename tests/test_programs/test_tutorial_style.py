"""A "15 minutes"-style program: torchvision data, tuple batches, classes as ``type`` values."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.runner import Runner


class SmallConvNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, imgs, labels, mode: str):
        x = F.adaptive_avg_pool2d(F.relu(self.conv(imgs)), 1).flatten(1)
        x = self.head(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(x, labels)}
        if mode == "predict":
            return x, labels


class Accuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append(
            {"batch_size": len(gt), "correct": (score.argmax(dim=1) == gt).sum().cpu()}
        )

    def compute_metrics(self, results):
        total_correct = sum(item["correct"] for item in results)
        total_size = sum(item["batch_size"] for item in results)
        return dict(accuracy=100 * total_correct / total_size)


def _fake_images(size: int, seed: int):
    from torchvision.datasets import FakeData
    from torchvision.transforms import ToTensor

    return FakeData(
        size=size, image_size=(3, 8, 8), num_classes=3, transform=ToTensor(), random_offset=seed
    )


def test_tutorial_program(tmp_path) -> None:
    train_dataloader = dict(
        batch_size=4,
        dataset=_fake_images(12, 0),
        sampler=dict(type="DefaultSampler", shuffle=True),
        collate_fn=dict(type="default_collate"),
    )
    val_dataloader = dict(
        batch_size=5,
        dataset=_fake_images(10, 100),
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="default_collate"),
    )
    runner = Runner(
        model=SmallConvNet(),
        work_dir=str(tmp_path),
        train_dataloader=train_dataloader,
        optim_wrapper=dict(optimizer=dict(type=SGD, lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_dataloader=val_dataloader,
        val_cfg=dict(),
        val_evaluator=dict(type=Accuracy),
    )
    runner.train()
    assert isinstance(runner.optim_wrapper.optimizer, SGD)
    assert runner.iter == 6
    metrics = runner.val()
    assert set(metrics) == {"accuracy"}
    assert 0 <= float(metrics["accuracy"]) <= 100
    # predictions from val_step on a tuple batch, as the tutorial's model returns them
    batch = next(iter(runner.val_dataloader))
    score, gt = runner.model.val_step(batch)
    assert score.shape == (5, 3)
    assert torch.equal(gt, batch[1])
