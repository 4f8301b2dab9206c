"""A dataset converter in the style of mmseg/mmdet ``tools/dataset_converters``.

Raw per-image label files are converted in parallel (``track_parallel_progress``), written as
an MMEngine-format annotation json (``metainfo`` + ``data_list``) with ``dump``, split lists
are written with ``put_text`` and read back with ``list_from_file``; a ``BaseDataset`` subclass
then loads the converted file through ``backend_args`` with a ``data_prefix``.
"""

from __future__ import annotations

import io
import os
import os.path as osp
from pathlib import Path

from piston import fileio
from piston.dataset import BaseDataset
from piston.utils import mkdir_or_exist, scandir, track_parallel_progress, track_progress


def _convert_one(args: tuple) -> dict:
    label_file, root = args
    lines = fileio.get_text(osp.join(root, label_file)).splitlines()
    boxes = [[float(v) for v in line.split()[1:]] for line in lines]
    labels = [int(line.split()[0]) for line in lines]
    stem = osp.splitext(osp.basename(label_file))[0]
    return {
        "img_path": f"{stem}.jpg",
        "instances": [{"bbox": b, "bbox_label": lab} for b, lab in zip(boxes, labels)],
    }


def _make_raw(root: Path, n: int) -> None:
    for i in range(n):
        sub = root / "labels" / ("a" if i % 2 else "b")
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"img_{i:03d}.txt").write_text(f"{i % 3} 0 0 {i + 1} {i + 2}\n1 1 1 2 2\n")
    (root / "labels" / "readme.md").write_text("not a label")


class ConvertedDataset(BaseDataset):
    METAINFO = {"classes": ("a", "b", "c")}

    def __init__(self, *args, backend_args: dict | None = None, **kwargs) -> None:
        self.backend_args = backend_args  # as mmdet's BaseDetDataset keeps it
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        with fileio.get_local_path(self.ann_file, backend_args=self.backend_args) as path:
            assert path == self.ann_file
        return super().load_data_list()

    def parse_data_info(self, raw_data_info: dict) -> dict:
        info = super().parse_data_info(raw_data_info)
        info["num_instances"] = len(info["instances"])
        return info


def test_convert_and_load(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _make_raw(raw, 7)
    out_dir = tmp_path / "converted" / "annotations"
    mkdir_or_exist(str(out_dir))
    label_files = sorted(scandir(str(raw / "labels"), suffix=".txt", recursive=True))
    assert len(label_files) == 7
    assert all(f.startswith(("a/", "b/")) for f in label_files)
    tasks = [(f, str(raw / "labels")) for f in label_files]
    bar = io.StringIO()
    data_list = track_parallel_progress(_convert_one, tasks, nproc=2, file=bar)
    assert "7/7" in bar.getvalue()
    assert data_list == track_progress(_convert_one, tasks, file=io.StringIO())
    fileio.dump(
        {"metainfo": {"classes": ["a", "b", "c"], "dataset_type": "toy"}, "data_list": data_list},
        str(out_dir / "train.json"),
        indent=2,
    )
    names = [osp.splitext(osp.basename(f))[0] for f in label_files]
    fileio.put_text("\n".join(names) + "\n", str(out_dir / "train.txt"))
    assert fileio.list_from_file(str(out_dir / "train.txt")) == names

    dataset = ConvertedDataset(
        ann_file="annotations/train.json",
        data_root=str(tmp_path / "converted"),
        data_prefix=dict(img_path="images"),
        backend_args=dict(backend="local"),
        indices=5,
    )
    assert len(dataset) == 5
    assert dataset.metainfo["classes"] == ("a", "b", "c")  # class METAINFO wins
    assert dataset.metainfo["dataset_type"] == "toy"  # extra keys from the file are kept
    first = dataset.get_data_info(0)
    assert first["img_path"] == osp.join(str(tmp_path / "converted"), "images", "img_001.jpg")
    assert first["num_instances"] == 2
    assert first["sample_idx"] == 0
    assert first["instances"][0] == {"bbox": [0.0, 0.0, 2.0, 3.0], "bbox_label": 1}
    assert os.path.isfile(out_dir / "train.json")
    assert fileio.load(out_dir / "train.json")["data_list"][0]["img_path"] == "img_001.jpg"
