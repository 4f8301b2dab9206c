"""Named vis backends with custom file names, used directly from a user hook."""

from __future__ import annotations

import glob
import json
import os

import numpy as np

from piston.hooks import Hook
from piston.runner import Runner
from piston.visualization import Visualizer

from ._common import TinyNet, loader


class EpochSummary(Hook):
    def __init__(self) -> None:
        self.lookups: list[tuple] = []

    def after_train_epoch(self, runner) -> None:
        vis = Visualizer.get_current_instance()
        mean = runner.message_hub.get_scalar("train/loss").mean()
        vis.add_scalar("custom/epoch_loss", mean, step=runner.epoch)
        vis.add_image("grid", np.full((4, 5, 3), 7 + runner.epoch, np.uint8), step=runner.epoch)
        self.lookups.append(
            (
                type(vis.get_backend("local")).__name__,
                vis.get_backend("LocalVisBackend"),  # renamed: no longer found by class name
                type(vis.get_backend("tb")).__name__,
            )
        )


def test_named_backends_and_custom_files(tmp_path) -> None:
    hook = EpochSummary()
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        visualizer=dict(
            type="Visualizer",
            vis_backends=[
                dict(
                    type="LocalVisBackend",
                    name="local",
                    scalar_save_file="metrics.json",
                    img_save_dir="imgs",
                ),
                dict(type="TensorboardVisBackend", name="tb"),
            ],
        ),
        custom_hooks=[hook],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2)),
        randomness=dict(seed=0),
    )
    runner.train()
    assert hook.lookups == [("LocalVisBackend", None, "TensorboardVisBackend")] * 2
    (vis_dir,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data"))
    assert not os.path.exists(os.path.join(vis_dir, "scalars.json"))
    assert sorted(os.listdir(os.path.join(vis_dir, "imgs"))) == ["grid_0.png", "grid_1.png"]
    with open(os.path.join(vis_dir, "metrics.json")) as fobj:
        records = [json.loads(line) for line in fobj]
    raw = runner.message_hub.get_scalar("train/loss").data[0]
    assert [sorted(r) for r in records] == [
        ["data_time", "epoch", "iter", "loss", "lr", "step", "time"],
        ["custom/epoch_loss", "step"],
    ] * 2
    assert records[1]["step"] == 0
    assert records[3]["step"] == 1
    assert abs(records[3]["custom/epoch_loss"] - raw.mean()) < 1e-9
    # the timestamped copy gets LoggerHook's records only, not direct add_scalar calls
    (stamped,) = glob.glob(os.path.join(vis_dir, "2*.json"))
    with open(stamped) as fobj:
        assert [json.loads(line)["step"] for line in fobj] == [2, 4]

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(vis_dir)
    acc.Reload()
    assert [e.step for e in acc.Scalars("custom/epoch_loss")] == [0, 1]
    assert [(e.step, e.width, e.height) for e in acc.Images("grid")] == [(0, 5, 4), (1, 5, 4)]
