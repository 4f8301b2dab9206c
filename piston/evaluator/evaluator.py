"""Evaluator: feeds model outputs to its metrics and merges their results.

Design note: ``process`` runs once per validation batch. Data elements are flattened to dicts
(metrics downstream expect dicts), anything else (the seed's ``(logits, labels)`` tensors)
passes through as is. Communication only happens in ``evaluate``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import islice
from typing import Any

from piston.registry import EVALUATOR, METRICS
from piston.structures import BaseDataElement

from .metric import BaseMetric

__all__ = ["Evaluator"]


@EVALUATOR.register_module()
class Evaluator:
    """Wrap one or several metrics.

    Args:
        metrics: A metric, a metric config, or a sequence of them (configs are built with
            ``METRICS``).
    """

    def __init__(self, metrics: dict | BaseMetric | Sequence[dict | BaseMetric]) -> None:
        self._dataset_meta: dict | None = None
        if isinstance(metrics, (dict, BaseMetric)) or not isinstance(metrics, Sequence):
            metrics = [metrics]
        self.metrics: list[BaseMetric] = [
            METRICS.build(metric) if isinstance(metric, dict) else metric for metric in metrics
        ]

    @property
    def dataset_meta(self) -> dict | None:
        """Meta information of the dataset; setting it sets it on every metric."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta
        for metric in self.metrics:
            metric.dataset_meta = dataset_meta

    def process(self, data_samples: Sequence, data_batch: Any = None) -> None:
        """Hand one batch of model outputs to every metric.

        Args:
            data_samples: Model outputs (``val_step``'s return value). Data elements become
                dicts via ``to_dict()``; other items are passed through unchanged.
            data_batch: The batch from the dataloader.
        """
        converted = [
            sample.to_dict() if isinstance(sample, BaseDataElement) else sample
            for sample in data_samples
        ]
        for metric in self.metrics:
            metric.process(data_batch, converted)

    def evaluate(self, size: int) -> dict:
        """Evaluate every metric over the whole dataset of length ``size`` and merge results."""
        metrics: dict = {}
        for metric in self.metrics:
            results = metric.evaluate(size)
            for name in results:
                if name in metrics:
                    raise ValueError(
                        "There are multiple evaluation results with the same metric name "
                        f"{name!r} (the second from {type(metric).__name__}). Please make sure "
                        "all metrics have different prefixes."
                    )
            metrics.update(results)
        return metrics

    def offline_evaluate(
        self, data_samples: Sequence, data: Sequence | None = None, chunk_size: int = 1
    ) -> dict:
        """Evaluate saved predictions (e.g. loaded from a ``DumpResults`` file).

        Args:
            data_samples: All predictions.
            data: The matching inputs, one per prediction (optional).
            chunk_size: Number of samples passed to ``process`` at a time.
        """
        from piston.dataset import pseudo_collate

        if not isinstance(chunk_size, int) or chunk_size <= 0:
            raise AssertionError(f"chunk_size should be a positive int, but got {chunk_size!r}")
        if data is not None and len(data_samples) != len(data):
            raise AssertionError(
                f"data_samples and data should have the same length, but got "
                f"{len(data_samples)} and {len(data)}"
            )
        data_chunks = _chunks(data, chunk_size) if data is not None else None
        size = 0
        for output_chunk in _chunks(data_samples, chunk_size):
            data_chunk = pseudo_collate(next(data_chunks)) if data_chunks is not None else None
            size += len(output_chunk)
            self.process(output_chunk, data_chunk)
        return self.evaluate(size)


def _chunks(seq: Sequence, size: int) -> Iterator[list]:
    iterator = iter(seq)
    while chunk := list(islice(iterator, size)):
        yield chunk
