"""``tools/misc/print_config.py`` and ``tools/analysis_tools/browse_dataset.py`` as repos write them.

print_config: load with ``--cfg-options``, print ``Config:\\n{cfg.pretty_text}`` and save with
``cfg.dump(path)``. browse_dataset: ``init_default_scope(cfg.get('default_scope', ...))``, build
the train dataset and the visualizer from the config and write one image per sample.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
from torch.utils.data import Dataset

from piston.config import Config, DictAction
from piston.registry import DATASETS, VISUALIZERS, DefaultScope, init_default_scope

CONFIG = """
default_scope = 'piston'
data_root = 'data/toy/'
train_dataloader = dict(
    batch_size=2,
    dataset=dict(type='BrowseImages', num=3, data_root=data_root,
                 pipeline=[dict(type='Resize', scale=(8, 8)), dict(type='Pack')]))
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='browse_visualizer')
"""


@DATASETS.register_module(force=True)
class BrowseImages(Dataset):
    METAINFO = {"classes": ("bg", "fg"), "palette": [(0, 0, 0), (255, 0, 0)]}

    def __init__(self, num: int = 2, data_root: str = "", pipeline=()) -> None:
        self.num, self.data_root, self.pipeline = num, data_root, pipeline

    @property
    def metainfo(self) -> dict:
        return dict(self.METAINFO)

    def __len__(self) -> int:
        return self.num

    def __getitem__(self, idx: int) -> dict:
        return {"img": np.full((8, 8, 3), 30 * idx, np.uint8), "img_path": f"{idx}.png"}


def print_config(argv, capsys) -> tuple[Config, str]:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--save-path")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(f"Config:\n{cfg.pretty_text}")
    if args.save_path is not None:
        cfg.dump(args.save_path)
    return cfg, capsys.readouterr().out


def test_print_config_and_save(tmp_path, capsys) -> None:
    path = tmp_path / "toy_cfg.py"
    path.write_text(CONFIG)
    save = tmp_path / "saved.yaml"
    cfg, out = print_config(
        [
            str(path),
            "--save-path",
            str(save),
            "--cfg-options",
            "train_dataloader.dataset.pipeline.0.scale=(16,16)",
            "train_dataloader.batch_size=4",
            "data_root='data/other/'",
        ],
        capsys,
    )
    assert out.startswith("Config:\n")
    assert "data_root = 'data/other/'" in out
    assert "default_scope = 'piston'" in out
    assert "batch_size=4" in out
    # list-index override landed in the right pipeline step; sibling keys kept
    assert cfg.train_dataloader.dataset.pipeline[0] == dict(type="Resize", scale=(16, 16))
    assert cfg.train_dataloader.dataset.data_root == "data/toy/"  # resolved at parse time
    saved = Config.fromfile(str(save))
    assert saved.to_dict() == cfg.to_dict()
    # the printed text is itself a loadable config
    reread = Config.fromstring(out[len("Config:\n") :], ".py")
    assert reread.to_dict() == cfg.to_dict()


def test_browse_dataset(tmp_path) -> None:
    path = tmp_path / "toy_cfg.py"
    path.write_text(CONFIG)
    cfg = Config.fromfile(str(path))
    cfg.visualizer.save_dir = str(tmp_path / "browse")
    init_default_scope(cfg.get("default_scope", "piston"))
    assert DefaultScope.get_current_instance().scope_name == "piston"
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    assert visualizer.instance_name == "browse_visualizer"
    assert visualizer.dataset_meta["classes"] == ("bg", "fg")
    for i in range(len(dataset)):
        item = dataset[i]
        name = os.path.splitext(os.path.basename(item["img_path"]))[0]
        visualizer.add_image(name, item["img"], step=i)
    out = tmp_path / "browse" / "vis_data" / "vis_image"
    assert sorted(os.listdir(out)) == ["0_0.png", "1_1.png", "2_2.png"]
    assert len(dataset.pipeline) == 2
    assert dataset.pipeline[1]["type"] == "Pack"
