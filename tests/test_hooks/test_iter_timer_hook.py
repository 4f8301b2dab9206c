from __future__ import annotations

import time

import pytest
import torch

from piston.hooks import IterTimerHook
from piston.hooks.iter_timer_hook import ThroughputMeter, batch_size_of
from test_hooks._hooks_fakes import FakeRunner


def test_records_data_time_time_and_train_eta(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    hook = IterTimerHook()
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    time.sleep(0.02)  # "waiting for data"
    hook.before_train_iter(runner, batch_idx=0)
    time.sleep(0.02)  # "computing"
    hook.after_train_iter(runner, batch_idx=0)
    hub = runner.message_hub
    data_time = hub.get_scalar("train/data_time").current()
    iter_time = hub.get_scalar("train/time").current()
    assert 0.015 < data_time < iter_time
    assert iter_time >= 0.035
    # 9 iterations remain at the mean time of the one done
    assert hub.get_info("eta") == pytest.approx(iter_time * 9, rel=1e-6)


def test_eta_counts_only_iterations_run_since_resume(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=2)
    runner._train_loop._iter = 15  # resumed at iteration 15 of 20
    hook = IterTimerHook()
    hook.before_train(runner)
    assert hook.start_iter == 15  # the attribute name hooks.md gives
    hook.before_train_epoch(runner)
    assert isinstance(hook.t, float)
    hook.before_train_iter(runner, batch_idx=5)
    hook.after_train_iter(runner, batch_idx=5)
    iter_time = runner.message_hub.get_scalar("train/time").current()
    assert runner.message_hub.get_info("eta") == pytest.approx(iter_time * 4, rel=1e-6)


def test_val_eta_uses_remaining_batches_and_resets_per_epoch(tmp_path):
    runner = FakeRunner(tmp_path, val_len=4)
    hook = IterTimerHook()
    hook.before_val_epoch(runner)
    for idx in range(2):
        hook.before_val_iter(runner, batch_idx=idx)
        hook.after_val_iter(runner, batch_idx=idx)
    times = runner.message_hub.get_scalar("val/time").data[0]
    assert runner.message_hub.get_info("eta") == pytest.approx(times.mean() * 2, rel=1e-6)
    hook.after_val_epoch(runner)
    assert hook.time_sec_test_val == 0.0
    assert runner.message_hub.get_scalar("val/data_time").data[0].shape == (2,)


def test_throughput_meter_skips_first_batch_and_counts_samples(tmp_path):
    runner = FakeRunner(tmp_path, train_len=4, max_epochs=1)
    hook = IterTimerHook()
    hook.before_run(runner)
    hook.before_train(runner)
    meter = runner.message_hub.get_info("throughput_meter")
    assert meter is hook.throughput
    hook.before_train_epoch(runner)
    for idx in range(4):
        batch = [torch.zeros(8, 3), torch.zeros(8)]
        hook.before_train_iter(runner, batch_idx=idx, data_batch=batch)
        hook.after_train_iter(runner, batch_idx=idx, data_batch=batch)
        runner._train_loop._iter += 1
    samples, iter_time, data_time, iters = meter.window()
    assert (samples, iters) == (24, 3)
    assert 0 < data_time <= iter_time
    assert meter.window() == (samples, iter_time, data_time, iters)  # same point, same window
    # not saved in checkpoints
    assert "throughput_meter" not in runner.message_hub.state_dict()["runtime_info"]


def test_meter_window_is_a_delta():
    meter = ThroughputMeter()
    meter.add(4, 1.0, 0.5)
    assert meter.window() == (4, 1.0, 0.5, 1)
    meter.add(2, 2.0, 0.0)
    assert meter.window() == (2, 2.0, 0.0, 1)
    # Asked again with nothing new (another log call at the same iteration): the same window.
    assert meter.window() == (2, 2.0, 0.0, 1)
    meter.add(3, 1.0, 0.25)
    assert meter.window() == (3, 1.0, 0.25, 1)
    assert ThroughputMeter().window() is None  # nothing recorded yet


@pytest.mark.parametrize(
    "batch, expected",
    [
        (torch.zeros(5, 3), 5),
        ([torch.zeros(6, 3), torch.zeros(6)], 6),
        ({"inputs": [torch.zeros(3)] * 7, "data_samples": [None] * 7}, 7),
        ({"inputs": torch.zeros(2, 3)}, 2),
        ([[1, 2, 3], [0, 1, 0]], 3),
        ([{"a": 1}, {"a": 2}], 2),
        (None, 0),
        (torch.tensor(1.0), 0),
    ],
)
def test_batch_size_of_common_collates(batch, expected):
    assert batch_size_of(batch) == expected


def test_throughput_skips_the_iteration_after_validation(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    hook = IterTimerHook()
    hook.before_run(runner)
    hook.before_train(runner)
    hook.before_train_epoch(runner)

    def train_iter(idx):
        hook.before_train_iter(runner, batch_idx=idx, data_batch=torch.zeros(4, 1))
        hook.after_train_iter(runner, batch_idx=idx)
        runner._train_loop._iter += 1

    train_iter(0)  # skipped: first of the epoch
    train_iter(1)
    hook.before_val_epoch(runner)
    hook.before_val_iter(runner, batch_idx=0)
    hook.after_val_iter(runner, batch_idx=0)
    hook.after_val_epoch(runner)
    train_iter(2)  # skipped: right after validation
    train_iter(3)
    assert hook.throughput.window()[::3] == (8, 2)


class _HelperTimer(IterTimerHook):
    """An MMEngine-style extension: overrides the mode-generic helpers only."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
        self.calls.append(("before", mode))
        super()._before_iter(runner, batch_idx, data_batch, mode)

    def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
        self.calls.append(("after", mode))
        super()._after_iter(runner, batch_idx, data_batch, outputs, mode)


class _TrainStageTimer(_HelperTimer):
    """Overrides the train stage itself too: that override wins."""

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.calls.append(("own", "train"))


def test_subclass_helper_overrides_run_in_train_mode_too(tmp_path):
    from test_runner._toy import runner_kwargs

    from piston.runner import Runner

    hook = _HelperTimer()
    runner = Runner(**runner_kwargs(tmp_path, default_hooks={"timer": hook}))
    runner.train()  # 2 epochs x 3 train batches, 2 validations x 3 batches
    assert hook.calls.count(("before", "train")) == 6
    assert hook.calls.count(("after", "train")) == 6
    assert hook.calls.count(("after", "val")) == 6
    assert len(runner.message_hub.get_scalar("train/time").data[0]) == 6
    assert "eta" in runner.message_hub.runtime_info
    # The plain hook keeps its written-out train stages; a subclass overriding the stage keeps it.
    assert IterTimerHook.after_train_iter is not _HelperTimer.after_train_iter
    own = _TrainStageTimer()
    own.after_train_iter(FakeRunner(tmp_path / "f"), batch_idx=0)
    assert own.calls == [("own", "train")]
