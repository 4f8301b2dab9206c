from __future__ import annotations

import math

import numpy as np
import pytest

from piston.dataset import BaseDataset, ClassBalancedDataset, ConcatDataset, RepeatDataset
from piston.registry import DATASETS


class Letters(BaseDataset):
    """Samples ``dict(x=i, cats=...)``; categories are given per sample."""

    METAINFO = {"classes": ("a", "b", "c")}

    def __init__(self, n: int = 4, cats: list[list[int]] | None = None, **kwargs) -> None:
        self.n = n
        self.cats = cats if cats is not None else [[i % 3] for i in range(n)]
        super().__init__(**kwargs)

    def load_data_list(self) -> list[dict]:
        return [{"x": i, "cats": self.cats[i]} for i in range(self.n)]

    def get_cat_ids(self, idx: int) -> list[int]:
        return self.get_data_info(idx)["cats"]


@pytest.fixture
def letters_registered():
    DATASETS.register_module(name="_TestLetters", module=Letters)
    yield
    DATASETS._module_dict.pop("_TestLetters", None)


# ---------------------------------------------------------------- ConcatDataset
def test_concat_indexes_across_datasets(letters_registered) -> None:
    ds = ConcatDataset([Letters(n=3), {"type": "_TestLetters", "n": 2}])
    assert len(ds) == 5
    assert [ds[i]["x"] for i in range(5)] == [0, 1, 2, 0, 1]
    assert ds.get_data_info(3)["x"] == 0
    assert ds[-1]["x"] == 1
    assert ds[-5]["x"] == 0
    with pytest.raises(ValueError, match="exceed"):
        ds[-6]
    assert ds.metainfo == {"classes": ("a", "b", "c")}


def test_concat_metainfo_must_agree() -> None:
    a = Letters(metainfo={"classes": ("a",)})
    with pytest.raises(ValueError, match="classes"):
        ConcatDataset([Letters(), a])
    with pytest.raises(TypeError, match="classes"):
        ConcatDataset([Letters(), Letters(metainfo={"classes": ["a", "b", "c"]})])
    with pytest.raises(ValueError, match="extra"):
        ConcatDataset([Letters(), Letters(metainfo={"extra": 1})])
    with pytest.raises(ValueError, match="extra"):
        ConcatDataset([Letters(metainfo={"extra": 1}), Letters()])
    ok = ConcatDataset([Letters(), a], ignore_keys="classes")
    assert ok.metainfo["classes"] == ("a", "b", "c")
    assert len(ConcatDataset([Letters(metainfo={"e": 1}), Letters()], ignore_keys=["e"])) == 8


def test_concat_compares_numpy_metainfo_elementwise() -> None:
    def palette(values):
        return Letters(metainfo={"palette": np.array(values)})

    assert len(ConcatDataset([palette([1, 2]), palette([1, 2])])) == 8
    with pytest.raises(ValueError, match="palette"):
        ConcatDataset([palette([1, 2]), palette([1, 3])])


def test_concat_rejects_bad_elements_and_ignore_keys() -> None:
    with pytest.raises(TypeError, match="config or `BaseDataset`"):
        ConcatDataset([Letters(), [1, 2]])
    with pytest.raises(TypeError, match="ignore_keys"):
        ConcatDataset([Letters()], ignore_keys=3)


def test_concat_lazy_init() -> None:
    inner = Letters(lazy_init=True)
    ds = ConcatDataset([inner, Letters(lazy_init=True)], lazy_init=True)
    assert not ds._fully_initialized
    assert not inner._fully_initialized
    assert len(ds) == 8
    assert ds._fully_initialized
    assert inner._fully_initialized


def test_concat_metainfo_is_copy_and_subsets_unsupported() -> None:
    ds = ConcatDataset([Letters()])
    ds.metainfo["classes"] = None
    assert ds.metainfo["classes"] == ("a", "b", "c")
    with pytest.raises(NotImplementedError):
        ds.get_subset([0])
    with pytest.raises(NotImplementedError):
        ds.get_subset_(1)


# ---------------------------------------------------------------- RepeatDataset
def test_repeat_dataset(letters_registered) -> None:
    ds = RepeatDataset({"type": "_TestLetters", "n": 3}, times=3)
    assert len(ds) == 9
    assert [ds[i]["x"] for i in range(9)] == [0, 1, 2] * 3
    assert ds.get_data_info(4)["x"] == 1
    assert ds.metainfo == {"classes": ("a", "b", "c")}
    with pytest.raises(NotImplementedError):
        ds.get_subset_(1)
    with pytest.raises(NotImplementedError):
        ds.get_subset(1)


def test_repeat_lazy_init_and_type_check() -> None:
    inner = Letters(lazy_init=True)
    ds = RepeatDataset(inner, times=2, lazy_init=True)
    assert not inner._fully_initialized
    assert ds[5]["x"] == 1
    assert inner._fully_initialized
    with pytest.raises(TypeError):
        RepeatDataset([1], times=2)


def test_wrappers_nest() -> None:
    ds = RepeatDataset(ConcatDataset([Letters(n=2), Letters(n=1)]), times=2)
    assert [ds[i]["x"] for i in range(len(ds))] == [0, 1, 0, 0, 1, 0]


# ---------------------------------------------------------------- ClassBalancedDataset
def test_class_balanced_repeat_factors() -> None:
    # category 0 in all 4 samples, category 1 only in sample 3, sample 2 has no category
    cats = [[0], [0], [], [0, 1]]
    thr = 0.5
    ds = ClassBalancedDataset(Letters(n=4, cats=cats), oversample_thr=thr)
    # f_0 = 3/4 -> r = 1; f_1 = 1/4 -> r = sqrt(0.5 / 0.25) = 1.414 -> ceil 2
    assert math.ceil(math.sqrt(thr / 0.25)) == 2
    assert ds.repeat_indices == [0, 1, 2, 3, 3]
    assert len(ds) == 5
    assert [ds[i]["x"] for i in range(5)] == [0, 1, 2, 3, 3]
    assert ds.get_cat_ids(4) == [0, 1]
    assert ds.get_data_info(4)["x"] == 3
    assert ds.metainfo["classes"] == ("a", "b", "c")


def test_class_balanced_rare_classes_repeated_more() -> None:
    cats = [[0]] * 9 + [[1]]
    ds = ClassBalancedDataset(Letters(n=10, cats=cats), oversample_thr=0.9)
    # f_1 = 0.1 -> r = 3; f_0 = 0.9 -> r = 1
    assert ds.repeat_indices == list(range(9)) + [9, 9, 9]


def test_class_balanced_lazy_and_no_subset() -> None:
    ds = ClassBalancedDataset(Letters(lazy_init=True), oversample_thr=0.1, lazy_init=True)
    assert not ds._fully_initialized
    assert len(ds) == 4
    with pytest.raises(NotImplementedError):
        ds.get_subset([0])


def test_wrappers_registered() -> None:
    for name in ("ConcatDataset", "RepeatDataset", "ClassBalancedDataset", "DigitsDataset"):
        assert DATASETS.get(name) is not None


def test_concat_is_a_torch_concat_dataset_with_original_indices() -> None:
    """mmdet-style code reads ``cumulative_sizes`` and ``_get_ori_dataset_idx`` of the wrapper."""
    import torch.utils.data

    ds = ConcatDataset([Letters(n=3), Letters(n=2)])
    assert isinstance(ds, torch.utils.data.ConcatDataset)
    assert list(ds.cumulative_sizes) == [3, 5]
    assert ds._get_ori_dataset_idx(1) == (0, 1)
    assert ds._get_ori_dataset_idx(3) == (1, 0)
    assert ds._get_ori_dataset_idx(-1) == (1, 1)
    assert ds.get_data_info(-1)["x"] == 1
    assert [ds[i]["x"] for i in range(len(ds))] == [0, 1, 2, 0, 1]
