from __future__ import annotations

import math

import pytest
import torch

from piston.hooks import EarlyStoppingHook
from test_hooks._hooks_fakes import FakeRunner


@pytest.fixture
def runner(tmp_path):
    return FakeRunner(tmp_path)


def _feed(runner, hook, values, key="acc"):
    stopped_at = None
    for i, value in enumerate(values):
        hook.after_val_epoch(runner, metrics={key: value})
        if runner.train_loop.stop_training and stopped_at is None:
            stopped_at = i
    return stopped_at


def test_stops_after_patience_without_improvement(runner):
    hook = EarlyStoppingHook(monitor="acc", patience=2, min_delta=0.1)
    # 0.55 is not better than 0.5 + min_delta: two stalls in a row stop training
    assert _feed(runner, hook, [0.5, 0.55, 0.58, 0.9]) == 2
    assert "did not improve in the last 2 records" in runner.log_text()


def test_improvement_resets_patience(runner):
    hook = EarlyStoppingHook(monitor="acc", patience=2, min_delta=0.0)
    assert _feed(runner, hook, [0.5, 0.4, 0.6, 0.5, 0.7]) is None
    assert hook.best_score == 0.7
    assert hook.wait_count == 0


def test_less_rule_inferred_from_loss(runner):
    hook = EarlyStoppingHook(monitor="val_loss", patience=1, min_delta=0.0)
    assert hook.rule == "less"
    assert _feed(runner, hook, [1.0, 0.5, 0.6], key="val_loss") == 2


def test_non_finite_value_stops(runner):
    hook = EarlyStoppingHook(monitor="loss")
    assert _feed(runner, hook, [1.0, torch.tensor(math.nan)], key="loss") == 1
    assert "is infinite" in runner.log_text()
    runner.train_loop.stop_training = False
    assert (
        _feed(runner, EarlyStoppingHook(monitor="loss", check_finite=False), [math.inf], key="loss")
        is None
    )


def test_stopping_threshold(runner):
    hook = EarlyStoppingHook(monitor="acc", stopping_threshold=0.9)
    assert _feed(runner, hook, [0.5, 0.95]) == 1
    assert "Stopping threshold reached" in runner.log_text()


def test_missing_monitor_warns_or_raises(runner):
    with pytest.warns(UserWarning, match="do not include `monitor`"):
        EarlyStoppingHook(monitor="acc").after_val_epoch(runner, metrics={"loss": 1.0})
    with pytest.raises(RuntimeError, match="not available"):
        EarlyStoppingHook(monitor="acc", strict=True).after_val_epoch(runner, {"loss": 1.0})


def test_rule_errors():
    with pytest.raises(ValueError, match="greater"):
        EarlyStoppingHook(monitor="acc", rule="bigger")
    with pytest.raises(ValueError, match="infer"):
        EarlyStoppingHook(monitor="weird")


def test_before_run_requires_stop_training(runner):
    EarlyStoppingHook(monitor="acc").before_run(runner)
    del runner.train_loop.stop_training
    with pytest.raises(AssertionError, match="stop_training"):
        EarlyStoppingHook(monitor="acc").before_run(runner)
    runner._train_loop = None  # a test-only run has nothing to stop: no error
    EarlyStoppingHook(monitor="acc").before_run(runner)
