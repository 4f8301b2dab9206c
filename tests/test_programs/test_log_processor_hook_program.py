"""A downstream hook that formats its own log lines with ``runner.log_processor``.

Projects (e.g. a "dump every N iters to a text file" hook) call
``log_processor.get_log_after_iter``/``get_log_after_epoch`` themselves and log extra
scalars through ``MessageHub.get_current_instance()`` from the model. The strings they get
must be the ones LoggerHook writes to the ``.log`` file, and calling the processor again must
not change what LoggerHook prints.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import torch

from piston.hooks import Hook
from piston.logging import MessageHub, print_log
from piston.registry import HOOKS
from piston.runner import Runner

from ._common import Acc, TinyNet, loader


class ExtraScalarNet(TinyNet):
    def forward(self, inputs, labels=None, mode: str = "tensor"):
        out = super().forward(inputs, labels, mode)
        if mode == "loss":
            hub = MessageHub.get_current_instance()
            labels = torch.stack(labels) if isinstance(labels, list) else labels
            hub.update_scalar("train/pos_ratio", labels.float().mean())
        return out


@HOOKS.register_module(force=True)
class TextDumpHook(Hook):
    priority = "LOWEST"  # after LoggerHook

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file
        self.tags: list[dict] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        tag, log_str = runner.log_processor.get_log_after_iter(runner, batch_idx, "train")
        self.tags.append(tag)
        with open(self.out_file, "a") as f:
            f.write(log_str + "\n")

    def after_val_epoch(self, runner, metrics=None) -> None:
        n = len(runner.val_dataloader)
        _tag, log_str = runner.log_processor.get_log_after_epoch(runner, n, "val")
        print_log(f"[dump] {log_str}", logger="current")
        with open(self.out_file, "a") as f:
            f.write(log_str + "\n")


def test_hook_formats_like_logger_hook(tmp_path) -> None:
    out_file = str(tmp_path / "dump.txt")
    runner = Runner(
        model=ExtraScalarNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type=Acc),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        custom_hooks=[dict(type="TextDumpHook", out_file=out_file)],
        log_processor=dict(window_size=1),
        randomness=dict(seed=1),
    )
    runner.train()
    (log_file,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    logged = [
        line.rstrip("\n").split(" - INFO - ", 1)[1]
        for line in Path(log_file).read_text().splitlines(keepends=True)
        if " - INFO - " in line
    ]
    # piston appends ``throughput: ...  data_wait: ...`` (issue 7); a second caller at the same
    # iteration gets the same items as the logged line
    train_logged = [m for m in logged if m.startswith("Epoch(train)")]
    dumped = Path(out_file).read_text().splitlines()
    train_dumped = [m for m in dumped if m.startswith("Epoch(train)")]
    assert len(train_dumped) == 4
    assert train_dumped == train_logged
    for line in train_dumped:
        assert re.match(r"Epoch\(train\) \[[12]\]\[[12]/2\]  lr: 1\.0000e-01  eta: ", line), line
        # items in message-hub order: the model logs pos_ratio before returning its loss
        assert re.search(
            r"  data_time: \d\.\d{4}  pos_ratio: \d\.\d{4}  loss: \d\.\d{4}"
            r"((  throughput: \S+)?  data_wait: \S+)?$",
            line,
        )
    val_dumped = [m for m in dumped if m.startswith("Epoch(val)")]
    val_logged = [m for m in logged if m.startswith("Epoch(val) [") and "accuracy" in m]
    assert val_dumped == val_logged
    assert len(val_dumped) == 2
    assert all(
        re.fullmatch(
            r"Epoch\(val\) \[\d\]\[2/2\]    accuracy: \d+\.\d{4}  data_time: \d\.\d{4}  time: \d\.\d{4}",
            line,
        )
        for line in val_dumped
    ), val_dumped
    assert sum(m.startswith("[dump] Epoch(val)") for m in logged) == 2
    hook = next(h for h in runner.hooks if isinstance(h, TextDumpHook))
    ratios = runner.message_hub.get_scalar("train/pos_ratio").data[0]
    assert [t["pos_ratio"] for t in hook.tags] == list(ratios)  # window 1: the raw values
    assert [(t["epoch"], t["iter"]) for t in hook.tags] == [(1, 1), (1, 2), (2, 3), (2, 4)]
    assert all(t["lr"] == 0.1 for t in hook.tags)
