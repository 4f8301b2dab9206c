from __future__ import annotations

import json
import os

import pytest

from piston.config import Config, ConfigDict

BASE = """
model = dict(type='ResNet', depth=50, norm_cfg=dict(type='BN'))
optimizer = dict(type='SGD', lr=0.02, momentum=0.9)
"""


def test_spec_worked_example(write) -> None:
    write("base.py", BASE)
    child = write(
        "child.py",
        """
        _base_ = ['./base.py']
        model = dict(depth=101, norm_cfg=dict(_delete_=True, type='GN', num_groups=32))
        base_lr = {{_base_.optimizer.lr}}
        optimizer = dict(lr=_base_.optimizer.lr * 2)
        work_dir = './work_dirs/{{fileBasenameNoExtension}}'
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.model == {
        "type": "ResNet",
        "depth": 101,
        "norm_cfg": {"type": "GN", "num_groups": 32},
    }
    assert cfg.base_lr == 0.02
    assert cfg.optimizer == {"type": "SGD", "lr": 0.04, "momentum": 0.9}
    assert cfg.work_dir == "./work_dirs/child"
    assert "_base_" not in cfg
    assert isinstance(cfg.model, ConfigDict)
    assert cfg.filename == str(child)


def test_base_as_string_and_nested_folders(write, tmp_path) -> None:
    write("_base_/models/resnet.py", "model = dict(type='ResNet', depth=50)\n")
    write("_base_/schedules/sgd.py", "optimizer = dict(type='SGD', lr=0.1)\n")
    write(
        "configs/det/exp.py",
        """
        _base_ = ['../../_base_/models/resnet.py', '../../_base_/schedules/sgd.py']
        optimizer = dict(lr=0.2)
        """,
    )
    write("configs/det/exp2.py", "_base_ = './exp.py'\nmodel = dict(depth=18)\n")
    cfg = Config.fromfile(tmp_path / "configs/det/exp2.py")
    assert cfg.model == {"type": "ResNet", "depth": 18}
    assert cfg.optimizer == {"type": "SGD", "lr": 0.2}


def test_mixed_formats(write) -> None:
    write("base.json", json.dumps({"a": {"x": 1, "y": 2}, "lst": [1, 2]}))
    write("mid.yaml", "_base_: ./base.json\na:\n  y: 3\nb: yes\n")
    child = write("child.py", "_base_ = './mid.yaml'\na = dict(z=4)\n")
    cfg = Config.fromfile(child)
    assert cfg.a == {"x": 1, "y": 3, "z": 4}
    assert cfg.b is True
    assert cfg.lst == [1, 2]


def test_yml_and_json_children(write) -> None:
    write("base.py", BASE)
    yml = write("c.yml", "_base_: [./base.py]\nmodel:\n  depth: 18\n")
    js = write("c.json", json.dumps({"_base_": "./base.py", "optimizer": {"lr": 1.0}}))
    assert Config.fromfile(yml).model.depth == 18
    assert Config.fromfile(js).optimizer == {"type": "SGD", "lr": 1.0, "momentum": 0.9}


def test_base_reference_in_yaml_and_json(write) -> None:
    write("base.py", BASE)
    yml = write(
        "c.yaml",
        "_base_: ./base.py\nnorm: '{{_base_.model.norm_cfg}}'\nlr: {{ _base_.optimizer.lr }}\n",
    )
    cfg = Config.fromfile(yml)
    assert cfg.norm == {"type": "BN"}
    assert cfg.lr == 0.02
    js = write("c.json", '{"_base_": "./base.py", "depth": {{_base_.model.depth}}}')
    assert Config.fromfile(js).depth == 50


def test_base_reference_value_is_a_deep_copy(write) -> None:
    write("base.py", "pipeline = [dict(type='A'), dict(type='B')]\n")
    child = write(
        "child.py",
        """
        _base_ = './base.py'
        train = dict(pipeline={{_base_.pipeline}})
        first = {{_base_.pipeline.0}}
        pipeline = [dict(type='C')]
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.train.pipeline == [{"type": "A"}, {"type": "B"}]
    assert cfg.first == {"type": "A"}
    assert cfg.pipeline == [{"type": "C"}]


def test_delete_key_replaces_base_dict(write) -> None:
    write("base.yaml", "model:\n  a: 1\n  b: 2\n")
    child = write("child.py", "_base_ = './base.yaml'\nmodel = dict(_delete_=True, c=3)\n")
    assert Config.fromfile(child).model == {"c": 3}


def test_predefined_variables(write, tmp_path) -> None:
    path = write(
        "sub/my.cfg.py",
        """
        a = '{{ fileDirname }}'
        b = '{{fileBasename}}'
        c = '{{ fileBasenameNoExtension }}'
        d = '{{fileExtname}}'
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.a == str(tmp_path / "sub")
    assert cfg.b == "my.cfg.py"
    assert cfg.c == "my.cfg"
    assert cfg.d == ".py"
    raw = Config.fromfile(path, use_predefined_variables=False)
    assert raw.b == "{{fileBasename}}"


def test_environment_variables(write, monkeypatch) -> None:
    monkeypatch.setenv("PISTON_TEST_BS", "16")
    path = write(
        "env.py",
        """
        batch_size = {{'$PISTON_TEST_BS:8'}}
        workers = {{$PISTON_TEST_UNSET_VAR:4}}
        root = '{{$PISTON_TEST_UNSET_ROOT:data/}}'
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.batch_size == 16
    assert cfg.workers == 4
    assert cfg.root == "data/"
    assert cfg.env_variables == {
        "PISTON_TEST_BS": "16",
        "PISTON_TEST_UNSET_VAR": "4",
        "PISTON_TEST_UNSET_ROOT": "data/",
    }


def test_environment_variable_without_value_or_default(write) -> None:
    path = write("env.py", "a = {{$PISTON_TEST_SURELY_UNSET:}}\n")
    with pytest.raises(KeyError, match="PISTON_TEST_SURELY_UNSET"):
        Config.fromfile(path)


def test_environment_variables_in_yaml(write, monkeypatch) -> None:
    monkeypatch.setenv("PISTON_TEST_LR", "0.5")
    cfg = Config.fromfile(write("e.yaml", "lr: {{$PISTON_TEST_LR:0.1}}\n"))
    assert cfg.lr == 0.5


def test_classic_config_may_import_stdlib_and_drops_modules_and_functions(write) -> None:
    path = write(
        "c.py",
        """
        import os.path as osp
        def helper():
            return 1
        root = osp.join('a', 'b')
        __private = 3
        """,
    )
    cfg = Config.fromfile(path)
    assert cfg.to_dict() == {"root": os.path.join("a", "b")}


def test_text_concatenates_bases_first(write) -> None:
    base = write("base.py", "a = 1\n")
    child = write("child.py", "_base_ = './base.py'\nb = 2\n")
    cfg = Config.fromfile(child)
    assert cfg.text == f"{base}\na = 1\n\n{child}\n_base_ = './base.py'\nb = 2\n"


def test_deprecation_key_warns_and_is_removed(write) -> None:
    path = write("old.py", "_deprecation_ = dict(expected='new.py', reference='url')\na = 1\n")
    with pytest.warns(DeprecationWarning, match="new.py"):
        cfg = Config.fromfile(path)
    assert "_deprecation_" not in cfg


def test_python_expressions_on_base_variable(write) -> None:
    write("base.py", BASE)
    child = write(
        "child.py",
        """
        _base_ = './base.py'
        model = _base_.model
        model.depth = 101
        """,
    )
    assert Config.fromfile(child).model == {
        "type": "ResNet",
        "depth": 101,
        "norm_cfg": {"type": "BN"},
    }


def test_custom_imports(write, tmp_path, monkeypatch) -> None:
    (tmp_path / "my_piston_ext_mod.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = write(
        "c.py", "custom_imports = dict(imports=['my_piston_ext_mod'], allow_failed_imports=False)\n"
    )
    import sys

    sys.modules.pop("my_piston_ext_mod", None)
    Config.fromfile(path)
    assert sys.modules["my_piston_ext_mod"].LOADED
    sys.modules.pop("my_piston_ext_mod", None)
    Config.fromfile(path, import_custom_modules=False)
    assert "my_piston_ext_mod" not in sys.modules


def test_custom_imports_failure_lists_sys_path(write) -> None:
    path = write("c.py", "custom_imports = dict(imports=['piston_no_such_module_xyz'])\n")
    with pytest.raises(ImportError, match=r"sys\.path"):
        Config.fromfile(path)


def test_package_base_falls_back_to_mim_configs(write, tmp_path, monkeypatch) -> None:
    write("site/mmdet/__init__.py", "")
    write(
        "site/mmdet/.mim/configs/_base_/model.py",
        "model = dict(type='RetinaNet', depth=50)\nx = 1\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    child = write("child.py", "_base_ = 'mmdet::_base_/model.py'\nmodel = dict(depth=18)\n")
    cfg = Config.fromfile(child)
    assert cfg.model == {"type": "RetinaNet", "depth": 18, "_scope_": "mmdet"}
    assert cfg.x == 1


def test_package_base_through_model_index(write, tmp_path, monkeypatch) -> None:
    write("site/mmpretrain/__init__.py", "")
    write("site/mmpretrain/.mim/model-index.yml", "Import:\n  - configs/resnet/metafile.yml\n")
    write(
        "site/mmpretrain/.mim/configs/resnet/metafile.yml",
        "Models:\n  - Name: resnet18\n    Config: configs/resnet/resnet18_8xb32.py\n",
    )
    write("site/mmpretrain/.mim/configs/resnet/resnet18_8xb32.py", "model = dict(type='R', d=18)\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    child = write("child.py", "_base_ = 'mmpretrain::resnet18.py'\n")
    assert Config.fromfile(child).model.d == 18


def test_package_base_not_installed(write) -> None:
    child = write("child.py", "_base_ = 'mmyolo::x.py'\n")
    with pytest.raises(ModuleNotFoundError, match="pip install mmyolo"):
        Config.fromfile(child)


def test_fromstring_each_format() -> None:
    assert Config.fromstring("a = dict(b=1)\n", ".py").a.b == 1
    assert Config.fromstring('{"a": {"b": 2}}', ".json").a.b == 2
    assert Config.fromstring("a:\n  b: 3\n", ".yaml").a.b == 3
    with pytest.raises(OSError, match="Only py/yml/yaml/json"):
        Config.fromstring("a = 1", ".toml")
    with pytest.warns(UserWarning, match="file format may be .py"):
        Config.fromstring("a: 'dict(x)'\n", ".yaml")


def test_dunder_file_is_the_config_path(write) -> None:
    path = write("c.py", "import os.path as osp\nhere = osp.dirname(__file__)\n")
    assert Config.fromfile(path).here == str(path.parent)
