"""Gradient accumulation under ``MMDistributedDataParallel``: two gloo ranks with
``accumulative_counts=2`` and per-rank batches of 2 must take exactly the steps of one
process with batches of 8 (the wrapper's ``train_step`` runs the forward inside
``optim_wrapper.optim_context``, which skips the gradient all-reduce until the update)."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _dist import run_in_processes

from piston.model import BaseModel
from piston.runner import Runner


class Regressor(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(3, 5)
        self.fc2 = nn.Linear(5, 1)

    def forward(self, inputs, targets=None, mode="tensor"):
        out = self.fc2(torch.tanh(self.fc1(torch.stack(inputs)))).squeeze(1)
        if mode == "loss":
            return dict(loss_mse=F.mse_loss(out, torch.stack(targets)))
        return [out]


def _data() -> list[dict]:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(16, 3, generator=gen)
    y = x.sum(1) + 0.1 * torch.randn(16, generator=gen)
    return [dict(inputs=x[i], targets=y[i]) for i in range(16)]


def _runner(work_dir: str, batch_size: int, accumulate: int, **extra) -> Runner:
    return Runner(
        model=Regressor(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=_data(),
            batch_size=batch_size,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            optimizer=dict(type="SGD", lr=0.2, momentum=0.5), accumulative_counts=accumulate
        ),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=2)),
        **extra,
    )


def _worker(rank: int, world_size: int, work_dir: str) -> None:
    runner = _runner(
        work_dir,
        batch_size=2,
        accumulate=2,
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
    )
    runner.train()
    assert runner.iter == 8  # 16 samples / 2 ranks / batch 2, two epochs
    torch.save(runner.model.module.state_dict(), os.path.join(work_dir, f"rank{rank}.pt"))


@pytest.mark.distributed
def test_ddp_accumulation_matches_big_batch(tmp_path) -> None:
    work_dir = str(tmp_path / "ddp")
    run_in_processes(_worker, 2, work_dir, init_group=False, timeout_s=120)
    states = [torch.load(os.path.join(work_dir, f"rank{r}.pt")) for r in range(2)]
    single = _runner(str(tmp_path / "single"), batch_size=8, accumulate=1)
    single.train()
    assert single.iter == 4
    for name, value in single.model.state_dict().items():
        torch.testing.assert_close(states[0][name], states[1][name], rtol=0, atol=0)
        torch.testing.assert_close(states[0][name], value, rtol=1e-5, atol=1e-6)
    ckpt = torch.load(os.path.join(work_dir, "epoch_2.pth"), weights_only=False)
    assert set(ckpt["state_dict"]) == set(single.model.state_dict())
    # momentum buffers were built from the all-reduced gradients on both ranks alike
    assert len(ckpt["optimizer"]["state"]) == 4
