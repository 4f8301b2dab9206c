from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from piston.dataset import BaseDataset, Compose, force_full_init
from piston.registry import DATASETS, TRANSFORMS


def _write_ann(path: Path, n: int = 5, metainfo: dict | None = None) -> str:
    ann = {
        "metainfo": metainfo if metainfo is not None else {"classes": ["cat", "dog"], "ann_key": 1},
        "data_list": [{"img_path": f"{i}.jpg", "img_label": i % 2} for i in range(n)],
    }
    path.write_text(json.dumps(ann))
    return str(path)


@pytest.fixture
def ann_file(tmp_path: Path) -> str:
    return _write_ann(tmp_path / "ann.json")


class Toy(BaseDataset):
    METAINFO = {"classes": ("a", "b"), "cls_key": "c"}

    def load_data_list(self) -> list[dict]:
        return [{"x": i, "label": i % 2} for i in range(10)]


class AddOne:
    def __call__(self, data: dict) -> dict:
        data["x"] = data["x"] + 1
        return data

    def __repr__(self) -> str:
        return "AddOne()"


@pytest.fixture
def add_one_transform():
    TRANSFORMS.register_module(name="_TestAddOne", module=AddOne)
    yield
    TRANSFORMS._module_dict.pop("_TestAddOne", None)


# ---------------------------------------------------------------- annotation file
def test_loads_annotation_file_joining_prefixes(tmp_path: Path, ann_file: str) -> None:
    ds = BaseDataset(ann_file="ann.json", data_root=str(tmp_path), data_prefix={"img_path": "imgs"})
    assert len(ds) == 5
    info = ds.get_data_info(1)
    assert info == {"img_path": str(tmp_path / "imgs" / "1.jpg"), "img_label": 1, "sample_idx": 1}
    assert ds.ann_file == str(tmp_path / "ann.json")


def test_absolute_prefix_not_joined(tmp_path: Path, ann_file: str) -> None:
    ds = BaseDataset(ann_file=ann_file, data_root="/root", data_prefix={"img_path": "/abs"})
    assert ds.data_prefix == {"img_path": "/abs"}
    assert ds.get_data_info(0)["img_path"] == "/abs/0.jpg"


def test_non_string_prefix_is_type_error(ann_file: str) -> None:
    with pytest.raises(TypeError, match="img_path"):
        BaseDataset(ann_file=ann_file, data_prefix={"img_path": 1})


def test_missing_prefix_key_in_item_is_assertion(ann_file: str) -> None:
    with pytest.raises(AssertionError, match="seg_path"):
        BaseDataset(ann_file=ann_file, data_prefix={"seg_path": "x"})


def test_annotation_top_level_must_be_dict(tmp_path: Path) -> None:
    path = tmp_path / "ann.json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(TypeError, match="dict"):
        BaseDataset(ann_file=str(path))


@pytest.mark.parametrize("missing", ["data_list", "metainfo"])
def test_annotation_requires_both_keys(tmp_path: Path, missing: str) -> None:
    ann = {"metainfo": {}, "data_list": []}
    del ann[missing]
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(ann))
    with pytest.raises(ValueError, match="data_list and metainfo"):
        BaseDataset(ann_file=str(path))


def test_pickle_annotation_and_list_from_parse(tmp_path: Path) -> None:
    class TwoPerItem(BaseDataset):
        def parse_data_info(self, raw: dict) -> list[dict]:
            return [dict(raw, part=0), dict(raw, part=1)]

    path = tmp_path / "ann.pkl"
    path.write_bytes(pickle.dumps({"metainfo": {}, "data_list": [{"img_path": "a"}]}))
    ds = TwoPerItem(ann_file=str(path))
    assert [ds.get_data_info(i)["part"] for i in range(len(ds))] == [0, 1]


@pytest.mark.parametrize("bad", [1, [1], "x"])
def test_parse_data_info_must_return_dict_or_list_of_dict(ann_file: str, bad) -> None:
    class Bad(BaseDataset):
        def parse_data_info(self, raw: dict):
            return bad

    with pytest.raises(TypeError):
        Bad(ann_file=ann_file)


# ---------------------------------------------------------------- metainfo
def test_metainfo_priority_user_over_class_over_file(tmp_path: Path) -> None:
    ann_file = _write_ann(
        tmp_path / "ann.json", metainfo={"classes": ["f"], "cls_key": "f", "file_key": "f"}
    )

    class WithMeta(BaseDataset):
        METAINFO = {"classes": ("a", "b"), "cls_key": "c"}

    ds = WithMeta(ann_file=ann_file, metainfo={"classes": ("u",)})
    assert ds.metainfo == {"classes": ("u",), "cls_key": "c", "file_key": "f"}
    assert WithMeta.METAINFO == {"classes": ("a", "b"), "cls_key": "c"}  # class attr untouched


def test_metainfo_is_a_deep_copy() -> None:
    ds = Toy()
    meta = ds.metainfo
    meta["classes"] = "changed"
    assert ds.metainfo["classes"] == ("a", "b")


def test_metainfo_string_value_read_from_file_or_kept(tmp_path: Path, piston_log) -> None:
    classes_file = tmp_path / "classes.txt"
    classes_file.write_text("x\ny\n")
    ds = Toy(metainfo={"classes": str(classes_file), "name": "plain"})
    assert ds.metainfo["classes"] == ["x", "y"]
    assert ds.metainfo["name"] == "plain"
    assert "plain is not a meta file" in piston_log.text


def test_metainfo_accepts_config() -> None:
    from piston.config import Config

    ds = Toy(metainfo=Config({"classes": ("z",)}))
    assert ds.metainfo["classes"] == ("z",)


def test_metainfo_must_be_mapping() -> None:
    with pytest.raises(TypeError, match="metainfo"):
        Toy(metainfo=["classes"])


# ---------------------------------------------------------------- lazy init / full init
def test_lazy_init_defers_loading() -> None:
    ds = Toy(lazy_init=True)
    assert not ds._fully_initialized
    assert ds.data_list == []
    ds.full_init()
    assert ds._fully_initialized
    assert len(ds) == 10


def test_lazy_dataset_inits_on_getitem_and_len() -> None:
    ds = Toy(lazy_init=True, serialize_data=False)
    assert ds[3]["x"] == 3
    ds2 = Toy(lazy_init=True)
    assert len(ds2) == 10
    assert ds2._fully_initialized


def test_full_init_is_idempotent() -> None:
    calls = []

    class Counting(Toy):
        def load_data_list(self) -> list[dict]:
            calls.append(1)
            return super().load_data_list()

    ds = Counting()
    ds.full_init()
    assert calls == [1]


def test_filter_data_is_applied_in_full_init() -> None:
    class Even(Toy):
        def filter_data(self) -> list[dict]:
            return [d for d in self.data_list if d["x"] % self.filter_cfg["mod"] == 0]

    ds = Even(filter_cfg={"mod": 2})
    assert [ds.get_data_info(i)["x"] for i in range(len(ds))] == [0, 2, 4, 6, 8]


def test_force_full_init_decorator_requires_full_init(piston_log) -> None:
    class NoInit:
        @force_full_init
        def value(self) -> int:
            return 1

    with pytest.raises(AttributeError, match="full_init"):
        NoInit().value()

    class Lazy:
        def __init__(self) -> None:
            self.inits = 0

        def full_init(self) -> None:
            self.inits += 1

        @force_full_init
        def value(self) -> int:
            return self.inits

    lazy = Lazy()
    assert lazy.value() == 1
    assert "`full_init` will be called" in piston_log.text
    assert lazy.value() == 1
    assert lazy._fully_initialized


# ---------------------------------------------------------------- serialization
@pytest.mark.parametrize("serialize", [True, False])
def test_get_data_info_is_a_copy_with_sample_idx(serialize: bool) -> None:
    ds = Toy(serialize_data=serialize)
    info = ds.get_data_info(2)
    assert info == {"x": 2, "label": 0, "sample_idx": 2}
    info["x"] = 100
    assert ds.get_data_info(2)["x"] == 2
    assert ds.get_data_info(-1) == {"x": 9, "label": 1, "sample_idx": 9}
    assert ds.get_data_info(-10)["sample_idx"] == 0


def test_serialize_packs_data_into_numpy_buffer() -> None:
    ds = Toy(serialize_data=True)
    assert ds.data_list == []
    assert isinstance(ds.data_bytes, np.ndarray)
    assert ds.data_bytes.dtype == np.uint8
    assert ds.data_address.dtype == np.int64
    assert len(ds.data_address) == 10
    first = pickle.loads(ds.data_bytes[: ds.data_address[0]].tobytes())
    assert first == {"x": 0, "label": 0}


# ---------------------------------------------------------------- indices / subsets
@pytest.mark.parametrize("serialize", [True, False])
@pytest.mark.parametrize(
    ("indices", "expected"),
    [(3, [0, 1, 2]), (-2, [8, 9]), ([5, 1, 7], [5, 1, 7]), (0, []), (20, list(range(10)))],
)
def test_indices_select_subset(serialize: bool, indices, expected: list[int]) -> None:
    ds = Toy(indices=indices, serialize_data=serialize)
    assert [ds.get_data_info(i)["x"] for i in range(len(ds))] == expected


@pytest.mark.parametrize("serialize", [True, False])
def test_get_subset_returns_new_dataset(serialize: bool) -> None:
    ds = Toy(serialize_data=serialize, pipeline=[AddOne()])
    sub = ds.get_subset([4, 2])
    assert type(sub) is Toy
    assert len(sub) == 2
    assert len(ds) == 10
    assert sub[0]["x"] == 5
    assert sub.metainfo == ds.metainfo
    last = ds.get_subset(-3)
    assert [last.get_data_info(i)["x"] for i in range(3)] == [7, 8, 9]


@pytest.mark.parametrize("serialize", [True, False])
def test_get_subset_in_place(serialize: bool) -> None:
    ds = Toy(serialize_data=serialize)
    ds.get_subset_(2)
    assert len(ds) == 2
    assert ds.get_data_info(1)["x"] == 1
    ds.get_subset_([1])
    assert ds.get_data_info(0)["x"] == 1


def test_subset_errors() -> None:
    ds = Toy()
    with pytest.raises(TypeError, match="indices"):
        ds.get_subset("abc")
    with pytest.raises(TypeError, match="indices"):
        ds.get_subset(1.5)
    with pytest.raises(IndexError, match="10"):
        ds.get_subset([10])


# ---------------------------------------------------------------- getitem / pipeline
def test_getitem_applies_pipeline_from_dict_and_callable(add_one_transform) -> None:
    ds = Toy(pipeline=[{"type": "_TestAddOne"}, AddOne()])
    assert ds[3] == {"x": 5, "label": 1, "sample_idx": 3}


def test_getitem_refetches_when_pipeline_returns_none() -> None:
    def drop_odd(data: dict) -> dict | None:
        return None if data["x"] % 2 else data

    np.random.seed(0)
    ds = Toy(pipeline=[drop_odd])
    assert ds[1]["x"] % 2 == 0


def test_getitem_raises_after_max_refetch() -> None:
    ds = Toy(pipeline=[lambda data: None], max_refetch=3)
    with pytest.raises(Exception, match="Cannot find valid image after 3"):
        ds[0]


def test_test_mode_does_not_refetch() -> None:
    ds = Toy(pipeline=[lambda data: None], test_mode=True)
    with pytest.raises(Exception, match="should not get `None`"):
        ds[0]


def test_get_cat_ids_not_implemented() -> None:
    with pytest.raises(NotImplementedError):
        Toy().get_cat_ids(0)


def test_custom_dataset_from_config_registry() -> None:
    DATASETS.register_module(name="_TestToy", module=Toy)
    try:
        ds = DATASETS.build({"type": "_TestToy", "pipeline": []})
    finally:
        DATASETS._module_dict.pop("_TestToy", None)
    assert isinstance(ds, Toy)
    assert len(ds) == 10


# ---------------------------------------------------------------- Compose
def test_compose_stops_at_none_and_has_repr() -> None:
    calls = []

    def record(data: dict) -> dict:
        calls.append(data)
        return data

    compose = Compose([AddOne(), lambda data: None, record])
    assert compose({"x": 1}) is None
    assert calls == []
    assert repr(Compose([AddOne(), AddOne()])) == "Compose(\n    AddOne()\n    AddOne()\n)"
    assert Compose(None)({"x": 1}) == {"x": 1}


def test_compose_rejects_bad_transforms(add_one_transform) -> None:
    with pytest.raises(TypeError, match="callable"):
        Compose([1])
    with pytest.raises(TypeError, match="sequence"):
        Compose("AddOne")
    assert Compose(AddOne())({"x": 1}) == {"x": 2}
    TRANSFORMS.register_module(name="_TestNotCallable", module=lambda: 3)
    try:
        with pytest.raises(TypeError, match="callable"):
            Compose([{"type": "_TestNotCallable"}])
    finally:
        TRANSFORMS._module_dict.pop("_TestNotCallable", None)


def test_lazy_getitem_warns(piston_log) -> None:
    ds = Toy(lazy_init=True)
    ds[0]
    assert ds._fully_initialized
    assert "call `full_init()`" in piston_log.text


# ---------------------------------------------------------------- audit additions
@pytest.mark.parametrize("suffix", ["yaml", "yml"])
def test_yaml_annotation_file(tmp_path: Path, suffix: str) -> None:
    import yaml

    ann = {
        "metainfo": {"classes": ["cat", "dog"], "dataset_type": "toy"},
        "data_list": [{"img_path": f"{i}.jpg", "img_label": i % 2} for i in range(3)],
    }
    path = tmp_path / f"ann.{suffix}"
    path.write_text(yaml.safe_dump(ann))
    ds = BaseDataset(ann_file=f"ann.{suffix}", data_root=str(tmp_path))
    assert len(ds) == 3
    assert ds.metainfo == {"classes": ["cat", "dog"], "dataset_type": "toy"}
    # the default data_prefix ``img_path=''`` is joined with data_root too
    assert ds[2] == {"img_path": f"{tmp_path}/2.jpg", "img_label": 0, "sample_idx": 2}
