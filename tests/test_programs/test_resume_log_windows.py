"""Smoothed log values across an interruption: a resumed run must log what the uninterrupted
run logged (the message hub's histories travel in the checkpoint), for the default window,
a ``'global'`` window and a per-``'epoch'`` window.
"""

from __future__ import annotations

import glob
import json
import os

from piston.hooks import Hook
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


def _cfg(work_dir: str, resume: bool = False) -> dict:
    return dict(
        model=dict(type=TinyNet),
        work_dir=work_dir,
        train_dataloader=loader(size=12, batch_size=4),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type=Acc),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=4, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.3, momentum=0.9)),
        log_processor=dict(
            window_size=4,
            custom_cfg=[
                dict(data_src="loss", method_name="mean", window_size="global", log_name="avg"),
                dict(data_src="loss", method_name="min", window_size="epoch", log_name="ep_min"),
            ],
        ),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
        resume=resume,
    )


class Interrupt(Hook):
    def before_train_epoch(self, runner) -> None:
        if runner.epoch == 2:
            raise KeyboardInterrupt


def _train_records(work_dir: str) -> dict[int, dict]:
    records = {}
    for path in sorted(glob.glob(os.path.join(work_dir, "*", "vis_data", "scalars.json"))):
        with open(path) as fobj:
            for line in fobj:
                rec = json.loads(line)
                if "loss" in rec:
                    records[rec["step"]] = rec
    return records


def test_resumed_run_logs_the_same_smoothed_values(tmp_path) -> None:
    straight = Runner(**_cfg(str(tmp_path / "a")))
    straight.train()
    cut = Runner(**_cfg(str(tmp_path / "b")))
    cut.register_hook(Interrupt())
    try:
        cut.train()
    except KeyboardInterrupt:
        pass
    Runner(**_cfg(str(tmp_path / "b"), resume=True)).train()

    full, resumed = _train_records(str(tmp_path / "a")), _train_records(str(tmp_path / "b"))
    assert sorted(full) == sorted(resumed) == list(range(1, 13))
    raw = list(straight.message_hub.get_scalar("train/loss").data[0])
    for step in range(7, 13):  # logged by the resumed process
        a, b = full[step], resumed[step]
        for key in ("loss", "avg", "ep_min", "lr"):
            assert abs(a[key] - b[key]) < 1e-9, (step, key, a[key], b[key])
        assert abs(a["avg"] - sum(raw[:step]) / step) < 1e-9  # 'global' = every iteration
        batch = (step - 1) % 3 + 1
        assert abs(a["ep_min"] - min(raw[step - batch : step])) < 1e-9  # this epoch so far
        assert abs(a["loss"] - sum(raw[step - 4 : step]) / 4) < 1e-9  # window_size=4
