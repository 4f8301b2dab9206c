"""Program 8: user code reaching the current MessageHub, MMLogger and Visualizer in training."""

from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F

from piston.hooks import Hook
from piston.logging import MessageHub, MMLogger, print_log
from piston.runner import Runner
from piston.visualization import Visualizer

from ._common import TinyNet, loader


class GradNormNet(TinyNet):
    """A model that reads the current iteration from the MessageHub inside ``forward``."""

    def __init__(self) -> None:
        super().__init__()
        self.iters_seen: list[int] = []

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        hub = MessageHub.get_current_instance()
        if mode == "loss":
            self.iters_seen.append(hub.get_info("iter"))
            logits = self.fc(inputs)
            loss = F.cross_entropy(logits, labels)
            # extra values pushed by the user show up in the logs
            hub.update_scalar("train/weight_norm", self.fc.weight.detach().norm())
            return {"loss": loss}
        return self.fc(inputs)


class ReportHook(Hook):
    def __init__(self) -> None:
        self.logger_names: list[str] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        visualizer = Visualizer.get_current_instance()
        assert visualizer is runner.visualizer
        visualizer.add_scalars({"custom/double_loss": outputs["loss"] * 2}, step=runner.iter + 1)
        logger = MMLogger.get_current_instance()
        self.logger_names.append(logger.instance_name)
        print_log(f"user hook saw iter {runner.iter}", logger="current")

    def after_train_epoch(self, runner) -> None:
        # runner.epoch still counts the finished epochs before this one here
        print_log(f"user hook finished epoch {runner.epoch + 1}", logger=runner.logger)


def test_current_instances_in_user_code(tmp_path) -> None:
    model = GradNormNet()
    hook = ReportHook()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader(size=12, batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        custom_hooks=[hook],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]),
    )
    runner.train()
    assert MessageHub.get_current_instance() is runner.message_hub
    assert model.iters_seen == list(range(6))
    assert set(hook.logger_names) == {runner.logger.instance_name}

    scalars_file = os.path.join(runner.log_dir, "vis_data", "scalars.json")
    with open(scalars_file) as fobj:
        records = [json.loads(line) for line in fobj if line.strip()]
    custom = [r for r in records if "custom/double_loss" in r]
    assert [r["step"] for r in custom] == [1, 2, 3, 4, 5, 6]
    train = [r for r in records if "loss" in r]
    assert [r["step"] for r in train] == [1, 2, 3, 4, 5, 6]
    # the LoggerHook logs what the model pushed into the MessageHub
    assert all("weight_norm" in r for r in train)
    last_norm = runner.message_hub.get_scalar("train/weight_norm").current()
    assert isinstance(float(last_norm), float)
    for record in custom:
        assert record["custom/double_loss"] > 0
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.log")) as fobj:
        log = fobj.read()
    assert "user hook saw iter 5" in log
    assert "user hook finished epoch 2" in log
    assert torch.isfinite(model.fc.weight).all()
