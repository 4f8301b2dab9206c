"""Error and warning quality for common config mistakes: misplaced or misspelt ``_delete_``,
``--cfg-options`` that do not fit the config, a dict merged onto a non-dict base value."""

from __future__ import annotations

import warnings

import pytest

from piston.config import Config

BASE = """\
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1333, 800))]
val_evaluator = dict(type='CocoMetric', metric='bbox')
log_level = 'INFO'
"""


def test_delete_inside_a_list_item_is_dropped_with_a_warning(write) -> None:
    write("base.py", BASE)
    child = write(
        "child.py",
        "_base_ = './base.py'\ntrain_pipeline = [dict(_delete_=True, type='LoadImageFromFile')]\n",
    )
    with pytest.warns(UserWarning, match=r"train_pipeline\.0\._delete_ in .*child\.py.*no effect"):
        cfg = Config.fromfile(child)
    assert cfg.train_pipeline == [{"type": "LoadImageFromFile"}]


def test_misspelt_delete_key_warns_and_is_kept(write) -> None:
    write("base.py", BASE)
    child = write(
        "child.py", "_base_ = './base.py'\nval_evaluator = dict(_delete=True, type='VOC')\n"
    )
    with pytest.warns(UserWarning, match=r"val_evaluator\._delete in .*child\.py.*misspelt"):
        cfg = Config.fromfile(child)
    # Kept as an ordinary key, exactly as MMEngine keeps it: the base dict is merged into.
    assert cfg.val_evaluator == {"type": "VOC", "metric": "bbox", "_delete": True}


def test_correct_delete_and_plain_delete_word_do_not_warn(write) -> None:
    write("base.py", BASE)
    child = write(
        "child.py",
        "_base_ = './base.py'\nval_evaluator = dict(_delete_=True, type='VOC', delete=1)\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = Config.fromfile(child)
    assert cfg.val_evaluator == {"type": "VOC", "delete": 1}


def test_dict_onto_non_dict_base_names_key_base_value_and_fix(write) -> None:
    write("base.py", BASE)
    child = write("child.py", "_base_ = './base.py'\nlog_level = dict(level='INFO')\n")
    with pytest.raises(TypeError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert "log_level" in message
    assert "('INFO')" in message
    assert str(child) in message
    assert "_delete_=True" in message


def test_cfg_options_errors_name_the_options_and_the_file(write) -> None:
    path = write("cfg.py", BASE)
    cfg = Config.fromfile(path)
    with pytest.raises(TypeError) as info:
        cfg.merge_from_dict({"log_level.x": 1})
    assert "{'log_level.x': 1}" in str(info.value)
    assert str(path) in str(info.value)
    with pytest.raises(KeyError) as info:
        cfg.merge_from_dict({"train_pipeline.5.type": "Pad"})
    message = str(info.value)
    assert "train_pipeline.5" in message
    assert "valid indices are 0..1" in message
    assert str(path) in message
    # A failed merge leaves the config untouched.
    assert cfg.log_level == "INFO"
    assert len(cfg.train_pipeline) == 2


def test_base_variable_used_without_base_prefix_gets_a_hint(write) -> None:
    write("base.py", "norm_cfg = dict(type='BN')\n")
    child = write("child.py", "_base_ = './base.py'\nmodel = dict(norm_cfg=norm_cfg)\n")
    with pytest.raises(NameError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert f"{child}, line 2" in message
    assert "refer to it as _base_.norm_cfg" in message


def test_misspelt_base_key_warns(write) -> None:
    write("base.py", BASE)
    child = write("child.py", "_base = './base.py'\nx = 1\n")
    with pytest.warns(UserWarning, match=r"'_base' in .*child\.py looks like a misspelt `_base_`"):
        cfg = Config.fromfile(child)
    assert "train_pipeline" not in cfg  # nothing inherited, as in MMEngine


def test_missing_base_suggests_close_file_or_names_missing_folder(write, tmp_path) -> None:
    write("_base_/models/faster_rcnn_r50_fpn.py", "model = dict(type='FasterRCNN')\n")
    child = write("det/child.py", "_base_ = ['../_base_/models/faster_rcnn_r50.py']\n")
    with pytest.raises(FileNotFoundError, match=r"did you mean 'faster_rcnn_r50_fpn\.py'\?"):
        Config.fromfile(child)
    child = write("det/child2.py", "_base_ = ['../_base/models/faster_rcnn_r50_fpn.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(child)
    assert f"the folder {tmp_path / '_base' / 'models'} does not exist" in str(info.value)


def test_base_with_unsupported_extension_names_the_requesting_file(write) -> None:
    write("base.txt", "a = 1\n")
    child = write("child.py", "_base_ = './base.txt'\n")
    with pytest.raises(OSError, match=r"Only py/yml/yaml/json type are supported now!") as info:
        Config.fromfile(child)
    assert "'./base.txt'" in str(info.value)
    assert str(child) in str(info.value)


def test_custom_imports_with_unknown_key_names_file_and_key(write) -> None:
    path = write("cfg.py", "custom_imports = dict(modules=['json'])\n")
    with pytest.raises(TypeError) as info:
        Config.fromfile(path)
    message = str(info.value)
    assert str(path) in message
    assert "unknown keys: ['modules']" in message
    assert "dict(imports=[...]" in message
