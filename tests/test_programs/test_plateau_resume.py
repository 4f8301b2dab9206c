"""Resume a run that uses ReduceOnPlateauLR + a momentum schedule + save_best/max_keep_ckpts.

The first run is cut after 3 epochs; the second resumes with a smaller ``max_keep_ckpts``.
Surplus checkpoints go, the best score survives the resume, and the plateau scheduler keeps
judging the monitored metric from where it stopped.
"""

from __future__ import annotations

import glob
import math
import os
import sys

import torch

from piston.evaluator import BaseMetric
from piston.hooks import Hook
from piston.logging import MessageHub
from piston.registry import METRICS
from piston.runner import Runner

from ._common import TinyNet, loader

SCORES = [5.0, 9.0, 3.0, 4.0, 2.0, 1.0]  # validation score of epoch i+1


@METRICS.register_module(force=True)
class EpochScripted(BaseMetric):
    default_prefix = "cls"

    def process(self, data_batch, data_samples) -> None:
        self.results.append(1)

    def compute_metrics(self, results) -> dict:
        return {"top1": SCORES[MessageHub.get_current_instance().get_info("epoch")]}


class PowerCut(Exception):
    pass


class CutAt(Hook):
    def before_train_epoch(self, runner) -> None:
        if runner.epoch == 3:
            raise PowerCut


def _cfg(work_dir: str, keep: int, resume: bool = False) -> dict:
    return dict(
        model=dict(type=TinyNet),
        work_dir=work_dir,
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type="EpochScripted"),
        train_cfg=dict(by_epoch=True, max_epochs=6, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5, momentum=0.9)),
        param_scheduler=[
            dict(
                type="ReduceOnPlateauLR",
                monitor="cls/top1",
                rule="greater",
                factor=0.5,
                patience=0,
                by_epoch=True,
            ),
            dict(type="CosineAnnealingMomentum", T_max=6, eta_min=0.5, by_epoch=True),
        ],
        default_hooks=dict(
            checkpoint=dict(
                type="CheckpointHook", interval=1, max_keep_ckpts=keep, save_best="auto"
            )
        ),
        randomness=dict(seed=0),
        resume=resume,
    )


def test_resume_plateau_and_kept_checkpoints(tmp_path) -> None:
    work_dir = str(tmp_path)
    first = Runner(**_cfg(work_dir, keep=3))
    first.register_hook(CutAt())
    try:
        first.train()
    except PowerCut:
        pass
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    assert names == ["best_cls_top1_epoch_2.pth", "epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    # epoch 3 scored 3 < 9 with patience 0: lr halved once
    assert first.optim_wrapper.param_groups[0]["lr"] == 0.25

    second = Runner(**_cfg(work_dir, keep=1, resume=True))
    second.train()
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    # the shrunk max_keep_ckpts removes the surplus of the first run; 4 < 9, 2 < 9 keep best
    assert names == ["best_cls_top1_epoch_2.pth", "epoch_6.pth"]
    group = second.optim_wrapper.param_groups[0]
    # the checkpoint of epoch 3 predates its validation, so the resumed run halves the lr after
    # epochs 4 and 5; the default ``end`` (max_epochs) leaves epoch 6 unjudged
    assert group["lr"] == 0.125
    assert math.isclose(group["momentum"], 0.5 + 0.4 * (1 + math.cos(math.pi * 5 / 6)) / 2)

    ckpt = torch.load(os.path.join(work_dir, "epoch_6.pth"), map_location="cpu", weights_only=False)
    info = ckpt["message_hub"]["runtime_info"]
    assert info["best_score"] == 9.0
    assert info["best_ckpt"] == os.path.join(work_dir, "best_cls_top1_epoch_2.pth")
    assert list(info["keep_ckpt_ids"]) == [6]
    plateau, momentum = ckpt["param_schedulers"]
    assert plateau["best"] == 9.0
    assert plateau["monitor"] == "cls/top1"
    assert plateau["end"] == 6
    assert momentum["end"] == 6
    with open(os.path.join(work_dir, "last_checkpoint")) as fobj:
        assert fobj.read().strip() == os.path.join(work_dir, "epoch_6.pth")

    log = sorted(glob.glob(os.path.join(work_dir, "*", "*.log")))[-1]
    with open(log) as fobj:
        text = fobj.read()
    assert "resumed epoch: 3, iter: 6" in text
    # both runs may share one timestamp (and log file): look at the resumed part only
    text = text.split("resumed epoch: 3, iter: 6", 1)[1]
    assert "The best checkpoint with" not in text  # no later epoch beat 9.0
    assert "Epoch(val) [4][1/1]    cls/top1: 4.0000" in text


def test_resume_then_new_best_replaces_previous_run_best(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SCORES", [5.0, 9.0, 3.0, 10.0, 2.0, 1.0])
    work_dir = str(tmp_path)
    first = Runner(**_cfg(work_dir, keep=3))
    first.register_hook(CutAt())
    try:
        first.train()
    except PowerCut:
        pass
    Runner(**_cfg(work_dir, keep=1, resume=True)).train()
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    # the best file of the first run is known after resume, hence removed when beaten
    assert names == ["best_cls_top1_epoch_4.pth", "epoch_6.pth"]
    log = sorted(glob.glob(os.path.join(work_dir, "*", "*.log")))[-1]
    with open(log) as fobj:
        text = fobj.read().split("resumed epoch: 3, iter: 6", 1)[1]
    previous = os.path.join(work_dir, "best_cls_top1_epoch_2.pth")
    assert f"The previous best checkpoint {previous} is removed" in text
    assert "The best checkpoint with 10.0000 cls/top1 at 4 epoch is saved to " in text
