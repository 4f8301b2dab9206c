"""The default hooks never read a logged tensor back on iterations that do not log."""

from __future__ import annotations

import pytest
import torch

from piston.hooks import (
    CheckpointHook,
    DistSamplerSeedHook,
    IterTimerHook,
    LoggerHook,
    ParamSchedulerHook,
    RuntimeInfoHook,
)
from test_hooks._hooks_fakes import FakeRunner

_SYNCING = {
    torch.Tensor.item,
    torch.Tensor.tolist,
    torch.Tensor.__float__,
    torch.Tensor.__int__,
    torch.Tensor.__bool__,
    torch.Tensor.cpu,
    torch.Tensor.numpy,
}


class NoReadBack(torch.Tensor):
    """A tensor that fails on every operation that would wait for the device."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in _SYNCING:
            raise AssertionError(f"host-device sync through {func.__name__}")
        return super().__torch_function__(func, types, args, kwargs or {})


def _default_hooks():
    return [
        RuntimeInfoHook(),
        IterTimerHook(),
        DistSamplerSeedHook(),
        LoggerHook(interval=5),
        ParamSchedulerHook(),
        CheckpointHook(interval=1),
    ]


def _iterate(runner, n, loss, start=0):
    for idx in range(start, start + n):
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=[torch.zeros(2, 2)])
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=None, outputs={"loss": loss})
        runner._train_loop._iter += 1


def test_non_logging_iterations_never_read_tensors(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    runner.hooks = _default_hooks()
    runner.call_hook("before_run")
    runner.call_hook("before_train")
    runner.call_hook("before_train_epoch")
    loss = torch.tensor(0.5).as_subclass(NoReadBack)
    _iterate(runner, 4, loss)  # the logger fires at the 5th iteration only
    assert len(runner.message_hub.get_scalar("train/loss")) == 4
    # the guard is real: reading the stored values back is exactly what it forbids
    with pytest.raises(AssertionError, match="host-device sync"):
        runner.message_hub.get_scalar("train/loss").current()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_no_cuda_sync_between_log_lines(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    runner.hooks = _default_hooks()
    runner.call_hook("before_run")
    runner.call_hook("before_train")
    runner.call_hook("before_train_epoch")
    loss = torch.tensor(0.5, device="cuda")
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        _iterate(runner, 4, loss)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    _iterate(runner, 1, loss, start=4)  # the 5th iteration logs (and may read back)
    assert "Epoch(train) [1][ 5/10]" in runner.log_text()
