"""Data samples written the way mmdet / mmseg write them: property-backed typed fields."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from piston.structures import BaseDataElement, InstanceData, PixelData


class _Masks:
    """Stand-in for mmdet's ``BitmapMasks``: ``__getitem__`` plus a class-level ``cat``."""

    def __init__(self, masks: np.ndarray) -> None:
        self.masks = masks

    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, index: object) -> _Masks:
        return _Masks(self.masks[index])

    @classmethod
    def cat(cls, items: list[_Masks]) -> _Masks:
        return cls(np.concatenate([item.masks for item in items]))


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
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, "_gt_sem_seg", dtype=PixelData)

    @gt_sem_seg.deleter
    def gt_sem_seg(self) -> None:
        del self._gt_sem_seg


def _instances() -> InstanceData:
    inst = InstanceData(metainfo={"img_shape": (4, 4)})
    inst.bboxes = torch.arange(12.0).reshape(3, 4)
    inst.labels = torch.tensor([0, 1, 2])
    inst.masks = _Masks(np.arange(12).reshape(3, 2, 2))
    inst.texts = ["a", "b", "c"]
    return inst


def test_typed_property_fields() -> None:
    sample = DetDataSample(metainfo={"img_shape": (4, 4)})
    sample.gt_instances = _instances()
    sample.gt_sem_seg = PixelData(sem_seg=torch.zeros(1, 4, 4))
    assert sorted(sample.keys()) == ["gt_instances", "gt_sem_seg"]
    assert "gt_instances" in sample
    with pytest.raises(AssertionError):
        sample.gt_instances = torch.zeros(3)
    copies = [
        sample.clone(),
        sample.new(),
        copy.deepcopy(sample),
        pickle.loads(pickle.dumps(sample)),
    ]
    copies += [sample.cpu(), sample.to("cpu"), sample.numpy().to_tensor()]
    for other in copies:
        assert type(other) is DetDataSample
        assert sorted(other.keys()) == ["gt_instances", "gt_sem_seg"]
        assert other.metainfo == {"img_shape": (4, 4)}
    assert isinstance(sample.numpy().gt_sem_seg.sem_seg, np.ndarray)
    assert sorted(sample.to_dict()) == ["gt_instances", "gt_sem_seg", "img_shape"]


def test_pop_and_del_of_property_backed_fields() -> None:
    sample = DetDataSample()
    inst = _instances()
    sample.gt_instances = inst
    sample.score = torch.ones(1)
    assert sample.pop("gt_instances") is inst
    assert sample.keys() == ["score"]
    assert "gt_instances" not in sample
    assert "_gt_instances" not in sample
    assert sample.pop("gt_instances", None) is None
    with pytest.raises(KeyError):
        sample.pop("gt_instances")
    sample.gt_instances = inst
    del sample["gt_instances"]
    assert sample.keys() == ["score"]


@pytest.mark.parametrize(
    ("index", "rows"),
    [
        (1, [1]),
        (-1, [2]),
        (np.int64(0), [0]),
        (slice(1, None), [1, 2]),
        ([2, 0], [2, 0]),
        ([], []),
        (np.array([2, 0], dtype=np.int32), [2, 0]),
        (np.array([True, False, True]), [0, 2]),
        (torch.tensor([1, -1]), [1, 2]),
        (torch.tensor([False, True, True]), [1, 2]),
    ],
)
def test_instance_indexing_every_field_type(index: object, rows: list[int]) -> None:
    inst = _instances()
    out = inst[index]
    assert type(out) is InstanceData
    assert out.metainfo == {"img_shape": (4, 4)}
    assert len(out) == len(rows)
    assert out.labels.tolist() == rows
    assert out.bboxes[:, 0].tolist() == [4.0 * r for r in rows]
    assert out.texts == ["abc"[r] for r in rows]
    assert out.masks.masks.shape == (len(rows), 2, 2)
    assert out.masks.masks[:, 0, 0].tolist() == [4 * r for r in rows]


def test_rejected_typed_assignment_leaves_no_field() -> None:
    sample = DetDataSample(metainfo={"img_shape": (4, 4)})
    with pytest.raises(AssertionError):
        sample.gt_instances = torch.rand(2, 4)
    assert "gt_instances" not in sample
    assert sample.keys() == []
    assert "DATA FIELDS" in repr(sample)
    sample.gt_instances = _instances()
    with pytest.raises(AssertionError):
        sample.gt_instances = [1, 2]
    assert sample.keys() == ["gt_instances"]
    assert len(sample.gt_instances) == 3
