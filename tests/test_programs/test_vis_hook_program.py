"""mmdet's ``default_runtime`` hooks with a downstream visualizer and visualization hook.

``DetLocalVisualizer`` (a ``Visualizer`` subclass built from ``visualizer=dict(type=...)``) and a
``DetVisualizationHook`` under ``default_hooks.visualization`` that draws every val batch: the
images land in ``vis_data/vis_image`` and in the TensorBoard event file.
"""

from __future__ import annotations

import glob
import os

import numpy as np

from piston.hooks import Hook
from piston.registry import HOOKS, VISUALIZERS
from piston.runner import Runner
from piston.visualization import Visualizer

from ._common import Acc, TinyNet, loader


@VISUALIZERS.register_module(force=True)
class DetLocalVisualizer(Visualizer):
    def __init__(self, name: str = "visualizer", bbox_color=None, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.bbox_color = bbox_color
        self.calls: list[tuple] = []

    def add_datasample(
        self,
        name,
        image,
        data_sample=None,
        draw_gt=True,
        draw_pred=True,
        show=False,
        wait_time=0,
        out_file=None,
        pred_score_thr=0.3,
        step=0,
    ) -> None:
        self.calls.append((name, step, self.dataset_meta))
        drawn = image.copy()
        drawn[0, 0] = self.bbox_color
        self.add_image(name, drawn, step)


@HOOKS.register_module(force=True)
class DetVisualizationHook(Hook):
    def __init__(self, draw: bool = False, interval: int = 50, score_thr: float = 0.3) -> None:
        self._visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.interval = interval

    def after_val_iter(self, runner, batch_idx, data_batch, outputs) -> None:
        if not self.draw:
            return
        total_curr_iter = runner.iter + batch_idx
        if total_curr_iter % self.interval == 0:
            image = np.zeros((8, 6, 3), dtype=np.uint8)
            self._visualizer.add_datasample("val_img", image, outputs, step=total_curr_iter)


def test_default_runtime_with_visualization_hook(tmp_path) -> None:
    runner = Runner(
        model=TinyNet(),
        work_dir=str(tmp_path),
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False),
        val_evaluator=dict(type=Acc),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(
            timer=dict(type="IterTimerHook"),
            logger=dict(type="LoggerHook", interval=50),
            param_scheduler=dict(type="ParamSchedulerHook"),
            checkpoint=dict(type="CheckpointHook", interval=1),
            sampler_seed=dict(type="DistSamplerSeedHook"),
            visualization=dict(type="DetVisualizationHook", draw=True, interval=1),
        ),
        visualizer=dict(
            type="DetLocalVisualizer",
            vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")],
            name="visualizer",
            bbox_color=(255, 0, 0),
        ),
        randomness=dict(seed=0),
    )
    vis = runner.visualizer
    assert type(vis).__name__ == "DetLocalVisualizer"
    assert vis.instance_name == "visualizer"
    assert Visualizer.get_current_instance() is vis
    assert [type(h).__name__ for h in runner.hooks] == [
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "DetVisualizationHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
    ]
    runner.train()
    # after epoch 1 runner.iter is 2, after epoch 2 it is 4; two val batches each
    assert [(n, s) for n, s, _ in vis.calls] == [("val_img", s) for s in (2, 3, 4, 5)]
    assert all(meta == {"classes": ("neg", "pos")} for *_, meta in vis.calls)

    (vis_dir,) = glob.glob(os.path.join(str(tmp_path), "*", "vis_data"))
    images = sorted(os.listdir(os.path.join(vis_dir, "vis_image")))
    assert images == [f"val_img_{s}.png" for s in (2, 3, 4, 5)]
    from PIL import Image

    with Image.open(os.path.join(vis_dir, "vis_image", "val_img_3.png")) as img:
        pixels = np.asarray(img.convert("RGB"))
    assert pixels.shape == (8, 6, 3)
    assert tuple(pixels[0, 0]) == (255, 0, 0)
    assert pixels[1:].sum() == 0

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(vis_dir)
    acc.Reload()
    assert acc.Tags()["images"] == ["val_img"]
    assert [(e.step, e.width, e.height) for e in acc.Images("val_img")] == [
        (s, 6, 8) for s in (2, 3, 4, 5)
    ]
