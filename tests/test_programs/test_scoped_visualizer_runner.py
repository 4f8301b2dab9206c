"""A downstream package with its own VISUALIZERS / VISBACKENDS child registries (mmdet style):
the config names the package's visualizer and mixes its backend with piston's LocalVisBackend;
the Runner runs under ``default_scope`` and validation sets ``dataset_meta``."""

from __future__ import annotations

import glob
import json
import os

import numpy as np

from piston.hooks import Hook
from piston.registry import VISBACKENDS as ROOT_VISBACKENDS
from piston.registry import VISUALIZERS as ROOT_VISUALIZERS
from piston.registry import Registry
from piston.runner import Runner
from piston.visualization import BaseVisBackend, Visualizer
from piston.visualization.vis_backend import force_init_env

from ._common import Acc, TinyNet, loader

VISUALIZERS = Registry("visualizer", parent=ROOT_VISUALIZERS, scope="toyvisdet")
VISBACKENDS = Registry("vis_backend", parent=ROOT_VISBACKENDS, scope="toyvisdet")


@VISBACKENDS.register_module()
class MemoryVisBackend(BaseVisBackend):
    """Keeps everything in memory; built with the Visualizer's ``save_dir``."""

    def __init__(self, save_dir: str, prefix: str = "") -> None:
        super().__init__(save_dir)
        self.prefix = prefix
        self.records: list[tuple] = []

    @property
    def experiment(self):
        return self

    def _init_env(self) -> None:
        self.records.append(("init", os.path.basename(os.path.dirname(self._save_dir))))

    @force_init_env
    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs) -> None:
        self.records.append(("scalars", step, sorted(scalar_dict)))

    @force_init_env
    def add_image(self, name, image, step=0, **kwargs) -> None:
        self.records.append(("image", self.prefix + name, step, image.shape))


@VISUALIZERS.register_module()
class ToyDetVisualizer(Visualizer):
    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, pred_score_thr=0.3, step=0):  # fmt: skip
        self.set_image(image)
        n = len(self.dataset_meta["classes"])
        self.draw_bboxes(np.array([[0, 0, 4 * n, 4 * n]]), edge_colors="r")
        self.add_image(name, self.get_image(), step)


class DrawVal(Hook):
    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if batch_idx == 0:
            Visualizer.get_current_instance().add_datasample(
                "val", np.zeros((12, 16, 3), np.uint8), outputs, step=runner.epoch
            )


def test_scoped_visualizer_and_backend(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=4, batch_size=2, shuffle=False),
        val_evaluator=dict(type=Acc),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_scope="toyvisdet",
        visualizer=dict(
            type="ToyDetVisualizer",
            vis_backends=[
                dict(type="LocalVisBackend"),
                dict(type="MemoryVisBackend", prefix="mem/"),
            ],
        ),
        custom_hooks=[DrawVal()],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
        randomness=dict(seed=0),
    )
    vis = runner.visualizer
    assert type(vis) is ToyDetVisualizer
    mem = vis.get_backend("MemoryVisBackend")
    assert isinstance(mem, MemoryVisBackend)
    runner.train()
    assert vis.dataset_meta == {"classes": ("neg", "pos")}
    assert mem.records[0] == ("init", runner.timestamp)
    images = [r for r in mem.records if r[0] == "image"]
    assert images == [("image", "mem/val", 1, (12, 16, 3)), ("image", "mem/val", 2, (12, 16, 3))]
    # train logs every iteration (2 per epoch) and validation once per epoch
    scalar_steps = [r[1] for r in mem.records if r[0] == "scalars"]
    assert scalar_steps == [1, 2, 1, 3, 4, 2]
    (vis_dir,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data"))
    assert sorted(os.listdir(os.path.join(vis_dir, "vis_image"))) == ["val_1.png", "val_2.png"]
    with open(os.path.join(vis_dir, "scalars.json")) as fobj:
        val_records = [r for r in map(json.loads, fobj) if "accuracy" in r]
    assert [r["step"] for r in val_records] == [1, 2]
