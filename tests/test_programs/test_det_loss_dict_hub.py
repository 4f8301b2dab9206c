"""An mmdet-style loss dict (list-valued losses, a non-loss ``acc``) plus a scalar the model
logs itself; a user hook reads the message hub at every iteration, as visualisation and
monitoring hooks in downstream projects do.
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from piston.hooks import Hook
from piston.logging import MessageHub
from piston.model import BaseModel
from piston.runner import Runner

from ._common import _stack, loader


class TwoHeadDetector(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.cls = nn.Linear(4, 2)
        self.reg = nn.Linear(4, 1)

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        x = _stack(inputs).float()
        logits = self.cls(x)
        if mode != "loss":
            return logits
        y = _stack(labels)
        acc = (logits.argmax(1) == y).float().mean() * 100
        MessageHub.get_current_instance().update_scalar("train/pos_ratio", y.float().mean())
        return dict(
            loss_cls=[F.cross_entropy(logits[:2], y[:2]), F.cross_entropy(logits[2:], y[2:])],
            loss_bbox=self.reg(x).abs().mean(),
            acc=acc,
        )


class HubReader(Hook):
    priority = "LOWEST"

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        hub = runner.message_hub
        self.rows.append(
            dict(
                out_loss=float(outputs["loss"]),
                out_cls=float(outputs["loss_cls"]),
                out_bbox=float(outputs["loss_bbox"]),
                out_acc=float(outputs["acc"]),
                loss=float(hub.get_scalar("train/loss").current()),
                cls=float(hub.get_scalar("train/loss_cls").current()),
                acc=float(hub.get_scalar("train/acc").current()),
                pos=float(hub.get_scalar("train/pos_ratio").current()),
                mean3=float(hub.get_scalar("train/loss").mean(3)),
                count=len(hub.get_scalar("train/loss").data[0]),
                iter=hub.get_info("iter"),
                lr=float(hub.get_scalar("train/lr").current()),
            )
        )


def test_loss_dict_and_hub_reads(tmp_path) -> None:
    reader = HubReader()
    runner = Runner(
        model=TwoHeadDetector(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=16, batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[reader],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2)),
        randomness=dict(seed=0),
    )
    runner.train()
    rows = reader.rows
    assert [r["iter"] for r in rows] == list(range(8))
    assert [r["count"] for r in rows] == list(range(1, 9))
    losses = [r["loss"] for r in rows]
    for i, r in enumerate(rows):
        # the hub holds exactly what train_step returned; 'acc' is logged but not summed
        assert r["loss"] == r["out_loss"]
        assert r["cls"] == r["out_cls"]
        assert r["acc"] == r["out_acc"]
        assert abs(r["out_loss"] - (r["out_cls"] + r["out_bbox"])) < 1e-6
        assert abs(r["mean3"] - np.mean(losses[max(0, i - 2) : i + 1])) < 1e-9
        assert r["lr"] == 0.1
        assert r["pos"] in (0.0, 0.25, 0.5, 0.75, 1.0)

    (scalars,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data", "scalars.json"))
    with open(scalars) as fobj:
        records = [json.loads(line) for line in fobj]
    assert [r["step"] for r in records] == [2, 4, 6, 8]
    # message-hub order: lr, data_time, the model's own scalar, then the parsed log_vars
    assert list(records[0]) == [
        "lr", "data_time", "pos_ratio", "loss", "loss_cls", "loss_bbox", "acc", "time",
        "epoch", "iter", "step",
    ]  # fmt: skip
    for rec in records:
        n = rec["step"]
        assert abs(rec["loss"] - np.mean(losses[max(0, n - 10) : n])) < 1e-6  # window 10
        assert rec["acc"] == rows[n - 1]["acc"]  # not a loss: current value
        assert rec["pos_ratio"] == rows[n - 1]["pos"]
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    with open(log) as fobj:
        lines = [line for line in fobj if "Epoch(train)" in line]
    assert len(lines) == 4
    first = records[0]
    assert (
        f"pos_ratio: {first['pos_ratio']:.4f}  loss: {first['loss']:.4f}  "
        f"loss_cls: {first['loss_cls']:.4f}  loss_bbox: {first['loss_bbox']:.4f}  "
        f"acc: {first['acc']:.4f}" in lines[0]
    )
