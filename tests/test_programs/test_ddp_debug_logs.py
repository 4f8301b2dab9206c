"""Debugging a two-process run: ``log_level='DEBUG'`` gives every rank its own log file.

Users debugging DDP hangs set ``log_level='DEBUG'`` (or pass a logger cfg); each rank then
writes ``<timestamp>_<user>@<host>_device<id>_rank<r>.log`` next to the others, with its own
``print_log(..., logger='current')`` and DEBUG records, while console and metric records stay
on rank 0 and the experiment shares one timestamp.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
from pathlib import Path

import pytest
from _dist import run_in_processes

from piston.dist import get_rank
from piston.hooks import Hook
from piston.logging import MMLogger, print_log
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


class RankNoteHook(Hook):
    def after_train_epoch(self, runner) -> None:
        print_log(
            f"rank {get_rank()} finished epoch {runner.epoch}",
            logger="current",
            level=logging.DEBUG,
        )
        print_log(f"warning from rank {get_rank()}", logger="current", level=logging.WARNING)


def _worker(rank: int, world_size: int, work_dir: str) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=8, batch_size=2),
        val_dataloader=loader(size=8, batch_size=2, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[dict(type=RankNoteHook)],
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        log_level="DEBUG",
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
    )
    assert MMLogger.get_current_instance() is runner.logger
    assert runner.logger.instance_name == runner.experiment_name
    runner.train()
    with open(os.path.join(work_dir, f"info{rank}.json"), "w") as f:
        json.dump({"log_file": runner.logger.log_file, "timestamp": runner.timestamp}, f)
    for handler in runner.logger.handlers:
        handler.flush()


@pytest.mark.distributed
def test_debug_level_writes_one_log_per_rank(tmp_path) -> None:
    work_dir = str(tmp_path)
    run_in_processes(_worker, 2, work_dir, init_group=False)
    infos = [json.loads(Path(work_dir, f"info{r}.json").read_text()) for r in range(2)]
    ts = infos[0]["timestamp"]
    assert infos[1]["timestamp"] == ts
    logs = sorted(glob.glob(os.path.join(work_dir, ts, "*.log")))
    assert [os.path.basename(p) for p in logs] == [
        os.path.basename(infos[0]["log_file"]),
        os.path.basename(infos[1]["log_file"]),
    ]
    for rank, path in enumerate(logs):
        name = os.path.basename(path)
        assert re.fullmatch(rf"{ts}_(.+@.+_)?device{rank}_rank{rank}\.log", name), name
        text = Path(path).read_text()
        # logged in after_train_epoch, before the epoch counter moves
        assert f" - piston - DEBUG - rank {rank} finished epoch 0" in text
        assert f" - piston - WARNING - warning from rank {rank}" in text
        assert "Epoch(train) [1][2/2]" in text
        assert "Epoch(val) [1][2/2]    accuracy: " in text
    assert "rank 1" not in Path(logs[0]).read_text()
    # scalars are written by rank 0 only
    (scalars,) = glob.glob(os.path.join(work_dir, ts, "vis_data", "scalars.json"))
    records = [json.loads(line) for line in Path(scalars).read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
