"""Program 4: iteration-based training with InfiniteSampler, then ``resume=True``."""

from __future__ import annotations

import json
import os

import pytest
import torch

from piston.hooks import Hook
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


class CrashAt(Hook):
    """Simulates a crash (a power cut) in the middle of training."""

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter == self.at_iter:
            raise RuntimeError("power cut")


def _cfg(work_dir, max_iters: int, resume: bool = False, seed: int = 7) -> dict:
    train_loader = loader(size=12, batch_size=4)
    train_loader["sampler"] = dict(type="InfiniteSampler", shuffle=True)
    return dict(
        model=dict(type=TinyNet),  # built after seeding, so both runs start alike
        work_dir=str(work_dir),
        train_dataloader=train_loader,
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=False, max_iters=max_iters, val_interval=4),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.2, momentum=0.9)),
        param_scheduler=[
            dict(type="LinearLR", start_factor=0.5, by_epoch=False, begin=0, end=4),
            dict(type="MultiStepLR", milestones=[6], gamma=0.1, by_epoch=False),
        ],
        log_processor=dict(by_epoch=False),
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=2, log_metric_by_epoch=False),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=4),
        ),
        randomness=dict(seed=seed),
        resume=resume,
    )


def _scalars(work_dir) -> list[dict]:
    found = []
    for root, _, files in os.walk(work_dir):
        if "scalars.json" in files:
            with open(os.path.join(root, "scalars.json")) as fobj:
                found.extend(json.loads(line) for line in fobj if line.strip())
    return found


def test_iter_based_training_then_resume_matches_uninterrupted(tmp_path) -> None:
    full = Runner(**_cfg(tmp_path / "full", max_iters=10))
    full.train()
    assert full.iter == 10
    assert sorted(f for f in os.listdir(full.work_dir) if f.endswith(".pth")) == [
        "iter_10.pth",
        "iter_4.pth",
        "iter_8.pth",
    ]
    records = _scalars(full.work_dir)
    train_steps = [r["step"] for r in records if "loss" in r]
    assert train_steps == [2, 4, 6, 8, 10]
    val_steps = [r["step"] for r in records if "accuracy" in r]
    assert val_steps == [4, 8, 10]
    lrs = {r["step"]: r["lr"] for r in records if "lr" in r}
    # LinearLR warms up over end - begin - 1 = 3 iterations; step 2 logs the lr of iter 1
    assert abs(lrs[2] - 0.2 * (0.5 + 0.5 * 1 / 3)) < 1e-9
    assert abs(lrs[10] - 0.02) < 1e-9  # MultiStepLR milestone 6

    # interrupted run: the same program crashes at iteration 6, then resumes in its work_dir
    part_cfg = _cfg(tmp_path / "part", max_iters=10)
    part_cfg["custom_hooks"] = [dict(type=CrashAt, at_iter=6)]
    with pytest.raises(RuntimeError, match="power cut"):
        Runner(**part_cfg).train()
    with open(os.path.join(str(tmp_path / "part"), "last_checkpoint")) as fobj:
        assert fobj.read().strip().endswith("iter_4.pth")
    second = Runner(**_cfg(tmp_path / "part", max_iters=10, resume=True))
    second.train()
    assert second.iter == 10
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[name], value)
    assert second.optim_wrapper.get_lr()["lr"] == full.optim_wrapper.get_lr()["lr"]
    ckpt = torch.load(os.path.join(second.work_dir, "iter_10.pth"), weights_only=False)
    assert ckpt["meta"]["iter"] == 10
