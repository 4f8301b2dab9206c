"""Runners built in the same second: each keeps its own logger, message hub, visualizer and scope.

The timestamp has one-second resolution, so two Runners built back to back share it and, with it,
their experiment name. Their global ManagerMixin instances must still be their own: otherwise the
second Runner's log lines land in the first Runner's work_dir.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import piston.runner.runner as runner_module
from piston.logging import MessageHub, MMLogger
from piston.registry import DefaultScope
from piston.runner import Runner
from piston.visualization import Visualizer

from ._toy import runner_kwargs

STAMP = "20260102_030405"


@pytest.fixture
def same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every Runner built in the test gets the same timestamp, as in one real second."""
    monkeypatch.setattr(runner_module, "broadcast_timestamp", lambda: STAMP)


def _runner(work_dir: Path, **overrides) -> Runner:
    kwargs = dict(
        train_cfg={"by_epoch": False, "max_iters": 3, "val_interval": 100},
        val_dataloader=None,
        val_cfg=None,
        val_evaluator=None,
        default_hooks={
            "logger": {"type": "LoggerHook", "interval": 1},
            "checkpoint": {"type": "CheckpointHook", "interval": 100, "save_last": False},
        },
        log_processor={"by_epoch": False},
    )
    kwargs.update(overrides)
    return Runner(**runner_kwargs(work_dir, **kwargs))


def _log_text(runner: Runner) -> str:
    path = Path(runner.log_dir) / f"{runner.timestamp}.log"
    assert path.is_file(), f"{runner.work_dir} has no log file {path.name}"
    return path.read_text()


def test_same_second_runners_log_to_their_own_work_dirs(tmp_path: Path, same_second) -> None:
    first = _runner(tmp_path / "first")
    second = _runner(tmp_path / "second")
    assert first.timestamp == second.timestamp == STAMP
    # spec formats kept: `{timestamp}` folder and file names, experiment name `<timestamp>`
    assert first.experiment_name == second.experiment_name == STAMP
    assert first.log_dir == str(tmp_path / "first" / STAMP)
    assert second.log_dir == str(tmp_path / "second" / STAMP)

    # nothing global is shared
    assert first.logger is not second.logger
    assert first.message_hub is not second.message_hub
    assert first.visualizer is not second.visualizer
    assert first.default_scope is not second.default_scope
    assert first.logger.instance_name == STAMP
    assert second.logger.instance_name == f"{STAMP}_1"
    for obj in (second.message_hub, second.visualizer, second.default_scope):
        assert obj.instance_name == second.logger.instance_name
    assert MMLogger.get_instance(STAMP) is first.logger
    assert MessageHub.get_instance(STAMP) is first.message_hub
    assert Visualizer.get_instance(STAMP) is first.visualizer
    assert DefaultScope.get_instance(STAMP) is first.default_scope

    first.train()
    second.train()

    first_log, second_log = _log_text(first), _log_text(second)
    iter_line = re.compile(r"Iter\(train\) \[\s*(\d+)/3\]")
    assert iter_line.findall(first_log) == ["1", "2", "3"]
    assert iter_line.findall(second_log) == ["1", "2", "3"]
    assert str(tmp_path / "second") not in first_log
    assert str(tmp_path / "first") not in second_log
    # each runner's scalars go to its own vis_data
    for runner in (first, second):
        records = (Path(runner.log_dir) / "vis_data" / f"{STAMP}.json").read_text().splitlines()
        assert [json.loads(r)["iter"] for r in records] == [1, 2, 3]
    # and each message hub counted only its own iterations
    assert len(first.message_hub.get_scalar("train/loss").data[0]) == 3
    assert len(second.message_hub.get_scalar("train/loss").data[0]) == 3


def test_suffix_grows_and_keeps_the_experiment_name_prefix(tmp_path: Path, same_second) -> None:
    runners = [_runner(tmp_path / f"w{i}", experiment_name="exp") for i in range(3)]
    assert {r.experiment_name for r in runners} == {f"exp_{STAMP}"}
    names = [r.logger.instance_name for r in runners]
    assert names == [f"exp_{STAMP}", f"exp_{STAMP}_1", f"exp_{STAMP}_2"]
    assert [r.message_hub.instance_name for r in runners] == names
    assert [r.visualizer.instance_name for r in runners] == names
    assert [r.default_scope.instance_name for r in runners] == names
    # the latest runner's instances are the current ones
    assert MMLogger.get_current_instance() is runners[-1].logger
    assert MessageHub.get_current_instance() is runners[-1].message_hub
    assert DefaultScope.get_current_instance() is runners[-1].default_scope


def test_name_taken_by_any_one_manager_is_skipped(tmp_path: Path, same_second) -> None:
    """A name used only by, e.g., a MessageHub is not reused for the Runner's other instances."""
    taken = MessageHub.get_instance(STAMP)
    runner = _runner(tmp_path)
    assert runner.message_hub is not taken
    assert runner.logger.instance_name == f"{STAMP}_1"
    assert not MMLogger.check_instance_created(STAMP)


def test_same_second_flexible_runners_keep_their_own_logs(tmp_path: Path, monkeypatch) -> None:
    """FlexibleRunner names its logger (through the strategy), hub, visualizer and scope the
    same way."""
    import piston.runner._env as env_module
    from piston.runner import FlexibleRunner

    from ._toy import ToyModel, loader_cfg

    monkeypatch.setattr(env_module, "broadcast_timestamp", lambda: STAMP)  # the strategy's
    runners = []
    for name in ("a", "b"):
        runner = FlexibleRunner(
            ToyModel(),
            work_dir=str(tmp_path / name),
            train_dataloader=loader_cfg(),
            train_cfg={"by_epoch": False, "max_iters": 3},
            optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1}},
            default_hooks={"logger": {"type": "LoggerHook", "interval": 1}, "checkpoint": None},
            log_processor={"by_epoch": False},
        )
        runner.train()
        runners.append(runner)
    first, second = runners
    assert first.experiment_name == second.experiment_name == STAMP
    assert first.logger is not second.logger
    assert first.message_hub is not second.message_hub
    assert first.visualizer is not second.visualizer
    for runner in runners:
        text = (Path(runner.log_dir) / f"{STAMP}.log").read_text()
        assert text.count("Iter(train) [3/3]") == 1
