"""A real Runner on CUDA: no host-device sync between log lines, fast path, memory field.

These run only where a CUDA device is present (``-m gpu``); CI has none.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.hooks import Hook
from piston.model import BaseModel
from piston.runner import Runner

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA"),
]

INTERVAL = 5


class Images(Dataset):
    def __init__(self, n: int = 160) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, 16, 16, generator=gen)
        self.y = torch.randint(0, 10, (n,), generator=gen)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, idx: int):
        return dict(imgs=self.x[idx], labels=self.y[idx])


class ConvNet(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 10)

    def forward(self, imgs, labels, mode="tensor"):
        x = F.relu(self.bn(self.conv(imgs))).mean((2, 3))
        out = self.fc(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(out, labels)}
        return out


class SyncGuard(Hook):
    """Turn CUDA's sync detector to 'error' for every iteration that does not log.

    HIGHEST: armed before the other hooks' ``before_train_iter``; the disarming hook below runs
    at priority 55, after RuntimeInfo/IterTimer/ParamScheduler and before the LoggerHook (60).
    """

    priority = "HIGHEST"

    def __init__(self) -> None:
        self.guarded = 0

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if (runner.iter + 1) % INTERVAL:
            torch.cuda.set_sync_debug_mode("error")
            self.guarded += 1


class Disarm(Hook):
    priority = 55

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        torch.cuda.set_sync_debug_mode("default")


def _runner(tmp_path, **extra):
    guard = SyncGuard()
    cfg = dict(
        model=ConvNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Images(),
            batch_size=16,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=True),
            collate_fn=dict(type="default_collate"),
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        param_scheduler=dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=20),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=INTERVAL)),
        custom_hooks=[guard, Disarm()],
        randomness=dict(seed=0),
    )
    cfg.update(extra)
    return Runner(**cfg), guard


def test_training_on_cuda_never_syncs_between_log_lines(tmp_path):
    runner, guard = _runner(tmp_path)
    try:
        runner.train()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert next(runner.model.parameters()).is_cuda
    assert guard.guarded == 16  # 20 iterations, 4 of which log
    log = (tmp_path / runner.timestamp / f"{runner.timestamp}.log").read_text()
    assert "memory: " in log  # CUDA max memory, in MB
    assert "Epoch(train) [2][10/10]" in log


def test_fast_path_on_cuda_trains_in_bf16_without_sync(tmp_path):
    guard = SyncGuard()
    cfg = dict(
        model=ConvNet(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=Images(),
            batch_size=16,
            num_workers=2,
            sampler=dict(type="DefaultSampler", shuffle=True),
            collate_fn=dict(type="default_collate"),
        ),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=INTERVAL)),
        custom_hooks=[guard, Disarm()],
        fast=True,
    )
    runner = Runner.from_cfg(cfg)  # deep-copies the config, hooks included
    guard = next(hook for hook in runner.hooks if isinstance(hook, SyncGuard))
    try:
        runner.train()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert guard.guarded == 16
    assert type(runner.optim_wrapper).__name__ == "AmpOptimWrapper"
    assert runner.optim_wrapper.cast_dtype == torch.bfloat16
    weight = runner.model.conv.weight
    assert weight.is_cuda
    assert weight.is_contiguous(memory_format=torch.channels_last)


def test_resume_on_cuda_maps_the_saved_rng_states_back_to_the_host(tmp_path):
    # ``resume=True`` loads the checkpoint onto the GPU (map_location 'default'); the RNG states
    # in ``train_state`` come back as CUDA tensors and must still restore.
    torch.manual_seed(0)  # the same initial weights for the full and the cut run
    full, _ = _runner(tmp_path / "full")
    try:
        full.train()
        torch.manual_seed(0)
        first, _ = _runner(tmp_path / "cut", train_cfg=dict(by_epoch=True, max_epochs=1))
        first.train()
        resumed, _ = _runner(tmp_path / "cut", resume=True)
        resumed.train()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert resumed.iter == full.iter == 20
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
