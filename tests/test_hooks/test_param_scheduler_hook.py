from __future__ import annotations

import pytest
import torch

from piston.hooks import ParamSchedulerHook
from piston.optim.scheduler import LinearLR, MultiStepLR, ReduceOnPlateauLR
from test_hooks._hooks_fakes import FakeRunner


@pytest.fixture
def runner(tmp_path):
    return FakeRunner(tmp_path, train_len=2, max_epochs=3)


def _lr(runner):
    return runner.optim_wrapper.optimizer.param_groups[0]["lr"]


def test_iter_schedulers_step_after_iters_epoch_ones_after_epochs(runner):
    iter_sched = LinearLR(runner.optim_wrapper, start_factor=0.5, by_epoch=False, begin=0, end=4)
    epoch_sched = MultiStepLR(runner.optim_wrapper, milestones=[1], gamma=0.1, by_epoch=True)
    runner.param_schedulers = [iter_sched, epoch_sched]
    runner.hooks = [ParamSchedulerHook()]
    runner.call_hook("before_train")
    lrs = [_lr(runner)]
    for idx in range(2):
        runner.call_hook("after_train_iter", batch_idx=idx)
        lrs.append(_lr(runner))
    assert lrs[0] < lrs[1] < lrs[2] < 0.1  # warming up per iteration
    assert (iter_sched.last_step, epoch_sched.last_step) == (2, 0)
    runner.call_hook("after_train_epoch")
    assert (iter_sched.last_step, epoch_sched.last_step) == (2, 1)
    assert _lr(runner) == pytest.approx(lrs[2] * 0.1)


def test_dict_of_lists_and_none(runner):
    sched = MultiStepLR(runner.optim_wrapper, milestones=[1], gamma=0.1, by_epoch=True)
    runner.param_schedulers = {"main": [sched]}
    ParamSchedulerHook().after_train_epoch(runner)
    assert _lr(runner) == pytest.approx(0.01)
    runner.param_schedulers = None
    hook = ParamSchedulerHook()
    hook.after_train_iter(runner, batch_idx=0)
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, metrics={"loss": 1.0})


def test_bad_param_schedulers_type_is_type_error(runner):
    runner.param_schedulers = "not schedulers"
    with pytest.raises(TypeError, match="param_schedulers"):
        ParamSchedulerHook().after_train_epoch(runner)


def test_after_val_epoch_steps_only_need_val_args_schedulers(runner):
    plateau = ReduceOnPlateauLR(
        runner.optim_wrapper, monitor="loss", patience=0, factor=0.5, by_epoch=True
    )
    step = MultiStepLR(runner.optim_wrapper, milestones=[1], gamma=0.1, by_epoch=True)
    runner.param_schedulers = [plateau, step]
    hook = ParamSchedulerHook()
    hook.after_val_epoch(runner, metrics=None)  # no metrics: nothing
    hook.after_val_epoch(runner, metrics={"loss": 1.0})
    hook.after_val_epoch(runner, metrics={"loss": 2.0})  # no improvement: halve
    assert step.last_step == 0
    assert _lr(runner) == pytest.approx(0.05)


def test_unbuilt_scheduler_configs_are_skipped_after_val(runner):
    runner.param_schedulers = [{"type": "MultiStepLR", "milestones": [1]}]
    ParamSchedulerHook().after_val_epoch(runner, metrics={"loss": 1.0})
    assert _lr(runner) == pytest.approx(0.1)
    assert isinstance(runner.optim_wrapper.optimizer, torch.optim.SGD)


def test_replacing_runner_param_schedulers_is_seen_by_the_same_hook(runner):
    """The hook reads ``runner.param_schedulers`` anew when it is replaced (as MMEngine does)."""
    first = LinearLR(runner.optim_wrapper, start_factor=0.5, by_epoch=False, begin=0, end=4)
    runner.param_schedulers = [first]
    hook = ParamSchedulerHook()
    hook.before_train(runner)
    hook.after_train_iter(runner, batch_idx=0)
    assert first.last_step == 1
    second = LinearLR(runner.optim_wrapper, start_factor=0.5, by_epoch=False, begin=0, end=4)
    runner.param_schedulers = {"main": [second]}
    hook.after_train_iter(runner, batch_idx=1)
    assert (first.last_step, second.last_step) == (1, 1)
    runner.param_schedulers = "invalid"
    with pytest.raises(TypeError, match="should be list of ParamScheduler"):
        hook.after_train_iter(runner, batch_idx=2)


def test_after_val_epoch_ignores_objects_that_are_not_built_schedulers(runner):
    """Only built schedulers (``_ParamScheduler`` instances) get the validation metrics."""
    from unittest.mock import Mock

    fake = Mock(by_epoch=True, need_val_args=True)
    runner.param_schedulers = [fake]
    ParamSchedulerHook().after_val_epoch(runner, metrics={"loss": 1.0})
    fake.step.assert_not_called()


def test_single_unbuilt_scheduler_config_is_skipped_after_val(runner):
    """``param_scheduler=dict(type=...)`` (one config, not built before ``Runner.val()``)."""
    runner.param_schedulers = dict(type="MultiStepLR", milestones=[1], by_epoch=True)
    hook = ParamSchedulerHook()
    hook.after_val_epoch(runner, metrics={"loss": 1.0})
    hook.after_train_epoch(runner)
    assert _lr(runner) == 0.1  # nothing was stepped
