"""RuntimeInfoHook reads the learning rate directly from a stock OptimWrapper every iteration,
following changes of the lr, of the optimizer and of the wrapper, and still calls an overridden
``get_lr``."""

from __future__ import annotations

import torch

from piston.hooks import RuntimeInfoHook
from piston.optim import OptimWrapper
from test_hooks._hooks_fakes import FakeRunner


class _CustomLr(OptimWrapper):
    def get_lr(self) -> dict:
        return {"lr": [123.0], "other_lr": [7.0]}


def _lrs(runner, key: str = "train/lr") -> list[float]:
    return runner.message_hub.get_scalar(key).data[0].tolist()


def test_lr_follows_param_group_optimizer_and_wrapper_changes(tmp_path) -> None:
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    hook = RuntimeInfoHook()
    hook.before_train_iter(runner, batch_idx=0)
    runner.optim_wrapper.optimizer.param_groups[0]["lr"] = 0.05  # a scheduler step
    hook.before_train_iter(runner, batch_idx=1)
    params = list(runner.model.parameters())
    runner.optim_wrapper.optimizer = torch.optim.SGD(params, lr=0.01)
    hook.before_train_iter(runner, batch_idx=2)
    runner.optim_wrapper = _CustomLr(torch.optim.SGD(params, lr=0.5))
    hook.before_train_iter(runner, batch_idx=3)
    runner.optim_wrapper = OptimWrapper(torch.optim.SGD(params, lr=0.2))
    hook.before_train_iter(runner, batch_idx=4)
    assert _lrs(runner) == [0.1, 0.05, 0.01, 123.0, 0.2]
    assert _lrs(runner, "train/other_lr") == [7.0]


def test_several_param_groups_also_log_base_lr(tmp_path) -> None:
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    weight, bias = list(runner.model.parameters())[:2]
    optimizer = torch.optim.SGD([{"params": [weight]}, {"params": [bias], "lr": 0.3}], lr=0.1)
    runner.optim_wrapper = OptimWrapper(optimizer)
    hook = RuntimeInfoHook()
    for idx in range(2):
        hook.before_train_iter(runner, batch_idx=idx)
    assert _lrs(runner) == [0.1, 0.1]
    assert _lrs(runner, "train/base_lr") == [0.1, 0.1]
