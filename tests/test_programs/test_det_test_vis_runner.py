"""mmdet-style `tools/test.py --show-dir`: a config names a visualizer subclass; the test-time
visualization hook reads class names from ``dataset_meta`` (set by the test loop) and writes
drawn images under ``<work_dir>/<timestamp>/<show_dir>``; the config lands in vis_data."""

from __future__ import annotations

import os
import os.path as osp

import numpy as np
import torch

from piston.config import Config
from piston.hooks import Hook
from piston.registry import HOOKS, VISUALIZERS
from piston.runner import Runner
from piston.visualization import Visualizer

from ._common import Acc, PointsDataset, TinyNet


@VISUALIZERS.register_module(force=True)
class ShowDirVisualizer(Visualizer):
    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, pred_score_thr=0.3, step=0):  # fmt: skip
        classes = self.dataset_meta["classes"]
        logits, label = data_sample
        self.set_image(image)
        pred = int(logits.argmax())
        color = (0, 255, 0) if pred == int(label) else (255, 0, 0)
        self.draw_bboxes(torch.tensor([1.0, 1.0, 30.0, 14.0]), edge_colors=color, alpha=1.0)
        self.draw_texts(classes[pred], torch.tensor([4, 4]), colors="w", font_sizes=8)
        drawn = self.get_image()
        if out_file is not None:
            from PIL import Image

            Image.fromarray(drawn).save(out_file)
        else:
            self.add_image(name, drawn, step)


@HOOKS.register_module(force=True)
class ShowDirHook(Hook):
    def __init__(self, draw: bool = False, test_out_dir: str | None = None) -> None:
        self._visualizer = Visualizer.get_current_instance()
        self.draw = draw
        self.test_out_dir = test_out_dir
        self._test_index = 0

    def before_test(self, runner) -> None:
        if self.test_out_dir is not None:
            self.test_out_dir = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
            os.makedirs(self.test_out_dir, exist_ok=True)

    def after_test_iter(self, runner, batch_idx, data_batch, outputs) -> None:
        if not self.draw:
            return
        logits, labels = outputs
        for lg, lb in zip(logits, labels):
            self._test_index += 1
            img = np.full((16, 32, 3), 40, dtype=np.uint8)
            out_file = None
            if self.test_out_dir is not None:
                out_file = osp.join(self.test_out_dir, f"{self._test_index:03d}.png")
            self._visualizer.add_datasample(
                "test_img", img, (lg, lb), out_file=out_file, step=self._test_index
            )


def test_show_dir_from_cfg(tmp_path) -> None:
    class CatDog(PointsDataset):
        METAINFO = {"classes": ("cat", "dog")}

    cfg = Config(
        dict(
            model=dict(type=TinyNet),
            work_dir=str(tmp_path),
            test_dataloader=dict(
                dataset=dict(type=CatDog, size=6),
                batch_size=3,
                sampler=dict(type="DefaultSampler", shuffle=False),
            ),
            test_evaluator=dict(type=Acc),
            test_cfg=dict(),
            default_hooks=dict(
                visualization=dict(type="ShowDirHook", draw=True, test_out_dir="show")
            ),
            visualizer=dict(type="ShowDirVisualizer", vis_backends=[dict(type="LocalVisBackend")]),
            randomness=dict(seed=0),
        )
    )
    runner = Runner.from_cfg(cfg)
    vis = runner.visualizer
    assert type(vis) is ShowDirVisualizer
    assert vis.instance_name == runner.experiment_name
    assert Visualizer.get_current_instance() is vis
    metrics = runner.test()
    assert vis.dataset_meta == {"classes": ("cat", "dog")}
    show_dir = tmp_path / runner.timestamp / "show"
    assert sorted(os.listdir(show_dir)) == [f"{i:03d}.png" for i in range(1, 7)]
    from PIL import Image

    greens = 0
    for name in sorted(os.listdir(show_dir)):
        with Image.open(show_dir / name) as png:
            px = np.asarray(png.convert("RGB"))
        assert px.shape == (16, 32, 3)
        assert (px[15, 31] == 40).all()  # outside the box: untouched
        edge = tuple(px[8, 1])
        assert edge in {(0, 255, 0), (255, 0, 0)}
        greens += edge == (0, 255, 0)
        assert px[4:12, 4:20].max() > 200  # the white class name
    assert greens == round(metrics["accuracy"] * 6 / 100)
    vis_data = tmp_path / runner.timestamp / "vis_data"
    assert Config.fromfile(str(vis_data / "config.py")).test_cfg == {}
    assert not (vis_data / "vis_image").exists()  # out_file given: nothing sent to backends
