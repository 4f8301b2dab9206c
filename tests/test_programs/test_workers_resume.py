"""Epoch-based training with worker processes, checkpoints every few iterations, a crash in the
middle of an epoch and ``resume=True``: the resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import pytest
import torch

from piston.runner import Runner

from ._common import Acc, TinyNet, loader
from .test_iter_based_resume import CrashAt


def _cfg(work_dir, hooks=(), resume: bool = False) -> dict:
    train_loader = loader(size=16, batch_size=4)
    train_loader.update(num_workers=2, persistent_workers=True)
    val_loader = loader(size=8, batch_size=4, shuffle=False, seed=1)
    val_loader.update(num_workers=2)
    return dict(
        model=dict(type=TinyNet),
        work_dir=str(work_dir),
        train_dataloader=train_loader,
        val_dataloader=val_loader,
        val_evaluator=dict(type=Acc, prefix="cls"),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=3)),
        custom_hooks=list(hooks),
        randomness=dict(seed=5),
        resume=resume,
    )


def test_mid_epoch_resume_with_worker_processes(tmp_path) -> None:
    full = Runner(**_cfg(tmp_path / "full"))
    full.train()
    full_metrics = full.val()
    assert set(full_metrics) == {"cls/accuracy"}

    # crash at iteration 8 (epoch 2, batch 0); the last checkpoint is iter_6, mid epoch 1
    with pytest.raises(RuntimeError, match="power cut"):
        Runner(**_cfg(tmp_path / "part", hooks=[CrashAt(at_iter=8)])).train()
    resumed = Runner(**_cfg(tmp_path / "part", resume=True))
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (3, 12)
    for name, value in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value)
    assert resumed.val() == full_metrics
