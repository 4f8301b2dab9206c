"""Program 1: a custom hook registered in HOOKS and enabled through ``custom_hooks``."""

from __future__ import annotations

import torch

from piston.hooks import Hook
from piston.registry import HOOKS
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


@HOOKS.register_module(force=True)
class RecordHook(Hook):
    """Records what the runner exposes at each hook point."""

    priority = "NORMAL"

    def __init__(self, tag: str, every: int = 1) -> None:
        self.tag = tag
        self.every = every
        self.epochs_started: list[tuple[int, int]] = []
        self.iters: list[tuple[int, int, int, float]] = []
        self.val_metrics: list[tuple[int, int, dict]] = []

    def before_train_epoch(self, runner) -> None:
        self.epochs_started.append((runner.epoch, runner.iter))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.every):
            assert set(data_batch) == {"inputs", "labels"}
            self.iters.append((runner.epoch, runner.iter, batch_idx, outputs["loss"].item()))

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.val_metrics.append((runner.epoch, runner.iter, dict(metrics)))


def test_custom_hook_sees_epoch_iter_loss_and_metrics(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=16, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[dict(type="RecordHook", tag="rec", every=1)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", interval=1)),
        randomness=dict(seed=0),
    )
    hook = next(h for h in runner.hooks if isinstance(h, RecordHook))
    assert hook.tag == "rec"
    runner.train()

    # before_train_epoch: epoch counter not yet advanced, iter counts finished iterations
    assert hook.epochs_started == [(0, 0), (1, 4), (2, 8)]
    # after_train_iter: runner.iter is still the index of the finished iteration
    assert [(e, i, b) for e, i, b, _ in hook.iters] == [
        (e, e * 4 + b, b) for e in range(3) for b in range(4)
    ]
    assert all(loss > 0 for *_, loss in hook.iters)
    # the loss handed to the hook is the loss of that iteration: recompute the first one
    first = hook.iters[0][3]
    assert abs(first - runner.message_hub.get_scalar("train/loss").data[0][0]) < 1e-6
    # after_val_epoch: runs after each training epoch, once the epoch counter advanced
    assert [(e, i) for e, i, _ in hook.val_metrics] == [(1, 4), (2, 8), (3, 12)]
    for *_, metrics in hook.val_metrics:
        assert set(metrics) == {"accuracy"}
        assert 0.0 <= metrics["accuracy"] <= 100.0
    final = runner.val()
    assert final == hook.val_metrics[-1][2]
    assert isinstance(runner.model.fc.weight, torch.Tensor)
