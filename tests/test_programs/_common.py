"""Tiny classifier, in-memory data and an accuracy metric written as an MMEngine user would.

Every program under ``tests/test_programs`` is a user program written against MMEngine's
public API with ``mmengine`` replaced by ``piston``; this module holds the pieces they share.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import METRICS


def _stack(value):
    return torch.stack(value) if isinstance(value, (list, tuple)) else value


class TinyNet(BaseModel):
    """Two-class linear classifier; ``forward(inputs, labels, mode)`` as in the tutorials."""

    def __init__(self, in_dim: int = 4) -> None:
        super().__init__()
        self.fc = nn.Linear(in_dim, 2)

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        x = _stack(inputs).float()
        logits = self.fc(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, _stack(labels))}
        if mode == "predict":
            return logits, _stack(labels)
        return logits


class PointsDataset(Dataset):
    """``size`` random 4-d points, labelled by the sign of their first coordinate."""

    METAINFO = {"classes": ("neg", "pos")}

    def __init__(self, size: int = 16, seed: int = 0, dim: int = 4) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randn(size, dim, generator=gen)
        self.y = (self.x[:, 0] > 0).long()

    @property
    def metainfo(self) -> dict:
        return dict(self.METAINFO)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int) -> dict:
        return {"inputs": self.x[idx], "labels": self.y[idx]}


@METRICS.register_module(force=True)
class Acc(BaseMetric):
    """Accuracy in percent, as in the MMEngine "15 minutes" tutorial."""

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        self.results.append(
            {"correct": (logits.argmax(1) == labels).sum().item(), "size": len(labels)}
        )

    def compute_metrics(self, results) -> dict:
        correct = sum(r["correct"] for r in results)
        size = sum(r["size"] for r in results)
        return {"accuracy": 100.0 * correct / size}


def loader(size: int = 16, batch_size: int = 4, shuffle: bool = True, seed: int = 0) -> dict:
    return {
        "dataset": PointsDataset(size, seed=seed),
        "batch_size": batch_size,
        "num_workers": 0,
        "sampler": {"type": "DefaultSampler", "shuffle": shuffle},
        "collate_fn": {"type": "default_collate"},
    }
