"""Model and metric of the digits demo (``configs/digits_cnn.py``).

The config imports this module through ``custom_imports=dict(imports=['piston.demo'])``, which
registers ``DigitsCNN`` in MODELS and ``DigitsAccuracy`` in METRICS; the dataset is
:class:`piston.dataset.DigitsDataset`. It ships in the package so that the demo config loads
from anywhere (``Config.fromfile`` with custom imports, ``piston train``, ``torchrun``).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from piston.evaluator import BaseMetric
from piston.model import BaseModel
from piston.registry import METRICS, MODELS


@MODELS.register_module(force=True)
class DigitsCNN(BaseModel):
    """Two conv layers and a linear head for 1x8x8 images."""

    def __init__(self, width: int = 32, num_classes: int = 10, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * 16, num_classes)
        )

    def forward(self, imgs: torch.Tensor, labels: torch.Tensor, mode: str = "tensor"):
        logits = self.head(self.features(imgs))
        if mode == "loss":
            return {"loss": F.cross_entropy(logits, labels)}
        if mode == "predict":
            return logits, labels
        return logits


@METRICS.register_module(force=True)
class DigitsAccuracy(BaseMetric):
    """Top-1 accuracy in percent, one result per sample (exact in distributed runs)."""

    default_prefix = None

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        hits = (logits.argmax(dim=1) == labels).cpu()
        self.results.extend({"hit": int(h)} for h in hits.tolist())

    def compute_metrics(self, results: list) -> dict:
        return {"accuracy": 100.0 * sum(r["hit"] for r in results) / max(len(results), 1)}
