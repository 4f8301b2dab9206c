"""``DigitsDataset``: a small real image-classification data set bundled with piston.

Design note: the UCI hand-written digits (1,797 8x8 images, CC BY 4.0, see ``_demo/README.md``)
ship as a 45 kB npz inside the package, so the demo config trains on real data with no download
and no extra dependency. The class is a ``BaseDataset``: metainfo, pipelines, ``indices``,
serialization and the wrappers all work as for any other dataset. Annotations keep the raw
``uint8`` image (64 bytes); conversion to a float tensor happens per sample.
"""

from __future__ import annotations

import os.path as osp
from typing import Any, Literal

import numpy as np
import torch

from piston.registry import DATASETS

from .base_dataset import BaseDataset

DIGITS_FILE = osp.join(osp.dirname(__file__), "_demo", "digits.npz")
NUM_VAL = 297


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """UCI hand-written digits: 1,500 training and 297 validation 8x8 grayscale images.

    A sample is ``(img, label)``: ``img`` a ``float32`` tensor of shape ``(1, 8, 8)`` scaled to
    [0, 1] and ``label`` an ``int`` in 0..9. A plain ``DataLoader`` (or
    ``collate_fn=dict(type='default_collate')``) therefore yields ``[imgs, labels]`` with
    ``imgs`` of shape ``(B, 1, 8, 8)`` and ``labels`` an ``int64`` tensor of shape ``(B,)``.

    With a ``pipeline``, each transform receives and returns a dict with keys ``img`` (the tensor
    above), ``gt_label`` (int) and ``sample_idx``; the result is then returned as
    ``(result['img'], result['gt_label'])``, or as the dict itself with ``return_dict=True``.

    The split is fixed: ``'train'`` is images 0..1499 and ``'val'`` the last 297 images.

    Args:
        split: ``'train'`` or ``'val'``.
        return_dict: Return the pipeline's dict instead of the ``(img, label)`` tuple.
        ann_file: Path of an npz with ``images`` (N, 8, 8) and ``labels`` (N,); empty for the
            bundled file.
        **kwargs: Other ``BaseDataset`` arguments (``pipeline``, ``indices``, ``metainfo``,
            ``serialize_data``, ``lazy_init``, ``test_mode``, ...).

    Example:
        >>> from torch.utils.data import DataLoader
        >>> imgs, labels = next(iter(DataLoader(DigitsDataset(split='val'), batch_size=4)))
        >>> imgs.shape, labels.dtype
        (torch.Size([4, 1, 8, 8]), torch.int64)
    """

    METAINFO: dict = {"classes": tuple(str(digit) for digit in range(10))}

    def __init__(
        self,
        split: Literal["train", "val"] = "train",
        return_dict: bool = False,
        ann_file: str = "",
        **kwargs: Any,
    ) -> None:
        if split not in ("train", "val"):
            raise ValueError(f"DigitsDataset split must be 'train' or 'val', but got {split!r}")
        self.split = split
        self.return_dict = return_dict
        kwargs.setdefault("data_prefix", {})
        super().__init__(ann_file=ann_file or DIGITS_FILE, **kwargs)

    def load_data_list(self) -> list[dict]:
        """One dict per image of the split: ``img`` (uint8 8x8 array) and ``gt_label`` (int)."""
        with np.load(self.ann_file) as arrays:
            images, labels = arrays["images"], arrays["labels"]
        if images.shape[1:] != (8, 8) or len(images) != len(labels):
            raise ValueError(
                f"{self.ann_file} must hold images of shape (N, 8, 8) and N labels, but got "
                f"images {images.shape} and labels {labels.shape}"
            )
        selected = slice(None, -NUM_VAL) if self.split == "train" else slice(-NUM_VAL, None)
        return [
            {"img": img, "gt_label": int(label)}
            for img, label in zip(images[selected], labels[selected])
        ]

    def get_cat_ids(self, idx: int) -> list[int]:
        """The label of sample ``idx`` (used by ``ClassBalancedDataset``)."""
        return [self.get_data_info(idx)["gt_label"]]

    def prepare_data(self, idx: int) -> Any:
        """Convert the image to a (1, 8, 8) float tensor in [0, 1], then run the pipeline."""
        data_info = self.get_data_info(idx)
        data_info["img"] = torch.from_numpy(data_info["img"]).to(torch.float32).div_(16)[None]
        data = self.pipeline(data_info)
        if data is None or self.return_dict:
            return data
        return data["img"], data["gt_label"]
