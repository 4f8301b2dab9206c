"""Datasets written the way mmdet / mmseg / mmpretrain write them, run end to end.

A detection-style dataset lives in a child ``DATASETS`` registry of its own scope, its pipeline
comes from a child ``TRANSFORMS`` registry, it overrides ``parse_data_info``, ``filter_data`` and
``get_cat_ids``, and is wrapped in ``ClassBalancedDataset``; the batch goes through both collates.
"""

from __future__ import annotations

import json
import os.path as osp
from pathlib import Path

import numpy as np
import pytest
import torch

from piston.dataset import (
    BaseDataset,
    ClassBalancedDataset,
    Compose,
    default_collate,
    pseudo_collate,
)
from piston.fileio import list_dir_or_file
from piston.registry import DATASETS, TRANSFORMS, DefaultScope, Registry
from piston.structures import BaseDataElement, InstanceData, PixelData

AUDIT_TRANSFORMS = Registry("transform", parent=TRANSFORMS, scope="pistonaudit")
AUDIT_DATASETS = Registry("dataset", parent=DATASETS, scope="pistonaudit")


@AUDIT_TRANSFORMS.register_module()
class LoadBoxes:
    def __call__(self, results: dict) -> dict:
        boxes = [inst["bbox"] for inst in results["instances"]]
        gt = InstanceData()
        gt.bboxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        gt.labels = torch.tensor([inst["bbox_label"] for inst in results["instances"]])
        results["gt_instances"] = gt
        return results


@AUDIT_TRANSFORMS.register_module()
class PackInputs:
    def __call__(self, results: dict) -> dict:
        sample = BaseDataElement(
            metainfo={"img_path": results["img_path"], "sample_idx": results["sample_idx"]}
        )
        sample.gt_instances = results["gt_instances"]
        return {"inputs": torch.zeros(3, 4, 4), "data_samples": sample}


@AUDIT_DATASETS.register_module()
class ToyDet(BaseDataset):
    METAINFO = {"classes": ("a", "b", "c"), "palette": [(1, 2, 3)]}

    def parse_data_info(self, raw: dict) -> dict:
        return {
            "img_path": osp.join(self.data_prefix["img"], raw["file"]),
            "instances": raw["instances"],
        }

    def filter_data(self) -> list[dict]:
        if self.test_mode or not (self.filter_cfg or {}).get("filter_empty_gt"):
            return self.data_list
        return [info for info in self.data_list if info["instances"]]

    def get_cat_ids(self, idx: int) -> list[int]:
        return [inst["bbox_label"] for inst in self.get_data_info(idx)["instances"]]


@pytest.fixture
def det_root(tmp_path: Path) -> Path:
    (tmp_path / "annotations").mkdir()
    data_list = [
        {"file": f"{i}.jpg", "instances": [{"bbox": [0, 0, 1, 1], "bbox_label": i % 3}] * (i % 2)}
        for i in range(8)
    ]
    ann = {"metainfo": {"classes": ["x"], "dataset_type": "det"}, "data_list": data_list}
    (tmp_path / "annotations" / "train.json").write_text(json.dumps(ann))
    return tmp_path


def _cfg(root: Path, **overrides) -> dict:
    cfg = {
        "type": "ToyDet",
        "data_root": str(root),
        "ann_file": "annotations/train.json",
        "data_prefix": {"img": "images/"},
        "filter_cfg": {"filter_empty_gt": True},
        "pipeline": [{"type": "LoadBoxes"}, {"type": "PackInputs"}],
    }
    cfg.update(overrides)
    return cfg


def test_child_scope_dataset_and_pipeline_under_default_scope(det_root: Path) -> None:
    DefaultScope.get_instance("test_child_scope", scope_name="pistonaudit")
    ds = DATASETS.build(_cfg(det_root))
    assert type(ds) is ToyDet
    assert [type(t) for t in ds.pipeline.transforms] == [LoadBoxes, PackInputs]
    assert ds.ann_file == str(det_root / "annotations" / "train.json")
    assert len(ds) == 4  # images without boxes filtered out
    # class METAINFO wins over the file's 'classes'; file-only keys are added
    assert ds.metainfo["classes"] == ("a", "b", "c")
    assert ds.metainfo["dataset_type"] == "det"
    item = ds[0]
    assert item["data_samples"].metainfo == {
        "img_path": osp.join(str(det_root), "images/", "1.jpg"),
        "sample_idx": 0,
    }
    assert item["data_samples"].gt_instances.labels.tolist() == [1]


def test_scoped_type_names_without_default_scope(det_root: Path) -> None:
    cfg = _cfg(
        det_root,
        type="pistonaudit.ToyDet",
        pipeline=[{"type": "pistonaudit.LoadBoxes"}, {"type": "pistonaudit.PackInputs"}],
        test_mode=True,
    )
    ds = DATASETS.build(cfg)
    assert len(ds) == 8  # test_mode keeps images without boxes
    assert len(ds[0]["data_samples"].gt_instances) == 0


def test_class_balanced_over_det_dataset_and_collate(det_root: Path) -> None:
    cfg = _cfg(det_root, type="pistonaudit.ToyDet")
    cfg["pipeline"] = [{"type": "pistonaudit.LoadBoxes"}, {"type": "pistonaudit.PackInputs"}]
    balanced = DATASETS.build(
        {"type": "ClassBalancedDataset", "oversample_thr": 0.5, "dataset": cfg}
    )
    assert isinstance(balanced, ClassBalancedDataset)
    # labels of the kept images: 1, 0, 2, 1 -> f = {1: .5, 0: .25, 2: .25}; r(0) = r(2) = sqrt 2
    assert balanced.repeat_indices == [0, 1, 1, 2, 2, 3]
    assert balanced.get_cat_ids(2) == [0]
    assert balanced.metainfo["classes"] == ("a", "b", "c")

    batch = [balanced[0], balanced[3]]
    pseudo = pseudo_collate(batch)
    assert [t.shape for t in pseudo["inputs"]] == [(3, 4, 4), (3, 4, 4)]
    assert [s.gt_instances.labels.tolist() for s in pseudo["data_samples"]] == [[1], [2]]
    stacked = default_collate(batch)
    assert stacked["inputs"].shape == (2, 3, 4, 4)
    assert isinstance(stacked["data_samples"], list)
    merged = InstanceData.cat([s.gt_instances for s in stacked["data_samples"]])
    assert merged.labels.tolist() == [1, 2]


def test_subset_indices_and_negative_ints(det_root: Path) -> None:
    for serialize in (True, False):
        cfg = _cfg(det_root, type="pistonaudit.ToyDet", pipeline=[], serialize_data=serialize)
        ds = DATASETS.build(dict(cfg, indices=[3, 0]))
        assert [ds.get_data_info(i)["img_path"][-5:] for i in range(len(ds))] == ["7.jpg", "1.jpg"]
        full = DATASETS.build(cfg)
        last = full.get_subset(-2)
        assert [last.get_data_info(i)["img_path"][-5:] for i in range(2)] == ["5.jpg", "7.jpg"]
        picked = full.get_subset([-1, 0, -1])
        assert [picked.get_data_info(i)["sample_idx"] for i in range(3)] == [0, 1, 2]
        assert picked.get_data_info(0)["img_path"].endswith("7.jpg")
        assert len(full) == 4


class _Nested(BaseDataset):
    def load_data_list(self) -> list[dict]:
        return [{"x": i, "boxes": [i]} for i in range(6)]


def test_unserialized_subset_does_not_share_items_with_the_original() -> None:
    ds = _Nested(serialize_data=False)
    sub = ds.get_subset([1, 2])
    sub.data_list[0]["boxes"].append(99)
    sub.data_list[1]["x"] = -1
    assert ds.data_list[1] == {"x": 1, "boxes": [1]}
    assert ds.get_data_info(2)["x"] == 2


@pytest.mark.parametrize("serialize", [True, False])
def test_get_data_info_out_of_range_is_index_error(serialize: bool) -> None:
    ds = _Nested(serialize_data=serialize)
    assert ds.get_data_info(-6)["x"] == 0
    for idx in (6, -7, -12):
        with pytest.raises(IndexError, match=str(idx)):
            ds.get_data_info(idx)
    # iterating a dataset stops at its end
    assert [item["x"] for item in ds] == list(range(6))


def test_refetch_draws_random_indices_max_refetch_times() -> None:
    seen: list[int] = []

    def reject(data: dict) -> None:
        seen.append(data["sample_idx"])

    ds = _Nested(pipeline=[reject], max_refetch=3)
    np.random.seed(1)
    with pytest.raises(Exception, match="Cannot find valid image after 3!"):
        ds[2]
    np.random.seed(1)
    assert seen == [2] + [int(np.random.randint(0, 6)) for _ in range(4)][:3]

    seen.clear()
    ds.test_mode = True
    with pytest.raises(Exception, match="Test time pipline"):
        ds[4]
    assert seen == [4]


class _SegDataset(BaseDataset):
    """mmseg's pattern: ``__init__`` sets the attributes itself instead of calling super()."""

    METAINFO = {"classes": ("bg", "fg")}

    def __init__(
        self, data_root=None, data_prefix=None, pipeline=(), lazy_init=False, indices=None
    ):
        self.data_root = data_root
        self.data_prefix = dict(data_prefix or {"img_path": "", "seg_map_path": ""})
        self.ann_file = ""
        self.filter_cfg = None
        self._indices = indices
        self.serialize_data = True
        self.test_mode = False
        self.max_refetch = 1000
        self.data_list: list[dict] = []
        self._metainfo = self._load_metainfo(None)
        self._metainfo.update({"label_map": None, "reduce_zero_label": False})
        if self.data_root is not None:
            self._join_prefix()
        self.pipeline = Compose(pipeline)
        if not lazy_init:
            self.full_init()

    def load_data_list(self) -> list[dict]:
        img_dir, ann_dir = self.data_prefix["img_path"], self.data_prefix["seg_map_path"]
        names = sorted(list_dir_or_file(img_dir, list_dir=False, suffix=".jpg"))
        return [
            {"img_path": osp.join(img_dir, n), "seg_map_path": osp.join(ann_dir, n[:-4] + ".png")}
            for n in names
        ]


class SegDataSample(BaseDataElement):
    @property
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, "_gt_sem_seg", dtype=PixelData)


def _pack_seg(results: dict) -> dict:
    label = int(osp.basename(results["img_path"])[0])
    sample = SegDataSample(metainfo={"img_path": results["img_path"]})
    sample.gt_sem_seg = PixelData(data=torch.full((1, 4, 6), label))
    return {"inputs": torch.zeros(3, 4, 6), "data_samples": sample}


def test_seg_dataset_that_skips_base_init(tmp_path: Path) -> None:
    for folder, suffix in (("img", ".jpg"), ("ann", ".png")):
        (tmp_path / folder).mkdir()
        for i in range(5):
            (tmp_path / folder / f"{i}{suffix}").touch()
    prefix = {"img_path": "img", "seg_map_path": "ann"}
    ds = _SegDataset(str(tmp_path), prefix, pipeline=[_pack_seg])
    assert len(ds) == 5
    assert ds.metainfo == {"classes": ("bg", "fg"), "label_map": None, "reduce_zero_label": False}
    assert ds.get_data_info(4)["seg_map_path"] == str(tmp_path / "ann" / "4.png")
    seg = ds[3]["data_samples"].gt_sem_seg
    assert seg.shape == (4, 6)
    assert seg[1:3, 2:].data.shape == (1, 2, 4)
    assert seg.data.unique().tolist() == [3]
    assert ds.get_subset([4, 0])[0]["data_samples"].img_path.endswith("4.jpg")
    lazy = _SegDataset(str(tmp_path), prefix, lazy_init=True, indices=-2)
    assert not lazy._fully_initialized
    assert [lazy.get_data_info(i)["img_path"][-5:] for i in range(len(lazy))] == ["3.jpg", "4.jpg"]
