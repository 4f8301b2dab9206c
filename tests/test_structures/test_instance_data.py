from __future__ import annotations

import numpy as np
import pytest
import torch

from piston.structures import InstanceData


class TextList:
    """A non-list container with ``__getitem__`` and ``cat``, like downstream mask types."""

    def __init__(self, items: list[str]) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: slice) -> TextList:
        return TextList(self.items[item])

    def __iter__(self):
        return iter(self.items)

    @staticmethod
    def cat(parts: list[TextList]) -> TextList:
        return TextList([text for part in parts for text in part.items])


def _instances() -> InstanceData:
    return InstanceData(
        metainfo={"img_id": 1},
        bboxes=torch.arange(12).view(3, 4),
        scores=np.array([0.1, 0.2, 0.3]),
        names=["a", "b", "c"],
        text="xyz",
        tags=TextList(["p", "q", "r"]),
    )


def test_len_is_first_field_length() -> None:
    assert len(InstanceData()) == 0
    assert len(_instances()) == 3


def test_set_requires_sized_and_equal_length() -> None:
    inst = _instances()
    with pytest.raises(AssertionError, match="__len__"):
        inst.score = 1.0
    with pytest.raises(AssertionError, match=r"length of values 2.*'labels'.*3"):
        inst.labels = torch.ones(2)
    with pytest.raises(AssertionError, match="2"):
        inst["labels"] = [1, 2]
    inst["labels"] = [1, 2, 3]
    assert inst.labels == [1, 2, 3]


def test_metainfo_is_not_length_checked() -> None:
    inst = _instances()
    inst.set_metainfo({"img_shape": (5, 5, 5, 5, 5)})
    assert inst.img_shape == (5, 5, 5, 5, 5)


def test_getitem_str_returns_field() -> None:
    inst = _instances()
    assert inst["names"] == ["a", "b", "c"]


def test_getitem_int_returns_length_one_instance() -> None:
    inst = _instances()
    item = inst[1]
    assert isinstance(item, InstanceData)
    assert len(item) == 1
    assert torch.equal(item.bboxes, inst.bboxes[1:2])
    assert item.names == ["b"]
    assert item.text == "y"
    assert item.metainfo == {"img_id": 1}
    assert inst[-1].names == ["c"]
    with pytest.raises(IndexError, match="3"):
        inst[3]
    with pytest.raises(IndexError):
        inst[-4]


def test_getitem_slice() -> None:
    sub = _instances()[1:]
    assert len(sub) == 2
    assert sub.names == ["b", "c"]
    assert np.allclose(sub.scores, [0.2, 0.3])


def test_getitem_bool_tensor() -> None:
    sub = _instances()[torch.tensor([True, False, True])]
    assert sub.names == ["a", "c"]
    assert sub.text == "xz"
    assert list(sub.tags) == ["p", "r"]
    assert isinstance(sub.tags, TextList)
    assert torch.equal(sub.bboxes[:, 0], torch.tensor([0, 8]))
    with pytest.raises(AssertionError, match="2"):
        _instances()[torch.tensor([True, False])]


def test_getitem_long_tensor_list_and_numpy() -> None:
    inst = _instances()
    assert inst[torch.tensor([2, 0])].names == ["c", "a"]
    assert inst[[2, 0]].text == "zx"
    int32 = inst[np.array([1, 2], dtype=np.int32)]
    assert np.allclose(int32.scores, [0.2, 0.3])
    assert inst[torch.tensor([], dtype=torch.long)].names == []


def test_getitem_tensor_on_unsupported_field_raises_value_error() -> None:
    inst = InstanceData(values={1: 1, 2: 2})  # a dict is Sized but has no `cat`
    with pytest.raises(ValueError, match="values"):
        inst[torch.tensor([0])]


def test_getitem_rejects_2d_index() -> None:
    with pytest.raises(AssertionError, match="first dimension"):
        _instances()[torch.tensor([[0]])]


def test_iteration_yields_single_instances() -> None:
    assert [item.names for item in _instances()] == [["a"], ["b"], ["c"]]


def test_cat_concatenates_every_type() -> None:
    inst = _instances()
    joined = InstanceData.cat([inst, inst[:1]])
    assert len(joined) == 4
    assert joined.names == ["a", "b", "c", "a"]
    assert joined.text == "xyzx"
    assert list(joined.tags) == ["p", "q", "r", "p"]
    assert joined.scores.shape == (4,)
    assert joined.bboxes.shape == (4, 4)
    assert joined.metainfo == {"img_id": 1}
    assert inst.names == ["a", "b", "c"]  # inputs untouched


def test_cat_single_item_returned_as_is_and_errors() -> None:
    inst = _instances()
    assert InstanceData.cat([inst]) is inst
    with pytest.raises(AssertionError):
        InstanceData.cat([])
    with pytest.raises(AssertionError):
        InstanceData.cat([inst, "x"])
    with pytest.raises(AssertionError, match="different keys"):
        InstanceData.cat([inst, InstanceData(bboxes=torch.ones(1, 4))])
    odd = InstanceData(values={1: 1})
    with pytest.raises(ValueError, match="values"):
        InstanceData.cat([odd, odd])


def test_pickle_and_deepcopy_round_trip() -> None:
    import copy
    import pickle

    inst = _instances()
    for clone in (pickle.loads(pickle.dumps(inst)), copy.deepcopy(inst)):
        assert isinstance(clone, InstanceData)
        assert sorted(clone.keys()) == sorted(inst.keys())
        assert clone.metainfo == inst.metainfo
        assert torch.equal(clone.bboxes, inst.bboxes)
        assert len(clone[1:]) == 2


class _Boxes:
    """A box container in the style of mmdet's ``BaseBoxes`` (``cat`` is a classmethod)."""

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor

    def __len__(self) -> int:
        return len(self.tensor)

    def __getitem__(self, index: object) -> _Boxes:
        return _Boxes(self.tensor[index])

    @classmethod
    def cat(cls, box_list: list, dim: int = 0) -> _Boxes:
        return cls(torch.cat([b.tensor for b in box_list], dim=dim))


def test_all_false_mask_gives_empty_instances_for_every_field_type() -> None:
    inst = InstanceData(
        metainfo={"img_shape": (4, 4)},
        scores=torch.tensor([0.1, 0.2, 0.3]),
        arr=np.arange(3),
        names=["a", "b", "c"],
        chars="abc",
        tags=("x", "y", "z"),
        boxes=_Boxes(torch.arange(12.0).view(3, 4)),
    )
    empty = inst[torch.zeros(3, dtype=torch.bool)]
    assert len(empty) == 0
    assert empty.metainfo == {"img_shape": (4, 4)}
    assert empty.scores.shape == (0,)
    assert empty.arr.shape == (0,)
    assert empty.names == []
    assert empty.chars == ""
    assert empty.tags == ()
    assert isinstance(empty.boxes, _Boxes)
    assert empty.boxes.tensor.shape == (0, 4)
    picked = inst[torch.tensor([False, True, True])]
    assert torch.equal(picked.boxes.tensor, torch.arange(4.0, 12.0).view(2, 4))
    merged = InstanceData.cat([inst[:1], inst[2:]])
    assert merged.chars == "ac"
    assert merged.tags == ("x", "z")
    assert torch.equal(merged.boxes.tensor[:, 0], torch.tensor([0.0, 8.0]))


def test_index_type_aliases_importable_from_the_module() -> None:
    """Downstream annotations import ``IndexType`` & co. from ``...structures.instance_data``."""
    from piston.structures.instance_data import BoolTypeTensor, IndexType, LongTypeTensor

    assert isinstance(torch.tensor([True, False]), BoolTypeTensor)
    assert isinstance(torch.tensor([1, 2]), LongTypeTensor)
    for index in ("bboxes", slice(0, 1), 0, [0], np.array([0]), torch.tensor([0])):
        assert isinstance(index, IndexType)
