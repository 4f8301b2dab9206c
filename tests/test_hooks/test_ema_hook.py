from __future__ import annotations

import pytest
import torch
from torch import nn

from piston.hooks import EMAHook
from test_hooks._hooks_fakes import FakeRunner


class BNNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)


@pytest.fixture
def runner(tmp_path):
    torch.manual_seed(0)
    return FakeRunner(tmp_path, model=BNNet(), train_len=2, max_epochs=3)


def _set_weights(model, value):
    with torch.no_grad():
        model.fc.weight.fill_(value)


def test_updates_average_after_each_iteration(runner):
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    hook.before_train(runner)
    _set_weights(runner.model, 1.0)
    hook.after_train_iter(runner, batch_idx=0)  # first update copies
    assert torch.all(hook.ema_model.module.fc.weight == 1.0)
    _set_weights(runner.model, 3.0)
    hook.after_train_iter(runner, batch_idx=1)  # 1 * 0.5 + 3 * 0.5
    assert torch.allclose(hook.ema_model.module.fc.weight, torch.full((2, 2), 2.0))
    assert hook.ema_model.module is not runner.model


def test_before_begin_iter_the_average_copies_weights(runner):
    hook = EMAHook(momentum=0.5, begin_iter=2)
    hook.before_run(runner)
    _set_weights(runner.model, 5.0)
    runner.model.bn.running_mean.fill_(7.0)
    hook.after_train_iter(runner, batch_idx=0)  # iter 0: not started
    assert torch.all(hook.ema_model.module.fc.weight == 5.0)
    assert torch.all(hook.ema_model.module.bn.running_mean == 7.0)
    assert int(hook.ema_model.steps) == 0
    runner._train_loop._iter = 1  # iter + 1 == begin_iter: averaging starts
    hook.after_train_iter(runner, batch_idx=1)
    assert int(hook.ema_model.steps) == 1


def test_begin_epoch(runner):
    hook = EMAHook(begin_epoch=2)
    hook.before_run(runner)
    assert not hook._ema_started(runner)
    runner._train_loop._epoch = 1
    assert hook._ema_started(runner)


def test_validation_and_test_use_ema_weights(runner):
    hook = EMAHook(momentum=0.5)
    hook.before_run(runner)
    _set_weights(runner.model, 1.0)
    hook.after_train_iter(runner, batch_idx=0)
    _set_weights(runner.model, 3.0)
    hook.after_train_iter(runner, batch_idx=1)
    for stage in ("val", "test"):
        getattr(hook, f"before_{stage}_epoch")(runner)
        assert torch.all(runner.model.fc.weight == 2.0)  # EMA weights in the live model
        getattr(hook, f"after_{stage}_epoch")(runner, metrics={})
        assert torch.all(runner.model.fc.weight == 3.0)
        assert torch.all(hook.ema_model.module.fc.weight == 2.0)


def test_checkpoint_holds_ema_as_state_dict_and_resume_swaps_back(runner):
    hook = EMAHook(momentum=0.5)
    runner.hooks = [hook]
    hook.before_run(runner)
    _set_weights(runner.model, 1.0)
    hook.after_train_iter(runner, batch_idx=0)
    _set_weights(runner.model, 3.0)
    hook.after_train_iter(runner, batch_idx=1)
    runner.save_checkpoint(runner.work_dir, "ck.pth")
    ckpt = torch.load(f"{runner.work_dir}/ck.pth", weights_only=True)
    assert torch.all(ckpt["state_dict"]["fc.weight"] == 2.0)  # deployable EMA weights
    assert torch.all(ckpt["ema_state_dict"]["module.fc.weight"] == 3.0)  # raw weights
    assert int(ckpt["ema_state_dict"]["steps"]) == 2
    assert torch.all(runner.model.fc.weight == 3.0)  # the live model is untouched

    resumed = FakeRunner(runner.work_dir, model=BNNet(), resume=True)
    new_hook = EMAHook(momentum=0.5)
    new_hook.before_run(resumed)
    new_hook.after_load_checkpoint(resumed, ckpt)
    assert torch.all(ckpt["state_dict"]["fc.weight"] == 3.0)  # raw weights back for the model
    assert torch.all(new_hook.ema_model.module.fc.weight == 2.0)
    assert int(new_hook.ema_model.steps) == 2


def test_load_without_resume_initialises_ema_from_state_dict(runner, tmp_path):
    hook = EMAHook()
    hook.before_run(runner)
    state = {k: torch.full_like(v, 4.0) for k, v in runner.model.state_dict().items()}
    hook.after_load_checkpoint(runner, {"state_dict": state})
    assert torch.all(hook.ema_model.module.fc.weight == 4.0)
    # resuming from a checkpoint without EMA state warns and does the same
    resumed = FakeRunner(tmp_path / "r", model=BNNet(), resume=True)
    hook = EMAHook()
    hook.before_run(resumed)
    hook.after_load_checkpoint(resumed, {"state_dict": state})
    assert torch.all(hook.ema_model.module.fc.weight == 4.0)
    assert "There is no `ema_state_dict` in checkpoint" in resumed.log_text()


def test_update_buffers_swaps_buffers_too(runner):
    hook = EMAHook(momentum=0.5, update_buffers=True)
    hook.before_run(runner)
    runner.model.bn.running_mean.fill_(2.0)
    hook.after_train_iter(runner, batch_idx=0)
    runner.model.bn.running_mean.fill_(4.0)
    hook.after_train_iter(runner, batch_idx=1)
    hook.before_val_epoch(runner)
    assert torch.all(runner.model.bn.running_mean == 3.0)
    hook.after_val_epoch(runner)
    assert torch.all(runner.model.bn.running_mean == 4.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"begin_iter": 1, "begin_epoch": 1}, "`begin_iter` and `begin_epoch` should not be both"),
        ({"begin_iter": -1}, "begin_iter must larger than 0"),
        ({"begin_epoch": -2}, "begin_epoch must larger than 0"),
    ],
)
def test_bad_begin_arguments(kwargs, match):
    """AssertionError with MMEngine's wording (code written for it matches on the text)."""
    with pytest.raises(AssertionError, match=match):
        EMAHook(**kwargs)


def test_begin_after_training_end_is_rejected(runner):
    hook = EMAHook(begin_epoch=4)
    hook.before_run(runner)
    with pytest.raises(AssertionError, match="begin_epoch should be smaller than or equal to"):
        hook.before_train(runner)
    hook = EMAHook(begin_iter=7)
    hook.before_run(runner)
    with pytest.raises(AssertionError, match="begin_iter should be smaller than or equal to"):
        hook.before_train(runner)
