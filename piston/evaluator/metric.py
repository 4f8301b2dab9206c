"""BaseMetric and DumpResults.

Design note: a metric accumulates per-batch results in ``self.results`` during the loop (no
communication), then ``evaluate`` gathers every rank's list once with ``collect_results`` (rank
order restored, sampler padding trimmed to the dataset size), computes on rank 0 only and
broadcasts the resulting dict so that every rank returns the same numbers.
"""

from __future__ import annotations

import logging
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch

from piston.dist import broadcast_object_list, collect_results, is_main_process
from piston.logging import print_log
from piston.registry import METRICS
from piston.structures import BaseDataElement

__all__ = ["BaseMetric", "DumpResults"]


class BaseMetric(metaclass=ABCMeta):
    """Base class of metrics.

    Args:
        collect_device: ``'cpu'`` (gather through a shared directory) or ``'gpu'``
            (gather through the process group).
        prefix: Prepended to every metric name as ``'<prefix>/<name>'``; defaults to the
            class attribute ``default_prefix``.
        collect_dir: Shared directory used with ``collect_device='cpu'``.
    """

    default_prefix: str | None = None

    def __init__(
        self,
        collect_device: str = "cpu",
        prefix: str | None = None,
        collect_dir: str | None = None,
    ) -> None:
        if collect_dir is not None and collect_device != "cpu":
            raise ValueError(
                "`collec_dir` could only be configured when `collect_device='cpu'`, "
                f"but got collect_device={collect_device!r}"
            )
        self._dataset_meta: dict | None = None
        self.collect_device = collect_device
        self.results: list = []
        self.prefix = prefix or self.default_prefix
        self.collect_dir = collect_dir
        if self.prefix is None:
            print_log(
                f"The prefix is not set in metric class {self.__class__.__name__}.",
                logger="current",
                level=logging.WARNING,
            )

    @property
    def dataset_meta(self) -> dict | None:
        """Meta information of the evaluated dataset (``None`` if it has none)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        self._dataset_meta = dataset_meta

    @abstractmethod
    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        """Append this batch's intermediate results to ``self.results``."""

    @abstractmethod
    def compute_metrics(self, results: list) -> dict:
        """Compute the metrics from the results of every batch (of every rank)."""

    def evaluate(self, size: int) -> dict:
        """Gather results from all ranks, compute the metrics on rank 0 and share them.

        Args:
            size: Length of the whole dataset; the padding added by the sampler is dropped.

        Returns:
            The metrics, keys prefixed with ``'<prefix>/'`` when a prefix is set; the same
            dict on every rank. ``self.results`` is cleared.
        """
        if len(self.results) == 0:
            print_log(
                f"{self.__class__.__name__} got empty `self.results`. Please ensure that the "
                "processed results are properly added into `self.results` in `process` method.",
                logger="current",
                level=logging.WARNING,
            )
        if self.collect_device == "cpu":
            results = collect_results(
                self.results, size, self.collect_device, tmpdir=self.collect_dir
            )
        else:
            results = collect_results(self.results, size, self.collect_device)

        if is_main_process():
            metrics = self.compute_metrics(_to_cpu(results))
            if self.prefix:
                metrics = {f"{self.prefix}/{key}": value for key, value in metrics.items()}
            shared: list = [metrics]
        else:
            shared = [None]
        broadcast_object_list(shared)
        self.results.clear()
        return shared[0]


def _to_cpu(data: Any) -> Any:
    """Move tensors and data elements in nested lists/tuples/dicts to the CPU."""
    if isinstance(data, (torch.Tensor, BaseDataElement)):
        return data.to("cpu")
    if isinstance(data, list):
        return [_to_cpu(item) for item in data]
    if isinstance(data, tuple):
        return tuple(_to_cpu(item) for item in data)
    if isinstance(data, dict):
        return {key: _to_cpu(value) for key, value in data.items()}
    return data


@METRICS.register_module()
class DumpResults(BaseMetric):
    """Pickle the model's predictions to ``out_file_path`` (no metric is computed).

    Args:
        out_file_path: Output file; must end with ``.pkl`` or ``.pickle``.
        collect_device: See ``BaseMetric``.
        collect_dir: See ``BaseMetric``.
    """

    def __init__(
        self, out_file_path: str, collect_device: str = "cpu", collect_dir: str | None = None
    ) -> None:
        super().__init__(collect_device=collect_device, collect_dir=collect_dir)
        if not str(out_file_path).endswith((".pkl", ".pickle")):
            raise ValueError(
                f"The output file must be a pkl file, but got out_file_path={out_file_path!r}. "
                "Use a path ending with .pkl or .pickle."
            )
        self.out_file_path = out_file_path

    def process(self, data_batch: Any, predictions: Sequence) -> None:
        """Keep the predictions, moved to the CPU."""
        self.results.extend(_to_cpu(list(predictions)))

    def compute_metrics(self, results: list) -> dict:
        """Dump ``results`` and return no metric."""
        from piston.fileio import dump

        dump(results, self.out_file_path)
        print_log(f"Results has been saved to {self.out_file_path}.", logger="current")
        return {}
