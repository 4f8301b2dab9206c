"""``log_processor`` as downstream configs write it: custom windows, hierarchy, digits.

The program reads the lines back from the ``.log`` file and the records from ``scalars.json``
and recomputes the smoothed values from the raw losses kept in the message hub.
"""

from __future__ import annotations

import glob
import json
import os
import re

import numpy as np

from piston.runner import Runner

from ._common import Acc, TinyNet, loader


def _read(work_dir) -> tuple[list[str], list[dict]]:
    (log,) = glob.glob(os.path.join(work_dir, "*", "*.log"))
    with open(log) as fobj:
        lines = [line.rstrip("\n") for line in fobj]
    (scalars,) = glob.glob(os.path.join(work_dir, "*", "vis_data", "scalars.json"))
    with open(scalars) as fobj:
        records = [json.loads(line) for line in fobj if line.strip()]
    return lines, records


def test_epoch_based_hierarchy_and_global_window(tmp_path) -> None:
    work_dir = str(tmp_path)
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=12, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        log_processor=dict(
            window_size=2,
            by_epoch=True,
            custom_cfg=[
                dict(
                    data_src="loss",
                    method_name="mean",
                    window_size="global",
                    log_name="loss_large_window",
                )
            ],
            num_digits=3,
            log_with_hierarchy=True,
        ),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
    )
    runner.train()
    raw = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(raw) == 6
    lines, records = _read(work_dir)

    train_lines = [line for line in lines if "Epoch(train)" in line]
    assert len(train_lines) == 6
    for idx, line in enumerate(train_lines):
        epoch, batch = idx // 3 + 1, idx % 3 + 1
        # the printed names stay short; the records carry the hierarchy
        assert f"Epoch(train) [{epoch}][{batch}/3]  lr: 1.000e-01  eta: " in line
        window = np.mean(raw[max(0, idx - 1) : idx + 1])
        large = np.mean(raw[: idx + 1])
        assert f"  loss: {window:.3f}  loss_large_window: {large:.3f}" in line
        assert "train/" not in line

    train_records = [r for r in records if "train/loss" in r]
    assert [r["step"] for r in train_records] == [1, 2, 3, 4, 5, 6]
    assert [(r["epoch"], r["iter"]) for r in train_records] == [
        (1, 1), (1, 2), (1, 3), (2, 4), (2, 5), (2, 6)
    ]  # fmt: skip
    for idx, rec in enumerate(train_records):
        assert set(rec) >= {"train/lr", "train/loss", "train/time", "train/data_time"}
        assert abs(rec["train/loss_large_window"] - np.mean(raw[: idx + 1])) < 1e-6
        assert "loss" not in rec
        assert "lr" not in rec

    val_records = [r for r in records if "val/accuracy" in r]
    assert [r["step"] for r in val_records] == [1, 2]
    assert set(val_records[0]) == {"val/accuracy", "val/data_time", "val/time", "step"}
    val_lines = [line for line in lines if re.search(r"Epoch\(val\) \[\d\]\[2/2\]    val/", line)]
    assert len(val_lines) == 2
    for line, rec in zip(val_lines, val_records):
        assert f"val/accuracy: {rec['val/accuracy']:.3f}  val/data_time: " in line
        assert "  val/time: " in line


def test_iter_based_lines_and_val_steps(tmp_path) -> None:
    work_dir = str(tmp_path)
    train = loader(size=8, batch_size=4)
    train["sampler"] = dict(type="InfiniteSampler", shuffle=True)
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=train,
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=12, val_interval=6),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        log_processor=dict(
            by_epoch=False,
            window_size=4,
            custom_cfg=[dict(data_src="loss", method_name="max", window_size=3)],
        ),
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=4, log_metric_by_epoch=False),
            checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=6),
        ),
        randomness=dict(seed=0),
    )
    runner.train()
    raw = runner.message_hub.get_scalar("train/loss").data[0]
    lines, records = _read(work_dir)

    train_lines = [line for line in lines if "Iter(train)" in line]
    # iteration loops hand the global iteration to hooks as ``batch_idx``, so the end of the
    # (2-batch) dataloader is only met at iteration 2 and, being shorter than the interval,
    # is logged there as well
    assert [re.search(r"Iter\(train\) \[(.*?)\]", x).group(1) for x in train_lines] == [
        " 2/12",
        " 4/12",
        " 8/12",
        "12/12",
    ]
    for line, it in zip(train_lines, (2, 4, 8, 12)):
        # ``custom_cfg`` without ``log_name`` overrides the default statistic of ``loss``
        assert f"  loss: {np.max(raw[max(0, it - 3) : it]):.4f}" in line
        assert "lr: 1.0000e-02  eta: " in line
    val_lines = [line for line in lines if "Iter(val) [2/2]    accuracy: " in line]
    assert len(val_lines) == 2
    assert sum("Iter(val) [1/2]    eta: " in line for line in lines) == 0  # interval 4 > 2
    assert sum("Saving checkpoint at 6 iterations" in x for x in lines) == 1
    assert sum("Saving checkpoint at 12 iterations" in x for x in lines) == 1

    assert [r["step"] for r in records if "loss" in r] == [2, 4, 8, 12]
    assert [r["iter"] for r in records if "loss" in r] == [2, 4, 8, 12]
    assert all("epoch" not in r for r in records)
    # log_metric_by_epoch=False: validation records are stepped by iteration
    assert [r["step"] for r in records if "accuracy" in r] == [6, 12]
    assert sorted(n for n in os.listdir(work_dir) if n.endswith(".pth")) == [
        "iter_12.pth",
        "iter_6.pth",
    ]
    assert sum(x.endswith(f"Exp name: {runner.experiment_name}") for x in lines) == 1
