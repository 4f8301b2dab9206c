"""Validation schedule and early stopping as detection configs write them.

``val_begin`` + ``dynamic_intervals`` decide which epochs validate, two metrics (one with a
``prefix``) are evaluated together, and ``EarlyStoppingHook`` ends training before
``max_epochs``. A user hook reads what ``RuntimeInfoHook`` published.
"""

from __future__ import annotations

import glob
import os

from piston.evaluator import BaseMetric
from piston.hooks import Hook
from piston.registry import METRICS
from piston.runner import Runner

from ._common import TinyNet, loader


@METRICS.register_module(force=True)
class ScriptedScore(BaseMetric):
    """Returns the next scripted value at each evaluation."""

    def __init__(self, scores, key: str = "acc", **kwargs) -> None:
        super().__init__(**kwargs)
        self.scores = list(scores)
        self.key = key
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(len(data_samples[1]))

    def compute_metrics(self, results) -> dict:
        assert sum(results) == 4  # the whole val set, once
        value = self.scores[min(self.calls, len(self.scores) - 1)]
        self.calls += 1
        return {self.key: value}


class RuntimeProbe(Hook):
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        hub = runner.message_hub
        self.seen.append(
            (
                runner.epoch,
                hub.get_info("epoch"),
                hub.get_info("iter"),
                hub.get_info("max_epochs"),
                hub.get_info("loop_stage"),
                dict(metrics),
            )
        )

    def after_train(self, runner) -> None:
        self.seen.append(("after_train", runner.message_hub.get_info("loop_stage")))


def test_val_schedule_and_early_stopping(tmp_path) -> None:
    probe = RuntimeProbe()
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=[
            dict(type="ScriptedScore", scores=[50.0, 60.0, 60.5, 60.55, 60.6, 70.0]),
            dict(type="ScriptedScore", scores=[1, 2, 3, 4, 5, 6], key="aux_err", prefix="aux"),
        ],
        train_cfg=dict(
            by_epoch=True, max_epochs=12, val_begin=2, val_interval=1, dynamic_intervals=[(4, 2)]
        ),
        val_cfg=dict(type="ValLoop", fp16=False),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[
            dict(type="EarlyStoppingHook", monitor="acc", patience=2, min_delta=0.5),
            probe,
        ],
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=1),
            checkpoint=dict(type="CheckpointHook", interval=-1, save_last=False),
        ),
        randomness=dict(seed=0),
    )
    runner.train()
    # epochs 2 (val_begin), then every 2 epochs: the new interval applies from epoch 3 on;
    # 60.5 >= 60 + 0.5 improves, 60.55 and 60.6 do not -> stop after epoch 10
    assert runner.epoch == 10
    assert runner.iter == 20
    vals = [s for s in probe.seen if s[0] != "after_train"]
    assert [s[0] for s in vals] == [2, 4, 6, 8, 10]
    # info 'epoch' is set before each train epoch (0-based), 'iter' before each iteration
    assert [(s[1], s[2]) for s in vals] == [(1, 3), (3, 7), (5, 11), (7, 15), (9, 19)]
    assert all(s[3] == 12 and s[4] == "val" for s in vals)
    assert [s[5] for s in vals][:2] == [
        {"acc": 50.0, "aux/aux_err": 1},
        {"acc": 60.0, "aux/aux_err": 2},
    ]
    # RuntimeInfoHook (VERY_HIGH) pops the stage before a NORMAL hook's after_train runs
    assert probe.seen[-1] == ("after_train", None)

    pth = [n for n in os.listdir(str(tmp_path)) if n.endswith(".pth")]
    assert pth == []  # interval=-1 and save_last=False: nothing saved
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    with open(log) as fobj:
        text = fobj.read()
    assert "the monitored metric did not improve in the last 2 records. best score: 60.500." in text
    assert "Epoch(val) [10][1/1]    acc: 60.6000  aux/aux_err: 5" in text
    assert "Epoch(val)  [2][1/1]    eta: " in text  # per-iteration val line padded to 12
    assert "Epoch(val) [3]" not in text
    assert "Epoch(train) [11]" not in text


def _iter_run(work_dir: str, scores, **stop_cfg) -> tuple[Runner, str]:
    train = loader(size=8, batch_size=4)
    train["sampler"] = dict(type="InfiniteSampler")
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=train,
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type="ScriptedScore", scores=scores, key="val_loss"),
        val_cfg=dict(),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=10, val_interval=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[dict(type="EarlyStoppingHook", monitor="val_loss", **stop_cfg)],
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=100)),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
    )
    runner.train()
    (log,) = glob.glob(os.path.join(work_dir, "*", "*.log"))
    with open(log) as fobj:
        return runner, fobj.read()


def test_iter_based_early_stopping_threshold_nan_and_less_rule(tmp_path) -> None:
    # 'loss' in the monitored name -> rule 'less'; below the threshold at the 3rd validation
    runner, text = _iter_run(str(tmp_path / "thr"), [3.0, 2.0, 0.5, 0.4], stopping_threshold=1.0)
    assert runner.iter == 6
    assert "Stopping threshold reached: `val_loss` = 0.5 is less than 1.0." in text
    # stopped early: no "last" checkpoint, as the last iteration was never reached
    assert not [n for n in os.listdir(str(tmp_path / "thr")) if n.endswith(".pth")]

    runner, text = _iter_run(str(tmp_path / "nan"), [3.0, float("nan"), 1.0])
    assert runner.iter == 4
    assert "Monitored metric val_loss = nan is infinite. Previous best value was 3.000." in text

    # 2.95 is not 0.1 below 3.0 (wait 1); 2.9 is (reset); then steady improvement: no stop
    runner, text = _iter_run(
        str(tmp_path / "less"), [3.0, 2.95, 2.9, 2.0, 1.0], patience=2, min_delta=0.1
    )
    assert runner.iter == 10
    assert "Saving checkpoint at 10 iterations" in text
    assert "did not improve" not in text
