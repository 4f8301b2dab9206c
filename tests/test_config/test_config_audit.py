"""Spec audit of ``piston.config`` on realistic MMEngine-era config trees (mmdet/mmpretrain style).

Each test writes a small ``configs/`` tree into ``tmp_path``: ``_base_`` chains of models,
datasets, schedules and ``default_runtime``, ``_delete_``, ``{{_base_.x}}``, ``custom_imports``,
``--cfg-options`` overrides, a config from an installed package (``mmdet::``) and pure-Python
``read_base()`` configs with lazy ``type=SomeClass`` objects.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from piston.config import Config, ConfigDict, DictAction
from piston.config.lazy import LazyAttr, LazyObject

MODEL = """
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5))
"""
DATASET = """
dataset_type = 'CocoDataset'
data_root = 'data/coco/'
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    dataset=dict(type=dataset_type, data_root=data_root, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
"""
SCHEDULE = """
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
val_cfg = dict(type='ValLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
"""
RUNTIME = """
default_scope = 'mmdet'
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
"""
R50 = """
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]
"""


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def mmdet_tree(tmp_path: Path) -> Path:
    """``configs/`` in mmdet layout; returns the ``configs`` folder."""
    root = tmp_path / "configs"
    _write(
        root,
        {
            "_base_/models/faster-rcnn_r50_fpn.py": MODEL,
            "_base_/datasets/coco_detection.py": DATASET,
            "_base_/schedules/schedule_1x.py": SCHEDULE,
            "_base_/default_runtime.py": RUNTIME,
            "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py": R50,
            "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py": """
                _base_ = './faster-rcnn_r50_fpn_1x_coco.py'
                model = dict(
                    backbone=dict(
                        depth=101,
                        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
                """,
            "faster_rcnn/faster-rcnn_r50_fpn_gn-all_1x_coco.py": """
                _base_ = './faster-rcnn_r50_fpn_1x_coco.py'
                norm_cfg = dict(type='GN', num_groups=32, requires_grad=True)
                model = dict(
                    backbone=dict(norm_cfg=norm_cfg),
                    neck=dict(norm_cfg=norm_cfg))
                optim_wrapper = dict(
                    _delete_=True,
                    type='AmpOptimWrapper',
                    optimizer=dict(type='AdamW', lr=0.0001, weight_decay=0.05))
                train_pipeline = [
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                ]
                train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
                base_lr = {{_base_.optim_wrapper.optimizer.lr}}
                milestones = {{ _base_.param_scheduler.1.milestones }}
                scaled = _base_.optim_wrapper.optimizer.lr * 2
                work_dir = './work_dirs/{{ fileBasenameNoExtension }}'
                """,
        },
    )
    return root


def test_mmdet_chain_of_bases_and_overrides(mmdet_tree: Path) -> None:
    r101 = Config.fromfile(mmdet_tree / "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py")
    backbone = r101.model.backbone
    assert backbone.depth == 101
    assert backbone.frozen_stages == 1
    assert backbone.init_cfg == {"type": "Pretrained", "checkpoint": "torchvision://resnet101"}
    assert backbone.out_indices == (0, 1, 2, 3)
    assert r101.train_dataloader.dataset.pipeline[2].scale == (1333, 800)
    assert r101.test_dataloader == r101.val_dataloader
    assert r101.val_evaluator.ann_file == "data/coco/annotations/val.json"
    assert isinstance(r101.param_scheduler[0], ConfigDict)
    # text: every file, bases first, each "<abs path>\n<content>"
    paths = [line for line in r101.text.splitlines() if line.endswith(".py")]
    assert paths[0].endswith("models/faster-rcnn_r50_fpn.py")
    assert paths[-1] == str(mmdet_tree / "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py")

    gn = Config.fromfile(mmdet_tree / "faster_rcnn/faster-rcnn_r50_fpn_gn-all_1x_coco.py")
    assert gn.model.backbone.norm_cfg == {"type": "GN", "num_groups": 32, "requires_grad": True}
    assert gn.model.neck.norm_cfg.type == "GN"
    assert gn.model.neck.num_outs == 5
    assert gn.optim_wrapper == {
        "type": "AmpOptimWrapper",
        "optimizer": {"type": "AdamW", "lr": 0.0001, "weight_decay": 0.05},
    }
    assert [t.type for t in gn.train_dataloader.dataset.pipeline] == ["LoadImageFromFile", "Resize"]
    assert gn.train_dataloader.dataset.ann_file == "annotations/instances_train2017.json"
    assert gn.base_lr == 0.02
    assert gn.milestones == [8, 11]
    assert gn.scaled == 0.04
    assert gn.work_dir == "./work_dirs/faster-rcnn_r50_fpn_gn-all_1x_coco"


def test_cfg_options_from_the_command_line(mmdet_tree: Path) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(
        [
            str(mmdet_tree / "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py"),
            "--cfg-options",
            "model.backbone.depth=101",
            "train_dataloader.dataset.pipeline.0.type=LoadImageFromNDArray",
            "optim_wrapper.optimizer.lr=0.01",
            "model.neck.in_channels=[128,256]",
            "train_dataloader.dataset.pipeline.2.scale=(640,640)",
            "default_hooks.checkpoint.save_best=auto",
            "model.backbone.norm_eval=False",
            "load_from=None",
            "--cfg-options",
            "param_scheduler.1.milestones=[16,22]",
        ]
    )
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    assert cfg.model.backbone.depth == 101
    assert cfg.train_dataloader.dataset.pipeline[0] == {
        "type": "LoadImageFromNDArray",
        "backend_args": None,
    }
    assert cfg.optim_wrapper.optimizer == {
        "type": "SGD",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 0.0001,
    }
    assert cfg.model.neck.in_channels == [128, 256]
    assert cfg.train_dataloader.dataset.pipeline[2].scale == (640, 640)
    assert cfg.default_hooks.checkpoint == {
        "type": "CheckpointHook",
        "interval": 1,
        "save_best": "auto",
    }
    assert cfg.model.backbone.norm_eval is False
    assert cfg.load_from is None
    assert cfg.param_scheduler[1].milestones == [16, 22]
    with pytest.raises(KeyError, match="exceeds"):
        cfg.merge_from_dict({"train_dataloader.dataset.pipeline.9.type": "X"})
    with pytest.raises(TypeError, match="_delete_"):
        cfg.merge_from_dict({"train_dataloader.dataset.pipeline.0": 1, "model.type.x": 1})
    with pytest.raises(TypeError):  # list keys need allow_list_keys
        cfg.merge_from_dict({"param_scheduler.0.begin": 1}, allow_list_keys=False)


def test_pretty_text_expands_lists_and_tuples_one_item_per_line(mmdet_tree: Path) -> None:
    cfg = Config.fromfile(mmdet_tree / "faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py")
    text = cfg.pretty_text
    assert "        out_indices=(\n            0,\n            1,\n            2,\n" in text
    assert "        mean=[\n            123.675,\n            116.28,\n" in text
    assert "train_pipeline = [\n    dict(backend_args=None, type='LoadImageFromFile'),\n" in text
    assert "val_cfg = dict(type='ValLoop')\n" in text  # short dicts stay on one line
    assert Config.fromstring(text, ".py").to_dict() == cfg.to_dict()
    assert Config({"a": [1, 2], "t": (1,)}).pretty_text == "a = [\n    1,\n    2,\n]\nt = (1, )\n"
    assert Config({"e": [], "d": {"x": ()}}).pretty_text == "d = dict(x=())\ne = []\n"


def test_plain_formatter_without_yapf_matches_the_layout(mmdet_tree: Path, monkeypatch) -> None:
    for name in ("yapf", "yapf.yapflib", "yapf.yapflib.yapf_api"):  # `import yapf` fails
        monkeypatch.setitem(sys.modules, name, None)
    cfg = Config.fromfile(mmdet_tree / "faster_rcnn/faster-rcnn_r50_fpn_gn-all_1x_coco.py")
    text = cfg.pretty_text
    assert "        out_indices=(\n            0,\n            1,\n" in text
    assert "    dict(keep_ratio=True, scale=(\n" not in text  # valid, but plainer than yapf
    assert "val_cfg = dict(type='ValLoop')\n" in text
    assert max(len(line) for line in text.splitlines()) <= 79
    assert Config.fromstring(text, ".py").to_dict() == cfg.to_dict()


def test_format_python_code_false_gives_unformatted_key_value_lines() -> None:
    cfg = Config({"b": {"x": [1]}, "a": 1}, format_python_code=False)
    assert cfg.pretty_text == "a=1\nb=dict(\n    x=[\n        1,\n    ])\n"


def test_dump_formats_of_a_chained_config(mmdet_tree: Path, tmp_path: Path) -> None:
    cfg = Config.fromfile(mmdet_tree / "faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py")
    cfg.dump(tmp_path / "dumped.py")
    assert (tmp_path / "dumped.py").read_text(encoding="utf-8") == cfg.pretty_text
    assert Config.fromfile(tmp_path / "dumped.py").to_dict() == cfg.to_dict()
    cfg.dump(tmp_path / "dumped.yaml")
    assert Config.fromfile(tmp_path / "dumped.yaml").to_dict() == cfg.to_dict()
    cfg.dump(tmp_path / "dumped.json")
    json_cfg = Config.fromfile(tmp_path / "dumped.json")
    assert json_cfg.model.backbone.out_indices == [0, 1, 2, 3]  # JSON has no tuples
    assert json_cfg.dump().startswith("{")  # file=None: the source format
    assert Config.fromfile(tmp_path / "dumped.yaml").dump().startswith("backend_args: null\n")


def test_custom_imports_in_a_base_are_imported(tmp_path: Path, monkeypatch) -> None:
    _write(
        tmp_path,
        {
            "src/my_det/__init__.py": "from .ext import *\n",
            "src/my_det/ext.py": "import builtins\nbuiltins._piston_audit_imported = True\n",
            "configs/_base_/runtime.py": (
                "custom_imports = dict(imports=['my_det'], allow_failed_imports=False)\n"
            ),
            "configs/exp.py": "_base_ = ['./_base_/runtime.py']\nmodel = dict(type='MyDet')\n",
            "configs/broken.py": "custom_imports = dict(imports=['no_such_mod_piston'])\n",
            "configs/tolerant.py": (
                "custom_imports = dict(imports=['no_such_mod_piston'], allow_failed_imports=True)\n"
            ),
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    import builtins

    monkeypatch.setattr(builtins, "_piston_audit_imported", False, raising=False)
    Config.fromfile(tmp_path / "configs/exp.py", import_custom_modules=False)
    assert builtins._piston_audit_imported is False
    cfg = Config.fromfile(tmp_path / "configs/exp.py")
    assert builtins._piston_audit_imported is True
    assert cfg.custom_imports.imports == ["my_det"]
    with pytest.raises(ImportError, match=r"sys\.path"):
        Config.fromfile(tmp_path / "configs/broken.py")
    with pytest.warns(UserWarning, match="no_such_mod_piston"):
        Config.fromfile(tmp_path / "configs/tolerant.py")


# --- configs from installed packages (pkg::path) -------------------------------------------------
@pytest.fixture
def fake_mmdet(tmp_path: Path, monkeypatch) -> Path:
    """A package ``mmdet`` with its configs under ``.mim/configs`` (as ``mim`` installs them)."""
    site = tmp_path / "site"
    _write(
        site,
        {
            "mmdet/__init__.py": "",
            "mmdet/.mim/configs/_base_/models/retinanet_r50_fpn.py": """
                model = dict(type='RetinaNet', backbone=dict(type='ResNet', depth=50))
                """,
            "mmdet/.mim/configs/_base_/datasets/coco.py": """
                train_dataloader = dict(
                    batch_size=2,
                    dataset=dict(type='CocoDataset', pipeline=[dict(type='LoadImageFromFile')]))
                param_scheduler = [dict(type='LinearLR'), dict(type='MultiStepLR', _scope_='x')]
                """,
            "mmdet/.mim/configs/retinanet/retinanet_r50_fpn_1x_coco.py": """
                _base_ = ['../_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/coco.py']
                optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01))
                """,
        },
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "mmdet", raising=False)
    _write(
        tmp_path,
        {
            "my_project/retina_r101.py": """
                _base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
                model = dict(backbone=dict(depth=101))
                """,
            "my_project/unknown_pkg.py": "_base_ = 'notanmmpkg::x/y.py'\n",
            "my_project/not_installed.py": "_base_ = 'mmagic::x/y.py'\n",
        },
    )
    return tmp_path / "my_project"


def test_package_base_scopes_every_outermost_component(fake_mmdet: Path) -> None:
    cfg = Config.fromfile(fake_mmdet / "retina_r101.py")
    assert cfg.model._scope_ == "mmdet"
    assert cfg.model.backbone.depth == 101
    assert "_scope_" not in cfg.model.backbone  # only the outermost dict with a type
    assert cfg.train_dataloader.dataset._scope_ == "mmdet"
    assert "_scope_" not in cfg.train_dataloader
    assert "_scope_" not in cfg.train_dataloader.dataset.pipeline[0]
    assert cfg.param_scheduler[0]._scope_ == "mmdet"
    assert cfg.param_scheduler[1]._scope_ == "x"  # an explicit scope is kept
    assert cfg.optim_wrapper.optimizer._scope_ == "mmdet"


def test_package_base_errors(fake_mmdet: Path) -> None:
    with pytest.raises(ModuleNotFoundError, match="notanmmpkg"):
        Config.fromfile(fake_mmdet / "unknown_pkg.py")
    with pytest.raises(ModuleNotFoundError, match="pip install mmagic"):
        Config.fromfile(fake_mmdet / "not_installed.py")


# --- pure-Python (read_base) configs ---------------------------------------------------------------
@pytest.fixture
def mmpretrain_tree(tmp_path: Path) -> Path:
    root = tmp_path / "configs"
    _write(
        root,
        {
            "__init__.py": "",
            "_base_/__init__.py": "",
            "_base_/models/__init__.py": "",
            "_base_/models/resnet18.py": """
                from torch.nn import BatchNorm2d
                import torch.nn as nn
                model = dict(
                    type='ImageClassifier',
                    backbone=dict(type='ResNet', depth=18, norm_cfg=dict(type=BatchNorm2d)),
                    head=dict(type='LinearClsHead', loss=dict(type=nn.CrossEntropyLoss)))
                """,
            "_base_/schedules/imagenet_bs256.py": """
                from torch.optim import SGD
                from torch.optim.lr_scheduler import MultiStepLR
                optim_wrapper = dict(optimizer=dict(type=SGD, lr=0.1, momentum=0.9))
                param_scheduler = dict(type=MultiStepLR, milestones=[30, 60, 90])
                train_cfg = dict(by_epoch=True, max_epochs=100)
                """,
            "resnet/resnet50_8xb32_in1k.py": """
                from piston.config import read_base
                from torch.optim import AdamW
                import os.path as osp

                with read_base():
                    from .._base_.models.resnet18 import *
                    from .._base_.schedules.imagenet_bs256 import *

                model.update(backbone=dict(depth=50))
                optim_wrapper.optimizer.update(type=AdamW, lr=0.001)
                train_cfg.max_epochs = 300
                work_dir = osp.join('work_dirs', 'r50')
                """,
        },
    )
    return root


def _lazy_cfg_in_subprocess_imports_torch(path: Path) -> bool:
    code = (
        "import sys\nfrom piston.config import Config\n"
        f"cfg = Config.fromfile({str(path)!r})\ncfg.merge_from_dict({{'train_cfg.max_epochs': 1}})\n"
        "cfg.to_dict(); cfg.pretty_text\nprint('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def test_read_base_config_with_lazy_types(mmpretrain_tree: Path) -> None:
    path = mmpretrain_tree / "resnet/resnet50_8xb32_in1k.py"
    cfg = Config.fromfile(path)
    plain = cfg.to_dict()
    assert set(plain) == {"model", "optim_wrapper", "param_scheduler", "train_cfg", "work_dir"}
    assert plain["model"]["backbone"] == {
        "type": "ResNet",
        "depth": 50,
        "norm_cfg": {"type": "torch.nn.BatchNorm2d"},
    }
    assert plain["model"]["head"]["loss"]["type"] == "torch.nn.CrossEntropyLoss"
    assert plain["optim_wrapper"]["optimizer"] == {
        "type": "torch.optim.AdamW",
        "lr": 0.001,
        "momentum": 0.9,
    }
    assert plain["train_cfg"]["max_epochs"] == 300
    assert plain["work_dir"] == "work_dirs/r50"
    assert {"AdamW", "SGD", "nn", "BatchNorm2d"} <= set(cfg.to_dict(keep_imported=True))
    import torch

    assert cfg.optim_wrapper.optimizer.type is torch.optim.AdamW  # built on access
    assert cfg.model.head.loss.get("type") is torch.nn.CrossEntropyLoss
    assert "type='torch.optim.AdamW'" in cfg.pretty_text
    assert Config.fromstring(cfg.pretty_text, ".py").to_dict() == plain


def test_lazy_objects_survive_cfg_options_copies_and_pickle(mmpretrain_tree: Path) -> None:
    path = mmpretrain_tree / "resnet/resnet50_8xb32_in1k.py"
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({"model.backbone.depth": 101, "optim_wrapper.optimizer.lr": 0.01})
    # re-wrapping the merged dict must not import the lazily imported modules (torch.nn here)
    assert isinstance(dict.__getitem__(cfg._cfg_dict, "nn"), LazyObject)
    assert cfg.to_dict()["optim_wrapper"]["optimizer"]["type"] == "torch.optim.AdamW"
    restored = pickle.loads(pickle.dumps(cfg))
    assert restored.to_dict() == cfg.to_dict()
    assert restored.to_dict(keep_imported=True)["nn"] == "torch.nn"
    assert copy.deepcopy(cfg).to_dict() == cfg.to_dict()
    assert not _lazy_cfg_in_subprocess_imports_torch(path)


def test_configdict_copies_and_updates_do_not_build_lazy_objects() -> None:
    lazy = LazyObject("piston_no_such_module_xyz", "Thing")
    source = ConfigDict()
    dict.__setitem__(source, "type", lazy)
    assert dict.__getitem__(ConfigDict(source), "type") is lazy
    target = ConfigDict(a=1)
    target.update(source)
    assert dict.__getitem__(target, "type") is lazy
    assert ConfigDict(source).to_dict() == {"type": "piston_no_such_module_xyz.Thing"}
    with pytest.raises(ImportError, match="piston_no_such_module_xyz"):
        source.type  # noqa: B018 - access builds


def test_read_base_from_an_installed_package(tmp_path: Path, monkeypatch) -> None:
    _write(
        tmp_path / "site",
        {
            "mypkg_audit/__init__.py": "",
            "mypkg_audit/configs/__init__.py": "",
            "mypkg_audit/configs/_base_/__init__.py": "",
            "mypkg_audit/configs/_base_/runtime.py": "default_scope = 'mypkg'\nlog_level = 'INFO'\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    _write(
        tmp_path,
        {
            "exp.py": """
                from piston.config import read_base
                with read_base():
                    from mypkg_audit.configs._base_.runtime import *
                log_level = 'DEBUG'
                """,
            "pkg_dir.py": """
                from piston.config import read_base
                with read_base():
                    from mypkg_audit.configs._base_ import *
                """,
        },
    )
    cfg = Config.fromfile(tmp_path / "exp.py")
    assert cfg.to_dict() == {"default_scope": "mypkg", "log_level": "DEBUG"}
    with pytest.raises(RuntimeError, match="package"):
        Config.fromfile(tmp_path / "pkg_dir.py")


def test_lazy_attr_and_object_basics() -> None:
    obj = LazyObject("collections", "OrderedDict", location="cfg.py, line 1")
    attr = obj.fromkeys
    assert isinstance(attr, LazyAttr)
    assert str(attr) == "collections.OrderedDict.fromkeys"
    import collections

    assert obj.build() is collections.OrderedDict
    assert attr.build() == collections.OrderedDict.fromkeys
    assert str(pickle.loads(pickle.dumps(attr))) == str(attr)
    assert str(copy.deepcopy(obj)) == "collections.OrderedDict"
    assert str(LazyObject(["os", "os.path"])) == "os"


class _AddictStyleDict(dict):
    """Pickles like an ``addict.Dict`` (MMEngine's ConfigDict base): items again as state."""

    def __getstate__(self) -> dict:
        return self

    def __setstate__(self, state: dict) -> None:
        self.update(state)


def test_configdict_unpickles_addict_style_pickles() -> None:
    import io

    data = pickle.dumps(
        _AddictStyleDict(model=_AddictStyleDict(type="ResNet", depth=50), lr=0.1), protocol=2
    )

    class _Mapper(pickle.Unpickler):  # what a checkpoint loader mapping mmengine.* does
        def find_class(self, module: str, name: str) -> type:
            if name == "_AddictStyleDict":
                return ConfigDict
            return super().find_class(module, name)

    cfg = _Mapper(io.BytesIO(data)).load()
    assert type(cfg) is ConfigDict
    assert type(cfg.model) is ConfigDict
    assert cfg == {"model": {"type": "ResNet", "depth": 50}, "lr": 0.1}
    assert vars(cfg) == {}  # items are items, not instance attributes
    cfg.lr = 0.2
    assert cfg.lr == 0.2
