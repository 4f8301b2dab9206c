"""Two gloo processes each evaluate half of an odd-sized dataset (with sampler padding)."""

from __future__ import annotations

import os

import pytest
from _dist import run_in_processes

DATASET = [{"pred": p, "gt": g} for p, g in zip([1, 0, 2, 2, 1, 0, 1], [1, 1, 2, 0, 1, 0, 2])]


def _shard(rank: int, world_size: int) -> list[int]:
    """DistributedSampler-style split: pad to a multiple of world_size, then stride."""
    indices = list(range(len(DATASET)))
    total = -(-len(indices) // world_size) * world_size
    indices += indices[: total - len(indices)]
    return indices[rank:total:world_size]


def _make_metric(**kwargs):
    from piston.evaluator import BaseMetric

    class OrderedAccuracy(BaseMetric):
        default_prefix = "dist"

        def process(self, data_batch, data_samples):
            for sample in data_samples:
                self.results.append((sample["index"], int(sample["pred"] == sample["gt"])))

        def compute_metrics(self, results):
            return {
                "acc": sum(hit for _, hit in results) / len(results),
                "order": [index for index, _ in results],
            }

    return OrderedAccuracy(**kwargs)


def _evaluate(rank: int, world_size: int, workdir: str) -> None:
    from piston.evaluator import Evaluator

    os.chdir(workdir)  # the default cpu collection creates ./.dist_test here
    single = sum(int(s["pred"] == s["gt"]) for s in DATASET) / len(DATASET)
    modes = [
        {"collect_device": "cpu"},
        {"collect_device": "cpu", "collect_dir": os.path.join(workdir, "collect")},
        {"collect_device": "gpu"},
    ]
    for kwargs in modes:
        evaluator = Evaluator(_make_metric(**kwargs))
        shard = _shard(rank, world_size)
        for start in range(0, len(shard), 2):  # batches of 2
            batch = [dict(DATASET[i], index=i) for i in shard[start : start + 2]]
            evaluator.process(batch)
        metrics = evaluator.evaluate(len(DATASET))
        assert metrics["dist/acc"] == pytest.approx(single), kwargs  # same on every rank
        assert metrics["dist/order"] == list(range(len(DATASET))), kwargs  # padding dropped


@pytest.mark.distributed
def test_two_process_evaluation_equals_single_process(tmp_path):
    """cpu (default dir and collect_dir) and gpu (object gather) collection over gloo."""
    run_in_processes(_evaluate, 2, str(tmp_path))
    leftover = tmp_path / ".dist_test"
    assert not leftover.exists() or not any(leftover.iterdir())
