from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from piston.structures import BaseDataElement, LabelData


class DetSample(BaseDataElement):
    @property
    def gt_label(self) -> LabelData:
        return self._gt_label

    @gt_label.setter
    def gt_label(self, value: LabelData) -> None:
        self.set_field(value, "_gt_label", dtype=LabelData)

    @gt_label.deleter
    def gt_label(self) -> None:
        del self._gt_label


def _element() -> BaseDataElement:
    return BaseDataElement(
        metainfo={"img_id": 3, "img_shape": (8, 6)},
        bboxes=torch.rand(2, 4),
        scores=np.ones(2),
    )


def test_init_separates_metainfo_and_data() -> None:
    elem = _element()
    assert sorted(elem.metainfo_keys()) == ["img_id", "img_shape"]
    assert sorted(elem.keys()) == ["bboxes", "scores"]
    assert sorted(elem.all_keys()) == ["bboxes", "img_id", "img_shape", "scores"]
    assert elem.metainfo == {"img_id": 3, "img_shape": (8, 6)}
    assert "img_id" in elem
    assert "bboxes" in elem
    assert "missing" not in elem


def test_set_metainfo_deep_copies_and_rejects_non_dict() -> None:
    meta = {"shape": [1, 2]}
    elem = BaseDataElement(metainfo=meta)
    meta["shape"].append(3)
    assert elem.shape == [1, 2]
    with pytest.raises(AssertionError, match="dict"):
        elem.set_metainfo([1, 2])


def test_values_and_items_follow_keys() -> None:
    elem = _element()
    assert dict(elem.items()) == dict(zip(elem.keys(), elem.values()))
    assert dict(elem.metainfo_items()) == dict(zip(elem.metainfo_keys(), elem.metainfo_values()))
    assert len(elem.all_values()) == 4
    assert {key for key, _ in elem.all_items()} == set(elem.all_keys())


def test_attribute_assignment_sets_data_field() -> None:
    elem = BaseDataElement()
    elem.labels = torch.tensor([1])
    assert elem.keys() == ["labels"]
    elem.set_data({"scores": torch.tensor([0.5])})
    assert sorted(elem.keys()) == ["labels", "scores"]


def test_field_cannot_be_metainfo_and_data() -> None:
    elem = _element()
    with pytest.raises(AttributeError, match="img_id"):
        elem.img_id = 4
    with pytest.raises(AttributeError, match="bboxes"):
        elem.set_metainfo({"bboxes": 1})


def test_set_field_checks_dtype_and_field_type() -> None:
    elem = BaseDataElement()
    with pytest.raises(AssertionError, match="tag"):
        elem.set_field(1, "tag", dtype=str)
    with pytest.raises(AssertionError, match="field_type"):
        elem.set_field(1, "tag", field_type="other")
    elem.set_field("x", "tag", dtype=str, field_type="metainfo")
    assert elem.metainfo_keys() == ["tag"]


def test_private_field_sets_are_immutable() -> None:
    elem = BaseDataElement()
    with pytest.raises(AttributeError):
        elem._data_fields = set()
    with pytest.raises(AttributeError):
        elem._metainfo_fields = set()
    with pytest.raises(AttributeError):
        del elem._data_fields


def test_delete_field_by_attribute_and_item() -> None:
    elem = _element()
    del elem.bboxes
    assert "bboxes" not in elem
    assert not hasattr(elem, "bboxes")
    del elem["img_id"]
    assert "img_id" not in elem.metainfo_keys()


def test_missing_field_raises_attribute_error_and_get_defaults() -> None:
    elem = BaseDataElement()
    with pytest.raises(AttributeError):
        _ = elem.nothing
    assert elem.get("nothing") is None
    assert elem.get("nothing", 5) == 5


def test_pop_metainfo_data_and_default() -> None:
    elem = _element()
    assert elem.pop("img_id") == 3
    assert "img_id" not in elem
    scores = elem.pop("scores")
    assert isinstance(scores, np.ndarray)
    assert "scores" not in elem.keys()  # noqa: SIM118 (the method under test)
    assert elem.pop("nothing", None) is None
    with pytest.raises(KeyError, match="nothing"):
        elem.pop("nothing")


def test_update_copies_metainfo_then_data() -> None:
    elem = _element()
    other = BaseDataElement(metainfo={"img_id": 7}, labels=torch.tensor([2, 3]))
    elem.update(other)
    assert elem.img_id == 7
    assert torch.equal(elem.labels, torch.tensor([2, 3]))
    assert "bboxes" in elem


def test_new_keeps_metainfo_and_replaces_data_when_given() -> None:
    elem = _element()
    same = elem.new()
    assert type(same) is BaseDataElement
    assert same.bboxes is elem.bboxes  # shallow data copy
    assert same.metainfo == elem.metainfo
    other = elem.new(metainfo={"img_id": 9}, labels=[1])
    assert other.metainfo == {"img_id": 9}
    assert other.keys() == ["labels"]


def test_clone_is_same_class_with_shallow_data() -> None:
    sample = DetSample(metainfo={"a": 1})
    sample.gt_label = LabelData(label=torch.tensor([1]))
    copied = sample.clone()
    assert type(copied) is DetSample
    assert copied.gt_label is sample.gt_label
    assert copied.metainfo == {"a": 1}


def test_property_backed_field_reports_public_name() -> None:
    sample = DetSample()
    sample.gt_label = LabelData(label=torch.tensor([1]))
    assert sample.keys() == ["gt_label"]
    assert isinstance(sample.values()[0], LabelData)
    with pytest.raises(AssertionError, match="_gt_label"):
        sample.gt_label = torch.tensor([1])
    del sample.gt_label
    assert sample.keys() == []
    assert "_gt_label" not in sample


def test_to_and_device_conversions_convert_data_only() -> None:
    inner = BaseDataElement(x=torch.ones(2, requires_grad=True))
    elem = BaseDataElement(metainfo={"m": torch.ones(1)}, t=torch.ones(2), inner=inner, s="str")
    doubled = elem.to(torch.float64)
    assert doubled.t.dtype == torch.float64
    assert doubled.inner.x.dtype == torch.float64
    assert doubled.s == "str"
    assert doubled.m.dtype == torch.float32  # metainfo untouched
    detached = elem.detach()
    assert not detached.inner.x.requires_grad
    assert elem.cpu().t.device.type == "cpu"


def test_numpy_and_to_tensor_round_trip_nested() -> None:
    elem = BaseDataElement(t=torch.arange(3), inner=BaseDataElement(x=torch.ones(2)))
    as_numpy = elem.numpy()
    assert isinstance(as_numpy.t, np.ndarray)
    assert isinstance(as_numpy.inner.x, np.ndarray)
    back = as_numpy.to_tensor()
    assert isinstance(back.t, torch.Tensor)
    assert torch.equal(back.inner.x, torch.ones(2))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.gpu
def test_cuda_moves_tensors() -> None:
    elem = BaseDataElement(t=torch.ones(2), inner=BaseDataElement(x=torch.ones(1)))
    moved = elem.cuda()
    assert moved.t.is_cuda
    assert moved.inner.x.is_cuda
    assert not moved.cpu().t.is_cuda


def test_to_dict_merges_all_fields_recursively() -> None:
    elem = BaseDataElement(metainfo={"img_id": 1}, inner=BaseDataElement(x=2), y=3)
    assert elem.to_dict() == {"img_id": 1, "inner": {"x": 2}, "y": 3}


def test_repr_lists_metainfo_and_data() -> None:
    elem = BaseDataElement(metainfo={"img_id": 1}, y=3)
    text = repr(elem)
    pattern = (
        r"<BaseDataElement\(\n\n    META INFORMATION\n    img_id: 1\n\n"
        r"    DATA FIELDS\n    y: 3\n\) at 0x[0-9a-f]+>"
    )
    assert re.fullmatch(pattern, text), text
