"""Tiny model, dataset and metric shared by the runner tests."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseModel


class ToyModel(BaseModel):
    def __init__(self, data_preprocessor=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.linear = nn.Linear(2, 2)

    def forward(self, inputs, labels, mode="tensor"):
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        if isinstance(labels, list):
            labels = torch.stack(labels)
        logits = self.linear(inputs)
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, labels)}
        if mode == "predict":
            return logits, labels
        return logits


class ToyDataset(Dataset):
    METAINFO = {"classes": ("a", "b")}

    def __init__(self, size: int = 12) -> None:
        gen = torch.Generator().manual_seed(0)
        self.data = torch.randn(size, 2, generator=gen)
        self.label = (self.data[:, 0] > 0).long()

    @property
    def metainfo(self) -> dict:
        return self.METAINFO

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, idx):
        return {"inputs": self.data[idx], "labels": self.label[idx]}


class ToyMetric(BaseMetric):
    default_prefix = "toy"

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        self.results.append({"n": len(labels), "hit": int((logits.argmax(1) == labels).sum())})

    def compute_metrics(self, results):
        return {"acc": 100.0 * sum(r["hit"] for r in results) / sum(r["n"] for r in results)}


def loader_cfg(batch_size: int = 4, size: int = 12, shuffle: bool = True) -> dict:
    return {
        "batch_size": batch_size,
        "num_workers": 0,
        "dataset": ToyDataset(size),
        "sampler": {"type": "DefaultSampler", "shuffle": shuffle},
        "collate_fn": {"type": "default_collate"},
    }


def runner_kwargs(work_dir, **overrides) -> dict:
    kwargs = {
        "model": ToyModel(),
        "work_dir": str(work_dir),
        "train_dataloader": loader_cfg(),
        "val_dataloader": loader_cfg(shuffle=False),
        "train_cfg": {"by_epoch": True, "max_epochs": 2},
        "val_cfg": {},
        "val_evaluator": {"type": ToyMetric},
        "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}},
        "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1}},
        "randomness": {"seed": 1},
    }
    kwargs.update(overrides)
    return kwargs
