"""mmdet-style ``DetDataSample`` with typed properties, post-processing on InstanceData,
and a metric used both through ``Evaluator.process/evaluate`` and ``offline_evaluate``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from piston.evaluator import BaseMetric, Evaluator
from piston.registry import METRICS
from piston.structures import BaseDataElement, InstanceData, LabelData, PixelData


class DetDataSample(BaseDataElement):
    @property
    def gt_instances(self) -> InstanceData:
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, "_gt_instances", dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances

    @property
    def pred_instances(self) -> InstanceData:
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, "_pred_instances", dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances

    @property
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, "_gt_sem_seg", dtype=PixelData)


def _sample(idx: int) -> DetDataSample:
    s = DetDataSample(metainfo=dict(img_id=idx, img_shape=(8, 8), scale_factor=(2.0, 2.0)))
    s.gt_instances = InstanceData(
        bboxes=torch.tensor([[0.0, 0.0, 4.0, 4.0], [2.0, 2.0, 6.0, 6.0]]),
        labels=torch.tensor([0, 1]),
    )
    s.gt_sem_seg = PixelData(sem_seg=torch.zeros(1, 8, 8, dtype=torch.long))
    return s


def test_det_sample_semantics() -> None:
    s = _sample(3)
    assert set(s.keys()) == {"gt_instances", "gt_sem_seg"}
    assert "_gt_instances" not in list(s.keys())
    assert set(s.metainfo_keys()) == {"img_id", "img_shape", "scale_factor"}
    assert "gt_instances" in s
    assert "img_id" in s
    assert "nothing" not in s
    with pytest.raises(AssertionError):
        s.gt_instances = torch.zeros(2)
    assert s.get("pred_instances") is None
    assert s.get("img_id") == 3

    # post-processing as a bbox head does it: score threshold, top-k, rescale
    pred = InstanceData(metainfo=dict(img_id=3))
    pred.bboxes = torch.tensor([[0, 0, 2, 2], [1, 1, 3, 3], [2, 2, 4, 4], [0, 0, 1, 1.0]])
    pred.scores = torch.tensor([0.9, 0.05, 0.6, 0.3])
    pred.labels = torch.tensor([0, 1, 1, 0])
    pred.names = ["a", "b", "c", "d"]
    keep = pred[pred.scores > 0.1]
    assert len(keep) == 3
    assert keep.names == ["a", "c", "d"]
    assert keep.img_id == 3
    order = keep.scores.argsort(descending=True)
    top2 = keep[order[:2]]
    assert top2.names == ["a", "c"]
    torch.testing.assert_close(top2.scores, torch.tensor([0.9, 0.6]))
    top2.bboxes /= top2.bboxes.new_tensor(s.scale_factor).repeat((1, 2))
    torch.testing.assert_close(top2.bboxes[1], torch.tensor([1.0, 1.0, 2.0, 2.0]))
    # numpy index (int32 becomes int64) and int index
    sub = pred[np.array([3, 0], dtype=np.int32)]
    assert sub.names == ["d", "a"]
    assert pred[-1].names == ["d"]
    assert len(pred[-1]) == 1
    with pytest.raises(IndexError):
        pred[4]
    # cat of per-level results, empty after filtering too
    empty = pred[pred.scores > 2]
    assert len(empty) == 0
    merged = InstanceData.cat([top2, empty, sub])
    assert len(merged) == 4
    assert merged.names == ["a", "c", "d", "a"]
    with pytest.raises(AssertionError):
        pred.extra = torch.zeros(3)
    s.pred_instances = keep

    # conversions keep the class and the metainfo and do not touch the original
    host = s.cpu().numpy()
    assert isinstance(host, DetDataSample)
    assert isinstance(host.pred_instances.scores, np.ndarray)
    assert host.img_id == 3
    assert isinstance(s.pred_instances.scores, torch.Tensor)
    back = host.to_tensor()
    assert isinstance(back.gt_instances.labels, torch.Tensor)
    det = s.detach()
    assert det.pred_instances.scores.requires_grad is False

    cloned = s.clone()
    cloned.set_metainfo(dict(img_id=99))
    assert s.img_id == 3
    assert cloned.img_id == 99
    new = s.new(pred_instances=pred)
    assert new.keys() == ["pred_instances"]
    assert new.img_id == 3

    d = s.to_dict()
    assert d["img_id"] == 3
    assert isinstance(d["gt_instances"], dict)
    assert set(d["gt_instances"]) == {"bboxes", "labels"}

    del s.gt_instances
    assert "gt_instances" not in s
    assert s.pop("img_id") == 3
    assert "img_id" not in s
    assert s.pop("nothing", 5) == 5
    with pytest.raises(KeyError):
        s.pop("nothing")
    r = repr(s)
    assert r.startswith("<DetDataSample(")
    assert "META INFORMATION" in r
    assert "DATA FIELDS" in r
    assert "img_shape: (8, 8)" in r

    # PixelData indexing and LabelData helpers
    seg = PixelData(metainfo=dict(img_id=1))
    with pytest.warns(UserWarning, match="convert from"):
        seg.sem_seg = torch.arange(16).view(4, 4)
    seg.logits = np.zeros((2, 4, 4), dtype=np.float32)
    assert seg.shape == (4, 4)
    crop = seg[1:3, 2]
    assert crop.shape == (2, 1)
    assert crop.sem_seg.shape == (1, 2, 1)
    assert crop.sem_seg.flatten().tolist() == [6, 10]
    with pytest.raises(AssertionError):
        seg.bad = torch.zeros(3, 5, 5)
    onehot = LabelData.label_to_onehot(torch.tensor([1, 3]), num_classes=5)
    assert onehot.tolist() == [0, 1, 0, 1, 0]
    assert LabelData.onehot_to_label(onehot).tolist() == [1, 3]
    lab = LabelData(metainfo=dict(num_classes=5), label=torch.tensor([2]), score=torch.rand(5))
    assert lab.to(torch.float64).score.dtype == torch.float64


@METRICS.register_module(force=True)
class SimpleRecall(BaseMetric):
    """Counts gt boxes matched by a prediction with the same label and IoU > 0.5."""

    default_prefix = "coco"

    def __init__(self, iou_thr: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        self.iou_thr = iou_thr

    def process(self, data_batch, data_samples) -> None:
        for sample in data_samples:
            gt = sample["gt_instances"]
            pred = sample["pred_instances"]
            hits = 0
            for box, label in zip(gt["bboxes"], gt["labels"]):
                for pbox, plabel in zip(pred["bboxes"], pred["labels"]):
                    lt = torch.maximum(box[:2], pbox[:2])
                    rb = torch.minimum(box[2:], pbox[2:])
                    inter = (rb - lt).clamp(min=0).prod()
                    area = (box[2:] - box[:2]).prod() + (pbox[2:] - pbox[:2]).prod()
                    if label == plabel and inter / (area - inter) > self.iou_thr:
                        hits += 1
                        break
            self.results.append((sample["img_id"], hits, len(gt["labels"])))

    def compute_metrics(self, results) -> dict:
        hits = sum(r[1] for r in results)
        total = sum(r[2] for r in results)
        return dict(recall=round(hits / total, 4), num_img=len({r[0] for r in results}))


def _predictions() -> list[DetDataSample]:
    out = []
    for idx in range(5):
        s = _sample(idx)
        pred = s.gt_instances.clone()
        if idx % 2:
            pred.bboxes = pred.bboxes + 3.0  # misses
        pred.scores = torch.ones(2)
        s.pred_instances = pred
        out.append(s)
    return out


def test_evaluator_online_and_offline() -> None:
    preds = _predictions()
    evaluator = Evaluator(dict(type="SimpleRecall"))
    evaluator.dataset_meta = dict(classes=("cat", "dog"))
    assert evaluator.metrics[0].dataset_meta == dict(classes=("cat", "dog"))
    evaluator.process(data_samples=preds[:2], data_batch=dict(inputs=[None, None]))
    evaluator.process(data_samples=preds[2:], data_batch=dict(inputs=[None] * 3))
    online = evaluator.evaluate(5)
    assert online == {"coco/recall": 0.6, "coco/num_img": 5}
    assert evaluator.metrics[0].results == []

    offline = Evaluator([dict(type="SimpleRecall", prefix="det"), SimpleRecall(iou_thr=0.0)])
    res = offline.offline_evaluate(preds, chunk_size=2)
    # any overlap counts with iou_thr=0, so the shifted boxes match too
    assert res == {"det/recall": 0.6, "det/num_img": 5, "coco/recall": 1.0, "coco/num_img": 5}
    # data (the inputs) given alongside: lengths must match
    res2 = Evaluator(SimpleRecall()).offline_evaluate(preds, [dict(x=i) for i in range(5)], 3)
    assert res2 == {"coco/recall": 0.6, "coco/num_img": 5}
    with pytest.raises((AssertionError, ValueError)):
        Evaluator(SimpleRecall()).offline_evaluate(preds, [dict(x=0)])
