"""Program 10: two-process data-parallel training with ``launcher='pytorch'`` over gloo.

The workers do not create the process group themselves: the Runner initialises it from the
``RANK``/``WORLD_SIZE``/``MASTER_*`` environment variables, exactly as under ``torchrun``.
"""

from __future__ import annotations

import json
import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _dist import run_in_processes

from piston.dist import (
    all_reduce,
    broadcast_object_list,
    get_dist_info,
    is_main_process,
    master_only,
)
from piston.evaluator import BaseMetric
from piston.hooks import Hook
from piston.model import BaseModel
from piston.runner import Runner

from ._common import PointsDataset


class BNNet(BaseModel):
    """Classifier with BatchNorm, whose running statistics SyncBuffersHook must align."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        logits = self.fc(self.bn(inputs))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, labels))
        if mode == "predict":
            return logits, labels
        return logits


class CountingAcc(BaseMetric):
    """Accuracy plus the number of samples it saw, to expose padding of the last batch."""

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        for hit in (logits.argmax(1) == labels).tolist():
            self.results.append(int(hit))

    def compute_metrics(self, results) -> dict:
        return dict(accuracy=100.0 * sum(results) / len(results), count=len(results))


class DistHelpersHook(Hook):
    """User code calling the dist helpers during training."""

    def __init__(self) -> None:
        self.seen: list = []

    @master_only
    def _write_marker(self, runner) -> None:
        with open(os.path.join(runner.work_dir, "marker.txt"), "a") as fobj:
            fobj.write(f"rank {get_dist_info()[0]}\n")

    def after_train_epoch(self, runner) -> None:
        rank, world_size = get_dist_info()
        count = torch.tensor(float(rank + 1))
        all_reduce(count)  # sum over ranks
        token = [f"from-{rank}"]
        broadcast_object_list(token, src=0)
        self.seen.append((world_size, count.item(), token[0], is_main_process()))
        self._write_marker(runner)


def _loaders(shuffle_val: bool = False) -> dict:
    def one(size, seed, shuffle, batch):
        return dict(
            dataset=PointsDataset(size, seed=seed),
            batch_size=batch,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=shuffle),
            collate_fn=dict(type="default_collate"),
        )

    return dict(
        train_dataloader=one(16, 0, True, 2),
        val_dataloader=one(9, 4, shuffle_val, 2),  # odd: the 2 ranks see 5 + 5 with padding
    )


def _ddp_worker(rank: int, world_size: int, work_dir: str) -> None:
    assert not torch.distributed.is_initialized()
    runner = Runner(
        model=dict(type=BNNet),
        work_dir=work_dir,
        **_loaders(),
        val_evaluator=dict(type=CountingAcc),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        custom_hooks=[dict(type="SyncBuffersHook"), dict(type=DistHelpersHook)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=2)),
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        randomness=dict(seed=0),
    )
    assert runner.distributed
    assert (runner.rank, runner.world_size) == (rank, world_size)
    assert torch.distributed.is_initialized()
    runner.train()
    assert runner.iter == 2 * 16 // (2 * world_size)
    helper = next(h for h in runner.hooks if isinstance(h, DistHelpersHook))
    assert helper.seen == [(2, 3.0, "from-0", rank == 0)] * 2
    metrics = runner.val()
    model = runner.model.module if hasattr(runner.model, "module") else runner.model
    torch.save(
        {k: v.detach().clone() for k, v in model.state_dict().items()},
        os.path.join(work_dir, f"rank{rank}.pt"),
    )
    with open(os.path.join(work_dir, f"metrics{rank}.json"), "w") as fobj:
        json.dump(dict(metrics=metrics, timestamp=runner.timestamp), fobj)


@pytest.mark.distributed
def test_two_process_training_matches_across_ranks(tmp_path) -> None:
    work_dir = str(tmp_path / "ddp")
    run_in_processes(_ddp_worker, 2, work_dir, init_group=False, timeout_s=120)

    states = [torch.load(os.path.join(work_dir, f"rank{r}.pt")) for r in range(2)]
    assert set(states[0]) == set(states[1])
    for name in states[0]:
        torch.testing.assert_close(states[0][name], states[1][name], rtol=0, atol=0)
    results = []
    for rank in range(2):
        with open(os.path.join(work_dir, f"metrics{rank}.json")) as fobj:
            results.append(json.load(fobj))
    assert results[0] == results[1]  # same metrics and a shared timestamp on both ranks
    assert results[0]["metrics"]["count"] == 9  # padding removed when collecting
    with open(os.path.join(work_dir, "marker.txt")) as fobj:
        assert fobj.read() == "rank 0\nrank 0\n"  # @master_only ran on rank 0 only
    # only rank 0 wrote the checkpoint; it holds the trained weights
    ckpt = torch.load(os.path.join(work_dir, "epoch_2.pth"), weights_only=False)
    for name, value in ckpt["state_dict"].items():
        torch.testing.assert_close(value, states[0][name])

    # the metric over the odd-sized set equals the single-process value
    single = Runner(
        model=BNNet(),
        work_dir=str(tmp_path / "single"),
        val_dataloader=_loaders()["val_dataloader"],
        val_evaluator=dict(type=CountingAcc),
        val_cfg=dict(),
        load_from=os.path.join(work_dir, "epoch_2.pth"),
    )
    assert single.val() == results[0]["metrics"]
