"""NaiveVisualizationHook: sends de-normalized test images and their predictions to the
visualizer (whose ``add_datasample`` downstream visualizers implement)."""

from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["NaiveVisualizationHook"]


def _get(sample: Any, key: str, default: Any = None) -> Any:
    getter = getattr(sample, "get", None)
    return getter(key, default) if callable(getter) else default


def _to_image(inputs: torch.Tensor, data_sample: Any) -> np.ndarray:
    """A CHW network input back to an HWC uint8 image of the original size.

    Shapes come from ``img_shape``/``ori_shape`` (``(h, w)``), or from MMEngine's older keys:
    ``ori_height``/``ori_width``, and, when ``pad_shape`` is set, the unpadded size ``scale``
    (``(w, h)``, default the original size).
    """
    img = inputs.detach().float().cpu()
    if img.dim() == 4 and img.shape[0] == 1:  # a batch of one image
        img = img[0]
    norm = _get(data_sample, "img_norm_cfg") or {}
    mean = torch.as_tensor(norm.get("mean", (0.0,) * img.shape[0]), dtype=img.dtype)
    std = torch.as_tensor(norm.get("std", (1.0,) * img.shape[0]), dtype=img.dtype)
    img = img * std.view(-1, 1, 1) + mean.view(-1, 1, 1)
    ori_shape = _get(data_sample, "ori_shape")
    ori_h, ori_w = _get(data_sample, "ori_height"), _get(data_sample, "ori_width")
    if ori_shape is None and ori_h is not None and ori_w is not None:
        ori_shape = (ori_h, ori_w)
    img_shape = _get(data_sample, "img_shape")
    if img_shape is None and _get(data_sample, "pad_shape") is not None:
        scale = _get(data_sample, "scale")
        if scale is not None:
            img_shape = (scale[1], scale[0])
        elif ori_shape is not None:
            img_shape = tuple(ori_shape[:2])
    if img_shape is not None:  # drop the padding
        img = img[:, : img_shape[0], : img_shape[1]]
    if ori_shape is not None and tuple(ori_shape[:2]) != tuple(img.shape[1:]):
        img = F.interpolate(img[None], size=tuple(ori_shape[:2]), mode="bilinear")[0]
    return img.clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


@HOOKS.register_module()
class NaiveVisualizationHook(Hook):
    """Show test samples through ``runner.visualizer.add_datasample``.

    Args:
        interval: Visualize every ``interval`` test batches.
        draw_gt: Draw the ground truth.
        draw_pred: Draw the prediction.
    """

    priority = "NORMAL"

    def __init__(self, interval: int = 1, draw_gt: bool = True, draw_pred: bool = True) -> None:
        self._interval = interval
        self.draw_gt = draw_gt
        self.draw_pred = draw_pred

    def before_train(self, runner) -> None:
        """Record the model graph."""
        runner.visualizer.add_graph(runner.model, None)

    def after_test_iter(
        self,
        runner,
        batch_idx: int,
        data_batch: DATA_BATCH = None,
        outputs: Sequence | None = None,
    ) -> None:
        """Visualize each sample of every ``interval``-th batch."""
        if not self.every_n_inner_iters(batch_idx, self._interval) or data_batch is None:
            return
        if isinstance(data_batch, dict):
            inputs = data_batch["inputs"]
            samples = data_batch.get("data_samples") or [None] * len(inputs)
        else:  # a list of per-sample dicts
            inputs = [item["inputs"] for item in data_batch]
            samples = [item.get("data_samples", item.get("data_sample")) for item in data_batch]
        outputs = outputs if outputs is not None else samples
        for i, (img, sample, output) in enumerate(zip(inputs, samples, outputs)):
            image = _to_image(img, sample)
            img_path = _get(sample, "img_path")
            name = osp.basename(img_path) if img_path else f"test_{batch_idx}_{i}"
            runner.visualizer.add_datasample(
                name,
                image,
                data_sample=output,
                draw_gt=self.draw_gt,
                draw_pred=self.draw_pred,
                step=batch_idx,
            )
