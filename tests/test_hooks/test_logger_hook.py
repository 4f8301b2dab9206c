from __future__ import annotations

import json
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch

from piston.hooks import IterTimerHook, LoggerHook, RuntimeInfoHook
from test_hooks._hooks_fakes import FakeRunner


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"interval": "10"}, TypeError),
        ({"interval": 0}, ValueError),
        ({"interval_exp_name": 1.5}, TypeError),
        ({"interval_exp_name": -1}, ValueError),
        ({"ignore_last": 1}, TypeError),
        ({"keep_local": "yes"}, TypeError),
        ({"out_dir": 3}, TypeError),
        ({"file_client_args": {"backend": "disk"}}, ValueError),
        ({"out_dir": "x", "file_client_args": {"backend": "disk"}, "backend_args": {}}, ValueError),
    ],
)
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_argument_validation(kwargs, error):
    with pytest.raises(error):
        LoggerHook(**kwargs)


def _run_train(runner, hooks, epochs=1):
    runner.hooks = hooks
    runner.call_hook("before_run")
    runner.call_hook("before_train")
    for _ in range(epochs):
        runner.train_epoch()


def _train_lines(runner):
    return [line for line in runner.log_text().splitlines() if "Epoch(train)" in line]


def test_logs_every_interval_and_writes_scalars(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=2)
    logger_hook = LoggerHook(interval=3)
    _run_train(runner, [RuntimeInfoHook(), IterTimerHook(), logger_hook])
    lines = _train_lines(runner)
    # iterations 3, 6, 9; the last incomplete interval (10) is ignored
    assert [line.split("Epoch(train)")[1][:13] for line in lines] == [
        " [1][ 3/10]  ",
        " [1][ 6/10]  ",
        " [1][ 9/10]  ",
    ]
    assert "lr: 1.0000e-01  eta: " in lines[0]
    assert re.search(r"  loss: 1\.0000  (throughput: \S+  )?data_wait: \S+$", lines[0])
    steps = [step for _, step, _ in runner.visualizer.scalars]
    assert steps == [3, 6, 9]
    assert {path for _, _, path in runner.visualizer.scalars} == {"20260101_000000.json"}
    tag = runner.visualizer.scalars[0][0]
    assert tag["epoch"] == 1
    assert tag["iter"] == 3
    assert tag["loss"] == 1.0


def test_last_interval_logged_when_not_ignored_or_epoch_short(tmp_path):
    runner = FakeRunner(tmp_path, train_len=10, max_epochs=1)
    _run_train(runner, [RuntimeInfoHook(), LoggerHook(interval=3, ignore_last=False)])
    assert [step for _, step, _ in runner.visualizer.scalars] == [3, 6, 9, 10]
    runner = FakeRunner(tmp_path / "short", train_len=4, max_epochs=1)
    _run_train(runner, [RuntimeInfoHook(), LoggerHook(interval=10)])
    assert [step for _, step, _ in runner.visualizer.scalars] == [4]


def test_exp_name_logged_at_interval_and_epoch_end(tmp_path):
    runner = FakeRunner(tmp_path, train_len=5, max_epochs=2)
    _run_train(runner, [RuntimeInfoHook(), LoggerHook(interval_exp_name=3)], epochs=2)
    text = runner.log_text()
    # global iterations 3, 6, 9 and the two epoch ends (5, 10)
    assert text.count(f"Exp name: {runner.experiment_name}") == 5


def test_val_and_test_iteration_lines_every_interval(tmp_path):
    runner = FakeRunner(tmp_path, val_len=5)
    hook = LoggerHook(interval=2)
    runner.hooks = [IterTimerHook(), hook]
    runner.call_hook("before_run")
    runner.call_hook("before_val_epoch")
    for idx in range(5):
        runner.call_hook("before_val_iter", batch_idx=idx)
        runner.call_hook("after_val_iter", batch_idx=idx, outputs=[])
    runner.call_hook("before_test_epoch")
    for idx in range(5):
        runner.call_hook("before_test_iter", batch_idx=idx)
        runner.call_hook("after_test_iter", batch_idx=idx, outputs=[])
    text = runner.log_text()
    assert text.count("Epoch(val)") == 2
    assert "[2/5]" in text
    assert "[4/5]" in text
    assert text.count("Epoch(test) [") == 2
    assert runner.visualizer.scalars == []  # iteration lines of eval write no scalars


@pytest.mark.parametrize("by_epoch, expected_step", [(True, 2), (False, 20)])
def test_after_val_epoch_logs_metrics_and_scalars(tmp_path, by_epoch, expected_step):
    runner = FakeRunner(tmp_path, train_len=10, val_len=2)
    runner._train_loop._epoch, runner._train_loop._iter = 2, 20
    hook = LoggerHook(log_metric_by_epoch=by_epoch)
    runner.hooks = [RuntimeInfoHook(), IterTimerHook(), hook]
    runner.call_hook("before_run")
    runner.validate({"accuracy": 0.75})
    assert "Epoch(val) [2][2/2]    accuracy: 0.7500  data_time: " in runner.log_text()
    tag, step, path = runner.visualizer.scalars[-1]
    assert step == expected_step
    assert path == "20260101_000000.json"
    assert list(tag) == ["accuracy", "data_time", "time"]


def test_val_without_training_uses_step_zero(tmp_path):
    runner = FakeRunner(tmp_path, val_len=2)
    runner._train_loop = None
    runner.hooks = [RuntimeInfoHook(), IterTimerHook(), LoggerHook()]
    runner.call_hook("before_run")
    runner.validate({"accuracy": 0.5})
    assert runner.visualizer.scalars[-1][1] == 0
    assert "Epoch(val) [0][2/2]    accuracy: 0.5000" in runner.log_text()


def test_after_test_epoch_dumps_json_results(tmp_path):
    runner = FakeRunner(tmp_path, val_len=2)
    hooks = [RuntimeInfoHook(), IterTimerHook(), LoggerHook()]
    runner.hooks = hooks
    runner.call_hook("before_run")
    runner.call_hook("before_test_epoch")
    for idx in range(2):
        runner.call_hook("before_test_iter", batch_idx=idx)
        runner.call_hook("after_test_iter", batch_idx=idx, outputs=[])
    metrics = {
        "acc": 0.5,
        "per_class": torch.tensor([0.25, 0.75]),
        "arr": np.eye(2),
        "obj": object(),
    }
    runner.call_hook("after_test_epoch", metrics=metrics)
    with open(osp.join(runner.log_dir, "20260101_000000.json")) as f:
        record = json.load(f)
    assert record["acc"] == 0.5
    assert record["per_class"] == [0.25, 0.75]
    assert record["arr"] == [[1.0, 0.0], [0.0, 1.0]]
    assert "obj" not in record
    assert set(record) == {"acc", "per_class", "arr", "data_time", "time"}
    assert "Epoch(test) [2/2]    acc: 0.5000  per_class: \ntensor([0.2500, 0.7500])\n" in (
        runner.log_text()
    )


def test_after_run_uploads_logs_and_can_remove_local_copies(tmp_path):
    work_dir = tmp_path / "exp1"
    runner = FakeRunner(work_dir)
    with open(osp.join(runner.log_dir, "extra.json"), "w") as f:
        f.write("{}")
    os.makedirs(osp.join(runner.log_dir, "vis_data"))
    with open(osp.join(runner.log_dir, "vis_data", "scalars.json"), "w") as f:
        f.write("{}\n")
    with open(osp.join(runner.log_dir, "skip.txt"), "w") as f:
        f.write("x")
    out_dir = tmp_path / "remote"
    hook = LoggerHook(out_dir=str(out_dir), keep_local=False)
    runner.hooks = [hook]
    runner.call_hook("before_run")
    assert hook.out_dir == osp.join(str(out_dir), "exp1")
    runner.logger.info("some text")
    runner.call_hook("after_run")
    assert runner.visualizer.closed
    uploaded = out_dir / "exp1"
    assert (uploaded / "extra.json").read_text() == "{}"
    assert (uploaded / "vis_data" / "scalars.json").exists()
    assert "some text" in (uploaded / "20260101_000000.log").read_text()
    assert not (uploaded / "skip.txt").exists()
    assert not osp.exists(osp.join(runner.log_dir, "extra.json"))
    assert not osp.exists(runner.log_file)
    assert osp.exists(osp.join(runner.log_dir, "skip.txt"))


def test_out_dir_with_a_mock_runner_and_twice_run(tmp_path):
    """Only the runner names hooks rely on are read (``_log_dir``, ``work_dir``); an ``out_dir``
    assigned after construction is used; a second run does not append work_dir twice."""
    from unittest.mock import MagicMock

    work_dir = tmp_path / "work_dir"
    work_dir.mkdir()
    (work_dir / "tmp.log.json").write_text("{}")
    out_dir = tmp_path / "out_dir"
    runner = MagicMock()
    runner._log_dir = str(work_dir)
    runner.work_dir = str(work_dir)
    runner.timestamp = "20220429"
    hook = LoggerHook(keep_local=False)
    hook.out_dir = str(out_dir)
    hook.before_run(runner)
    hook.after_run(runner)
    assert not (work_dir / "tmp.log.json").exists()
    assert (out_dir / "work_dir" / "tmp.log.json").read_text() == "{}"
    hook.before_run(runner)
    assert hook.out_dir == osp.join(str(out_dir), "work_dir")


def test_after_run_on_fsspec_memory_backend(tmp_path):
    fsspec = pytest.importorskip("fsspec")
    runner = FakeRunner(tmp_path / "exp2")
    hook = LoggerHook(out_dir="memory://logs")
    runner.hooks = [hook]
    runner.call_hook("before_run")
    runner.logger.info("remote text")
    runner.call_hook("after_run")
    fs = fsspec.filesystem("memory")
    assert "remote text" in fs.cat("memory://logs/exp2/20260101_000000.log").decode()
    assert osp.exists(runner.log_file)  # keep_local defaults to True


def test_iterable_train_loader_without_len(tmp_path):
    from piston.runner.log_processor import LogProcessor

    class Stream:
        def __iter__(self):
            return iter(range(6))

    runner = FakeRunner(tmp_path, log_processor=LogProcessor(by_epoch=False))
    runner._train_loop.dataloader = Stream()
    runner._train_loop.max_iters = 6
    runner.hooks = [RuntimeInfoHook(), LoggerHook(interval=3)]
    runner.call_hook("before_run")
    for idx in range(6):
        runner._train_loop._iter = idx
        runner.call_hook("before_train_iter", batch_idx=idx)
        runner.call_hook("after_train_iter", batch_idx=idx, outputs={"loss": 1.0})
    assert [step for _, step, _ in runner.visualizer.scalars] == [3, 6]
    assert "Iter(train) [3/6]" in runner.log_text()
