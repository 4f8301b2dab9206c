from __future__ import annotations

from types import SimpleNamespace

import pytest

from piston.hooks import Hook
from piston.registry import HOOKS

STAGES = [
    "before_run",
    "after_load_checkpoint",
    "before_train",
    "before_train_epoch",
    "before_train_iter",
    "after_train_iter",
    "after_train_epoch",
    "before_val",
    "before_val_epoch",
    "before_val_iter",
    "after_val_iter",
    "after_val_epoch",
    "after_val",
    "before_save_checkpoint",
    "after_train",
    "before_test",
    "before_test_epoch",
    "before_test_iter",
    "after_test_iter",
    "after_test_epoch",
    "after_test",
    "after_run",
]


def test_stage_list_and_default_priority():
    assert list(Hook.stages) == STAGES
    assert Hook.priority == "NORMAL"


def test_base_stages_are_noops_with_spec_signatures():
    hook, runner = Hook(), SimpleNamespace()
    for stage in ("before_run", "after_run", "before_train_epoch", "after_train_epoch"):
        assert getattr(hook, stage)(runner) is None
    assert hook.after_val_epoch(runner, metrics={"a": 1.0}) is None
    assert hook.before_train_iter(runner, batch_idx=0, data_batch=[1]) is None
    assert hook.after_train_iter(runner, batch_idx=0, data_batch=None, outputs={}) is None
    assert hook.after_test_iter(runner, batch_idx=0, outputs=[]) is None
    assert hook.before_save_checkpoint(runner, checkpoint={}) is None


def test_mode_helpers_receive_every_mode():
    calls = []

    class Recorder(Hook):
        def _before_epoch(self, runner, mode="train"):
            calls.append(("before_epoch", mode))

        def _after_epoch(self, runner, mode="train"):
            calls.append(("after_epoch", mode))

        def _before_iter(self, runner, batch_idx, data_batch=None, mode="train"):
            calls.append(("before_iter", mode, batch_idx))

        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
            calls.append(("after_iter", mode, batch_idx, outputs))

    hook, runner = Recorder(), SimpleNamespace()
    for mode in ("train", "val", "test"):
        getattr(hook, f"before_{mode}_epoch")(runner)
        getattr(hook, f"before_{mode}_iter")(runner, batch_idx=3)
        getattr(hook, f"after_{mode}_iter")(runner, batch_idx=3, outputs="out")
    hook.after_train_epoch(runner)
    hook.after_val_epoch(runner, metrics={})
    hook.after_test_epoch(runner, metrics={})
    assert calls == [
        ("before_epoch", "train"),
        ("before_iter", "train", 3),
        ("after_iter", "train", 3, "out"),
        ("before_epoch", "val"),
        ("before_iter", "val", 3),
        ("after_iter", "val", 3, "out"),
        ("before_epoch", "test"),
        ("before_iter", "test", 3),
        ("after_iter", "test", 3, "out"),
        ("after_epoch", "train"),
        ("after_epoch", "val"),
        ("after_epoch", "test"),
    ]


def test_get_triggered_stages_direct_and_helper_overrides():
    class Direct(Hook):
        def before_run(self, runner):
            pass

        def after_val_epoch(self, runner, metrics=None):
            pass

    class ViaHelper(Hook):
        def _after_iter(self, runner, batch_idx, data_batch=None, outputs=None, mode="train"):
            pass

    class Child(Direct):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            pass

    assert Hook().get_triggered_stages() == set()
    assert Direct().get_triggered_stages() == {"before_run", "after_val_epoch"}
    assert ViaHelper().get_triggered_stages() == {
        "after_train_iter",
        "after_val_iter",
        "after_test_iter",
    }
    assert Child().get_triggered_stages() == {"before_run", "after_val_epoch", "after_train_iter"}


def _runner(epoch=0, it=0, max_epochs=3, max_iters=30):
    return SimpleNamespace(epoch=epoch, iter=it, max_epochs=max_epochs, max_iters=max_iters)


def test_every_n_predicates():
    hook = Hook()
    assert [hook.every_n_epochs(_runner(epoch=e), 2) for e in range(4)] == [
        False,
        True,
        False,
        True,
    ]
    # start shifts the phase; before start nothing fires
    assert [hook.every_n_epochs(_runner(epoch=e), 2, start=2) for e in range(5)] == [
        False,
        True,
        False,
        True,
        False,
    ]
    assert not hook.every_n_epochs(_runner(epoch=0), 1, start=3)
    assert not hook.every_n_epochs(_runner(epoch=5), 0)
    assert not hook.every_n_epochs(_runner(epoch=5), -1)
    assert hook.every_n_train_iters(_runner(it=9), 10)
    assert not hook.every_n_train_iters(_runner(it=8), 10)
    assert hook.every_n_train_iters(_runner(it=12), 10, start=3)
    assert hook.every_n_inner_iters(4, 5)
    assert not hook.every_n_inner_iters(5, 5)
    assert not hook.every_n_inner_iters(4, 0)


def test_end_and_last_predicates():
    hook = Hook()
    assert hook.end_of_epoch([0, 1, 2], 2)
    assert not hook.end_of_epoch([0, 1, 2], 1)
    assert hook.is_last_train_epoch(_runner(epoch=2, max_epochs=3))
    assert not hook.is_last_train_epoch(_runner(epoch=1, max_epochs=3))
    assert hook.is_last_train_iter(_runner(it=29, max_iters=30))
    assert not hook.is_last_train_iter(_runner(it=28, max_iters=30))


BUILTINS = {
    "RuntimeInfoHook": 10,
    "IterTimerHook": 50,
    "DistSamplerSeedHook": 50,
    "LoggerHook": 60,
    "ParamSchedulerHook": 70,
    "CheckpointHook": 90,
    "EMAHook": 50,
    "EmptyCacheHook": 50,
    "SyncBuffersHook": 50,
    "EarlyStoppingHook": 100,
    "PrepareTTAHook": 50,
    "ProfilerHook": 90,
    "NaiveVisualizationHook": 50,
    "NPUProfilerHook": 90,
}


@pytest.mark.parametrize("name, priority", sorted(BUILTINS.items()))
def test_builtin_hooks_registered_with_spec_priority(name, priority):
    from piston.runner.priority import get_priority

    cls = HOOKS.get(name)
    assert cls is not None
    assert issubclass(cls, Hook)
    assert get_priority(cls.priority) == priority


def test_custom_hook_from_spec_contract_registers_and_builds():
    @HOOKS.register_module(name="_TestCheckNaN", force=True)
    class CheckNaN(Hook):
        priority = "ABOVE_NORMAL"

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            import torch

            if torch.isnan(outputs["loss"]):
                raise RuntimeError("nan loss")

    hook = HOOKS.build({"type": "_TestCheckNaN"})
    assert hook.get_triggered_stages() == {"after_train_iter"}
    import torch

    with pytest.raises(RuntimeError, match="nan loss"):
        hook.after_train_iter(None, 0, outputs={"loss": torch.tensor(float("nan"))})
