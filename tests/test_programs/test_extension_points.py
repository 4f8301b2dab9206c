"""Extension points that user programs lean on and that a faster per-iteration path must keep.

A custom OptimWrapper overriding ``backward``/``step``/``zero_grad``, hooks written against the
``_before_epoch``/``_after_iter`` helpers, a stage method attached to a hook instance, a user
stage fired with ``runner.call_hook`` and a hook registered in the middle of training.
"""

from __future__ import annotations

import torch

from piston.hooks import Hook
from piston.optim import OptimWrapper
from piston.registry import OPTIM_WRAPPERS
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


@OPTIM_WRAPPERS.register_module(force=True)
class TracingOptimWrapper(OptimWrapper):
    """Records each call, as a user wrapper adding e.g. gradient statistics would."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[str] = []

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        self.calls.append("backward")
        super().backward(loss, **kwargs)

    def step(self, **kwargs) -> None:
        self.calls.append("step")
        super().step(**kwargs)

    def zero_grad(self, **kwargs) -> None:
        self.calls.append("zero_grad")
        super().zero_grad(**kwargs)


class ModeHook(Hook):
    """Overrides only the shared helpers, so it fires for train, val and test alike."""

    def __init__(self) -> None:
        self.events: list[tuple] = []

    def _before_epoch(self, runner, mode: str = "train") -> None:
        self.events.append(("before_epoch", mode))

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train") -> None:
        self.events.append(("after_iter", mode, batch_idx))

    def announce(self, runner, message: str = "") -> None:  # a user-defined stage
        self.events.append(("announce", message))


class LateHook(Hook):
    def __init__(self) -> None:
        self.iters: list[int] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.iters.append(runner.iter)


class AddLateHook(Hook):
    def __init__(self, late: LateHook) -> None:
        self.late = late

    def after_train_epoch(self, runner) -> None:
        if runner.epoch == 0:
            runner.register_hook(self.late, priority="LOW")


def test_user_wrapper_and_hook_extension_points(tmp_path) -> None:
    mode_hook = ModeHook()
    late = LateHook()
    attached: list[int] = []
    plain = Hook()
    plain.after_train_iter = lambda runner, batch_idx, data_batch=None, outputs=None: (
        attached.append(batch_idx)
    )
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=2),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type=Acc),
        val_cfg=dict(),
        test_dataloader=loader(size=4, batch_size=4, shuffle=False),
        test_evaluator=dict(type=Acc),
        test_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=2),
        optim_wrapper=dict(
            type="TracingOptimWrapper",
            optimizer=dict(type="SGD", lr=0.1),
            accumulative_counts=2,
        ),
        custom_hooks=[mode_hook, plain, AddLateHook(late)],
    )
    runner.train()
    runner.test()
    runner.call_hook("announce", message="done")

    # 8 iterations, an update every 2: backward each time, step + zero_grad every other one
    assert runner.optim_wrapper.calls == ["backward", "backward", "step", "zero_grad"] * 4
    assert attached == [0, 1, 2, 3] * 2
    assert late.iters == [4, 5, 6, 7]
    train_iters = [e for e in mode_hook.events if e[:2] == ("after_iter", "train")]
    assert [e[2] for e in train_iters] == [0, 1, 2, 3] * 2
    assert ("before_epoch", "val") in mode_hook.events
    assert mode_hook.events[-3:] == [
        ("before_epoch", "test"),
        ("after_iter", "test", 0),
        ("announce", "done"),
    ]
