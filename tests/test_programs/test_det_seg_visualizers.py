"""Downstream visualizers (mmdet's DetLocalVisualizer, mmseg's SegLocalVisualizer style) drawing
headless with the Visualizer API and saving through LocalVisBackend."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from piston.registry import VISUALIZERS
from piston.structures import BaseDataElement, InstanceData, PixelData
from piston.visualization import Visualizer


@VISUALIZERS.register_module(force=True)
class ToyDetLocalVisualizer(Visualizer):
    """A trimmed DetLocalVisualizer: boxes + label texts + masks, gt left and pred right."""

    def __init__(self, name="visualizer", image=None, vis_backends=None, save_dir=None,
                 bbox_color=None, text_color=(200, 200, 200), mask_color=None, line_width=3,
                 alpha=0.8) -> None:  # fmt: skip
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.bbox_color = bbox_color
        self.text_color = text_color
        self.mask_color = mask_color
        self.line_width = line_width
        self.alpha = alpha
        self.dataset_meta = {}

    def _draw_instances(self, image, instances, classes, palette):
        self.set_image(image)
        if "bboxes" in instances and len(instances.bboxes) > 0:
            bboxes = instances.bboxes
            labels = instances.labels
            colors = [palette[label] for label in labels]
            self.draw_bboxes(bboxes, edge_colors=colors, alpha=self.alpha,
                             line_widths=self.line_width)  # fmt: skip
            positions = bboxes[:, :2] + self.line_width
            areas = (bboxes[:, 3] - bboxes[:, 1]) * (bboxes[:, 2] - bboxes[:, 0])
            scales = np.clip((areas / 1000.0).numpy(), 0.5, 1.0)
            for i, (pos, label) in enumerate(zip(positions, labels)):
                label_text = classes[label]
                if "scores" in instances:
                    label_text += f": {round(float(instances.scores[i]) * 100, 1)}"
                self.draw_texts(
                    label_text,
                    pos,
                    colors=self.text_color,
                    font_sizes=int(13 * scales[i]),
                    bboxes=[{"facecolor": "black", "alpha": 0.8, "pad": 0.7, "edgecolor": "none"}],
                )
        if "masks" in instances:
            masks = instances.masks.astype(bool)
            colors = [palette[label] for label in instances.labels]
            self.draw_binary_masks(masks, colors=colors, alphas=self.alpha)
        return self.get_image()

    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, pred_score_thr=0.3, step=0):  # fmt: skip
        classes = self.dataset_meta.get("classes")
        palette = self.dataset_meta.get("palette")
        gt_img = pred_img = None
        if draw_gt and "gt_instances" in data_sample:
            gt_img = self._draw_instances(image, data_sample.gt_instances, classes, palette)
        if draw_pred and "pred_instances" in data_sample:
            pred = data_sample.pred_instances
            pred = pred[pred.scores > pred_score_thr]
            pred_img = self._draw_instances(image, pred, classes, palette)
        if gt_img is not None and pred_img is not None:
            drawn = np.concatenate((gt_img, pred_img), axis=1)
        else:
            drawn = gt_img if gt_img is not None else pred_img
        self.set_image(drawn)
        if out_file is not None:
            from PIL import Image

            Image.fromarray(drawn).save(out_file)
        else:
            self.add_image(name, drawn, step)


def _read_png(path):
    from PIL import Image

    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def _sample():
    sample = BaseDataElement()
    gt = InstanceData()
    gt.bboxes = torch.tensor([[10.0, 10.0, 40.0, 30.0]])
    gt.labels = torch.tensor([0])
    masks = np.zeros((1, 48, 64), dtype=np.uint8)
    masks[0, 36:44, 44:60] = 1
    gt.masks = masks
    sample.gt_instances = gt
    pred = InstanceData()
    pred.bboxes = torch.tensor([[12.0, 12.0, 42.0, 32.0], [0.0, 0.0, 5.0, 5.0]])
    pred.labels = torch.tensor([1, 1])
    pred.scores = torch.tensor([0.9, 0.1])
    sample.pred_instances = pred
    return sample


def test_det_local_visualizer_add_datasample(tmp_path) -> None:
    vis = VISUALIZERS.build(
        dict(
            type="ToyDetLocalVisualizer",
            name="det_vis",
            vis_backends=[dict(type="LocalVisBackend")],
            save_dir=str(tmp_path),
        )
    )
    assert Visualizer.get_current_instance() is vis
    assert ToyDetLocalVisualizer.get_current_instance() is vis
    vis.dataset_meta = dict(classes=("cat", "dog"), palette=[(255, 0, 0), (0, 0, 255)])
    image = np.full((48, 64, 3), 100, dtype=np.uint8)
    vis.add_datasample("demo", image, _sample(), step=7)

    path = tmp_path / "vis_data" / "vis_image" / "demo_7.png"
    drawn = _read_png(path)
    assert drawn.shape == (48, 128, 3)
    assert drawn.dtype == np.uint8
    gt, pred = drawn[:, :64], drawn[:, 64:]
    # the input image itself is untouched (set_image copies)
    assert (image == 100).all()
    # gt box edges are red-ish (palette[0]), the box interior and far corner are untouched
    left_edge = gt[20, 10].astype(int)
    assert left_edge[0] > 200
    assert left_edge[2] < 60
    assert (gt[22, 25] == 100).all()
    assert (gt[2, 62] == 100).all()
    # the gt mask is blended with alpha 0.8: 100 * 0.2 + 255 * 0.8 = 224 in R
    assert tuple(gt[40, 52]) == (224, 20, 20)
    # the label text background (black, alpha 0.8) darkens pixels just inside the box corner
    assert gt[14:18, 14:30].min() < 60
    # pred: only the 0.9 box survives the threshold, drawn in palette[1] (blue)
    right_edge = pred[25, 42].astype(int)
    assert right_edge[2] > 200
    assert right_edge[0] < 60
    assert (pred[0:4, 0:4] == 100).all()
    # get_image returns the concatenated canvas the subclass set last
    assert vis.get_image().shape == (48, 128, 3)

    out_file = tmp_path / "out.png"
    vis.add_datasample("demo", image, _sample(), draw_gt=False, out_file=str(out_file))
    only_pred = _read_png(out_file)
    assert only_pred.shape == (48, 64, 3)
    np.testing.assert_array_equal(only_pred, pred)
    assert sorted(os.listdir(tmp_path / "vis_data" / "vis_image")) == ["demo_7.png"]


@VISUALIZERS.register_module(force=True)
class ToySegLocalVisualizer(Visualizer):
    """mmseg-style: colour the semantic map with numpy and blend it, then write class names."""

    def __init__(self, name="visualizer", alpha: float = 0.5, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha

    def _draw_sem_seg(self, image, sem_seg, classes, palette):
        sem_seg = sem_seg.cpu().data
        ids = np.unique(sem_seg)[::-1]
        labels = np.array(ids, dtype=np.int64)
        colors = [palette[label] for label in labels]
        mask = np.zeros_like(image, dtype=np.uint8)
        for label, color in zip(labels, colors):
            mask[sem_seg[0] == label, :] = color
        color_seg = (image * (1 - self.alpha) + mask * self.alpha).astype(np.uint8)
        self.set_image(color_seg)
        for label in labels:
            ys, xs = np.nonzero(sem_seg[0].numpy() == label)
            loc = np.array([xs.mean(), ys.mean()])
            self.draw_texts(classes[label], loc, colors=(255, 255, 255), font_sizes=10,
                            horizontal_alignments="center", vertical_alignments="center",
                            bboxes=[{"facecolor": "black", "alpha": 0.5, "pad": 0.7,
                                     "edgecolor": "none"}])  # fmt: skip
        return self.get_image()

    def add_datasample(self, name, image, data_sample=None, draw_gt=True, draw_pred=True,
                       show=False, wait_time=0, out_file=None, step=0, with_labels=True):  # fmt: skip
        meta = self.dataset_meta
        drawn = self._draw_sem_seg(image, data_sample.pred_sem_seg, meta["classes"],
                                   meta["palette"])  # fmt: skip
        self.add_image(name, drawn, step)


def test_seg_local_visualizer(tmp_path) -> None:
    vis = Visualizer.get_instance  # noqa: F841 - the classmethod exists on the base
    seg_vis = ToySegLocalVisualizer.get_instance(
        "seg_vis", vis_backends=[dict(type="LocalVisBackend")], save_dir=str(tmp_path), alpha=0.5
    )
    assert Visualizer.get_current_instance() is seg_vis
    assert Visualizer.get_instance("seg_vis") is seg_vis
    seg_vis.dataset_meta = dict(classes=("road", "sky"), palette=[[128, 64, 128], [70, 130, 180]])
    seg = torch.zeros(1, 40, 60, dtype=torch.long)
    seg[:, :20] = 1
    sample = BaseDataElement(pred_sem_seg=PixelData(data=seg))
    image = np.zeros((40, 60, 3), dtype=np.uint8)
    seg_vis.add_datasample("seg", image, sample, step=3)
    drawn = _read_png(tmp_path / "vis_data" / "vis_image" / "seg_3.png")
    assert drawn.shape == (40, 60, 3)
    assert tuple(drawn[0, 0]) == (35, 65, 90)  # sky * 0.5
    assert tuple(drawn[39, 0]) == (64, 32, 64)  # road * 0.5
    # class names are written (white on a dark box) around the region centres
    assert drawn[8:12, 20:40].max() > 200
    assert drawn[28:32, 20:40].max() > 200
    with pytest.raises(KeyError):
        seg_vis.dataset_meta["palette_missing"]
    json_path = tmp_path / "vis_data" / "scalars.json"
    seg_vis.add_scalars({"mIoU": 51.5}, step=3)
    assert json.loads(json_path.read_text()) == {"mIoU": 51.5, "step": 3}
