"""The seed tutorial's model and metric, with a tiny CNN instead of ResNet-50."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.evaluator import BaseMetric
from piston.model import BaseModel


class TinyCNN(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.conv(x)))
        return self.fc(x.mean(dim=(2, 3)))


class MMResNet50(BaseModel):
    """The seed's model class, verbatim apart from the backbone."""

    def __init__(self):
        super().__init__()
        self.resnet = TinyCNN()

    def forward(self, imgs, labels, mode):
        x = self.resnet(imgs)
        if mode == "loss":
            return {"loss": F.cross_entropy(x, labels)}
        elif mode == "predict":
            return x, labels


class Accuracy(BaseMetric):
    """The seed's metric class, verbatim."""

    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append(
            {
                "batch_size": len(gt),
                "correct": (score.argmax(dim=1) == gt).sum().cpu(),
            }
        )

    def compute_metrics(self, results):
        total_correct = sum(item["correct"] for item in results)
        total_size = sum(item["batch_size"] for item in results)
        return {"accuracy": 100 * total_correct / total_size}


def make_batches(num_batches: int = 3, batch_size: int = 4, seed: int = 0) -> list[list]:
    """Batches shaped like the default torch collate output: ``[imgs, labels]`` lists."""
    gen = torch.Generator().manual_seed(seed)
    return [
        [
            torch.randn(batch_size, 3, 8, 8, generator=gen),
            torch.randint(0, 10, (batch_size,), generator=gen),
        ]
        for _ in range(num_batches)
    ]
