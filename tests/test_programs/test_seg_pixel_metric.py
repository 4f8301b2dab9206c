"""An mmseg-style segmentor: ``PixelData`` predictions, an IoU metric that keeps only
per-image confusion counts in ``process``, and an evaluator with two metrics."""

from __future__ import annotations

import glob
import json
import os
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric, Evaluator
from piston.model import BaseDataPreprocessor, BaseModel
from piston.registry import METRICS
from piston.runner import Runner
from piston.structures import BaseDataElement, PixelData

NUM_CLASSES = 3


class SegDataSample(BaseDataElement):
    @property
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, "_gt_sem_seg", dtype=PixelData)

    @property
    def pred_sem_seg(self) -> PixelData:
        return self._pred_sem_seg

    @pred_sem_seg.setter
    def pred_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, "_pred_sem_seg", dtype=PixelData)


class Stripes(Dataset):
    """6x6 images whose class is the column band; image ``i`` has its own value scale."""

    METAINFO = dict(classes=("sky", "tree", "road"), palette=[[0, 0, 255], [0, 255, 0], [9, 9, 9]])

    @property
    def metainfo(self) -> dict:
        return dict(self.METAINFO)

    def __len__(self) -> int:
        return 5

    def __getitem__(self, idx: int) -> dict:
        seg = torch.arange(6).div(2, rounding_mode="floor").repeat(6, 1)
        img = F.one_hot(seg, NUM_CLASSES).permute(2, 0, 1).float() * (idx + 1)
        sample = SegDataSample(metainfo=dict(img_path=f"img_{idx}.png", ori_shape=(6, 6)))
        sample.gt_sem_seg = PixelData(data=seg[None])
        return dict(inputs=img, data_samples=sample)


class OneByOne(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(NUM_CLASSES, NUM_CLASSES, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(NUM_CLASSES)[:, :, None, None])
            self.conv.weight[2, 2] = -1.0  # 'road' never predicted: it becomes 'sky' (0)
            self.conv.bias.zero_()

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.conv(torch.stack(inputs))
        if mode == "loss":
            gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
            return dict(loss_ce=F.cross_entropy(logits, gt))
        if mode == "predict":
            for sample, lg in zip(data_samples, logits):
                sample.pred_sem_seg = PixelData(data=lg.argmax(0, keepdim=True))
                sample.seg_logits = PixelData(data=lg)
            return data_samples
        return logits


@METRICS.register_module(force=True)
class ToyIoU(BaseMetric):
    def __init__(self, prefix: str | None = None, collect_device: str = "cpu") -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch, data_samples) -> None:
        for s in data_samples:
            pred = s["pred_sem_seg"]["data"].flatten()
            gt = s["gt_sem_seg"]["data"].flatten()
            inter = torch.bincount(pred[pred == gt], minlength=NUM_CLASSES)
            area_p = torch.bincount(pred, minlength=NUM_CLASSES)
            area_g = torch.bincount(gt, minlength=NUM_CLASSES)
            self.results.append((inter, area_p + area_g - inter))

    def compute_metrics(self, results) -> dict:
        inter = sum(r[0] for r in results).double()
        union = sum(r[1] for r in results).double()
        iou = (inter / union).numpy()
        out = {
            f"IoU.{c}": round(float(v) * 100, 2) for c, v in zip(self.dataset_meta["classes"], iou)
        }
        out["mIoU"] = round(float(np.nanmean(iou)) * 100, 2)
        return out


@METRICS.register_module(force=True)
class PixelCount(BaseMetric):
    default_prefix = "count"

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(s["pred_sem_seg"]["data"].numel() for s in data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(pixels=int(sum(results)), images=len(results))


def test_segmentor_eval(tmp_path) -> None:
    runner = Runner(
        model=OneByOne(),
        work_dir=str(tmp_path),
        test_dataloader=dict(
            dataset=Stripes(),
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        test_evaluator=[dict(type="ToyIoU"), dict(type="PixelCount")],
        test_cfg=dict(),
    )
    metrics = runner.test()
    # sky: pred covers sky+road columns -> IoU 12/24 per image; tree exact; road never
    assert metrics == {
        "IoU.sky": 50.0,
        "IoU.tree": 100.0,
        "IoU.road": 0.0,
        "mIoU": 50.0,
        "count/pixels": 5 * 36,
        "count/images": 5,
    }
    assert runner.test_evaluator.metrics[0].dataset_meta["classes"] == ("sky", "tree", "road")
    (log,) = glob.glob(os.path.join(str(tmp_path), "*", "*.log"))
    text = Path(log).read_text()
    assert "Epoch(test) [3/3]" in text
    assert "IoU.sky: 50.0000  IoU.tree: 100.0000  IoU.road: 0.0000  mIoU: 50.0000" in text
    # test results are dumped to <log_dir>/<timestamp>.json
    rec = json.loads(Path(runner.log_dir, f"{runner.timestamp}.json").read_text())
    assert rec["mIoU"] == 50.0
    assert rec["count/pixels"] == 180

    # two metrics that report the same name clash
    evaluator = Evaluator([ToyIoU(), ToyIoU()])
    evaluator.dataset_meta = Stripes.METAINFO
    batch = runner.test_dataloader.dataset[0]
    preds = runner.model.test_step(
        dict(inputs=[batch["inputs"]], data_samples=[batch["data_samples"]])
    )
    evaluator.process(preds, dict(inputs=[batch["inputs"]]))
    with pytest.raises(ValueError):
        evaluator.evaluate(1)
    # prefixes keep them apart
    evaluator = Evaluator([ToyIoU(prefix="a"), ToyIoU(prefix="b")])
    evaluator.dataset_meta = Stripes.METAINFO
    res = evaluator.offline_evaluate(preds)
    assert res["a/mIoU"] == res["b/mIoU"] == 50.0


def test_preprocessor_casting_and_model_to() -> None:
    Pair = namedtuple("Pair", ["img", "meta"])
    pre = BaseDataPreprocessor()
    sample = BaseDataElement(mask=torch.zeros(2))
    data = dict(
        inputs=[torch.ones(2)],
        extra=Pair(torch.zeros(1), "keep"),
        names=("a", "b"),
        nothing=None,
        data_samples=[sample],
        number=3,
    )
    out = pre(data)
    assert isinstance(out["extra"], Pair)
    assert out["extra"].meta == "keep"
    assert out["names"] == ("a", "b")
    assert out["nothing"] is None
    assert out["number"] == 3
    assert isinstance(out["data_samples"][0], BaseDataElement)
    model = OneByOne()
    assert model.data_preprocessor.device == torch.device("cpu")
    model.to(torch.float64)
    assert model.conv.weight.dtype == torch.float64
    assert model.data_preprocessor.device == torch.device("cpu")
    model.to("cpu")
    assert model.data_preprocessor.device == torch.device("cpu")
    with pytest.raises(TypeError):
        BaseModel.__init__(OneByOne.__new__(OneByOne), data_preprocessor="ImgDataPreprocessor")
