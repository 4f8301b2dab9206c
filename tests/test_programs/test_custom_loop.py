"""Program 2: custom training loops registered in LOOPS and chosen through ``train_cfg``."""

from __future__ import annotations

import os

import torch

from piston.registry import LOOPS
from piston.runner import BaseLoop, EpochBasedTrainLoop, Runner

from ._common import Acc, TinyNet, loader


@LOOPS.register_module(force=True)
class WarmupThenTrainLoop(EpochBasedTrainLoop):
    """Epoch loop that first runs ``warmup_iters`` forward passes without updating."""

    def __init__(self, runner, dataloader, max_epochs, warmup_iters=2, **kwargs) -> None:
        super().__init__(runner, dataloader, max_epochs, **kwargs)
        self.warmup_iters = warmup_iters
        self.warmup_losses: list[float] = []
        self.epoch_sizes: list[int] = []

    def run_epoch(self) -> None:
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        if self._epoch == 0:
            for idx, data_batch in enumerate(self.dataloader):
                if idx >= self.warmup_iters:
                    break
                with torch.no_grad():
                    data = self.runner.model.data_preprocessor(data_batch, True)
                    losses = self.runner.model(**data, mode="loss")
                self.warmup_losses.append(losses["loss"].item())
        count = 0
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
            count += 1
        self.epoch_sizes.append(count)
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1


@LOOPS.register_module(force=True)
class FixedStepsLoop(BaseLoop):
    """A loop written from scratch on BaseLoop: ``max_iters`` steps, cycling the data."""

    def __init__(self, runner, dataloader, max_iters: int) -> None:
        super().__init__(runner, dataloader)
        self._max_iters = max_iters
        self._max_epochs = 1
        self._epoch = 0
        self._iter = 0

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    def run(self):
        self.runner.call_hook("before_train")
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        data_iter = iter(self.dataloader)
        while self._iter < self._max_iters:
            try:
                data_batch = next(data_iter)
            except StopIteration:
                data_iter = iter(self.dataloader)
                data_batch = next(data_iter)
            self.runner.call_hook("before_train_iter", batch_idx=self._iter, data_batch=data_batch)
            outputs = self.runner.model.train_step(
                data_batch, optim_wrapper=self.runner.optim_wrapper
            )
            self.runner.call_hook(
                "after_train_iter", batch_idx=self._iter, data_batch=data_batch, outputs=outputs
            )
            self._iter += 1
        self.runner.call_hook("after_train_epoch")
        self.runner.call_hook("after_train")
        return self.runner.model


def test_subclassed_epoch_loop(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=12, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(type="WarmupThenTrainLoop", max_epochs=2, warmup_iters=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        randomness=dict(seed=0),
    )
    runner.train()
    loop = runner.train_loop
    assert type(loop) is WarmupThenTrainLoop
    assert len(loop.warmup_losses) == 2
    assert loop.epoch_sizes == [3, 3]
    assert (runner.epoch, runner.iter) == (2, 6)
    assert os.path.isfile(os.path.join(str(tmp_path), "epoch_2.pth"))
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    assert ckpt["meta"]["epoch"] == 2
    assert ckpt["meta"]["iter"] == 6


def test_loop_written_on_base_loop(tmp_path) -> None:
    model = TinyNet()
    before = model.fc.weight.detach().clone()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        train_cfg=dict(type="FixedStepsLoop", max_iters=5),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=5)),
        log_processor=dict(by_epoch=False),
    )
    runner.train()
    assert isinstance(runner.train_loop, FixedStepsLoop)
    assert runner.iter == 5
    assert runner.max_iters == 5
    assert not torch.equal(before, runner.model.fc.weight)
    ckpt = torch.load(os.path.join(str(tmp_path), "iter_5.pth"), weights_only=False)
    assert ckpt["meta"]["iter"] == 5
    assert torch.equal(ckpt["state_dict"]["fc.weight"], runner.model.fc.weight.detach())
