from __future__ import annotations

import pytest

from piston.config import Config, ConfigParsingError


def test_syntax_error_names_file_and_line(write) -> None:
    path = write("bad.py", "a = 1\nb = dict(\nc = 3\n")
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(path)
    assert str(path) in str(info.value)
    assert info.value.filename == str(path)
    assert info.value.lineno == 2


def test_syntax_error_in_base_names_the_base(write) -> None:
    base = write("base.py", "x = [1, 2\n")
    child = write("child.py", "_base_ = './base.py'\n")
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(child)
    assert info.value.filename == str(base)


def test_json_and_yaml_syntax_errors_name_file_and_line(write) -> None:
    js = write("bad.json", '{\n  "a": 1,\n  "b": \n}\n')
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(js)
    assert info.value.filename == str(js)
    assert info.value.lineno == 4
    yml = write("bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(SyntaxError) as info:
        Config.fromfile(yml)
    assert info.value.filename == str(yml)
    assert info.value.lineno is not None


def test_missing_base_names_looked_up_path_and_requesting_file(write, tmp_path) -> None:
    child = write("configs/child.py", "_base_ = ['../_base_/missing.py']\n")
    with pytest.raises(FileNotFoundError) as info:
        Config.fromfile(child)
    message = str(info.value)
    assert str(tmp_path / "_base_" / "missing.py") in message
    assert str(child) in message


def test_missing_config_file() -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Config.fromfile("/nonexistent/piston/cfg.py")


def test_unsupported_extension(write) -> None:
    with pytest.raises(OSError, match="Only py/yml/yaml/json type are supported now!"):
        Config.fromfile(write("a.toml", "a = 1"))


def test_runtime_error_in_config_names_file_and_line(write) -> None:
    path = write("c.py", "a = 1\nb = undefined_name + 1\n")
    with pytest.raises(NameError) as info:
        Config.fromfile(path)
    assert f"{path}, line 2" in str(info.value)


def test_bad_base_attribute_names_file_and_key(write) -> None:
    write("base.py", "optimizer = dict(lr=0.1)\n")
    child = write("child.py", "_base_ = './base.py'\nlr = _base_.optimizer.lrr\n")
    with pytest.raises(AttributeError) as info:
        Config.fromfile(child)
    assert "lrr" in str(info.value)
    assert str(child) in str(info.value)


def test_bad_base_placeholder_names_file_and_key(write) -> None:
    write("base.py", "optimizer = dict(lr=0.1)\n")
    child = write("child.py", "_base_ = './base.py'\nlr = {{_base_.optimizer.momentum}}\n")
    with pytest.raises(KeyError) as info:
        Config.fromfile(child)
    assert "momentum" in str(info.value)
    assert str(child) in str(info.value)


def test_duplicate_keys_among_bases(write) -> None:
    write("a.py", "x = 1\n")
    write("b.py", "x = 2\n")
    child = write("child.py", "_base_ = ['./a.py', './b.py']\n")
    with pytest.raises(KeyError, match="Duplicate key is not allowed among bases"):
        Config.fromfile(child)


def test_merging_dict_into_non_dict_suggests_delete(write) -> None:
    write("base.py", "model = 3\n")
    child = write("child.py", "_base_ = './base.py'\nmodel = dict(a=1)\n")
    with pytest.raises(TypeError, match="_delete_=True") as info:
        Config.fromfile(child)
    assert str(child) in str(info.value)


def test_circular_bases(write) -> None:
    write("a.py", "_base_ = './b.py'\n")
    child = write("b.py", "_base_ = './a.py'\n")
    with pytest.raises(ConfigParsingError, match="circular"):
        Config.fromfile(child)


def test_non_literal_base(write) -> None:
    path = write("c.py", "import os\n_base_ = os.path.join('a.py')\n")
    with pytest.raises(ConfigParsingError, match="_base_"):
        Config.fromfile(path)


def test_reserved_keys_and_bad_cfg_dict() -> None:
    with pytest.raises(KeyError, match="filename"):
        Config({"filename": "x"})
    with pytest.raises(TypeError):
        Config([1, 2])  # type: ignore[arg-type]


def test_other_with_statement_is_rejected(write) -> None:
    path = write("c.py", "import os\nwith open('x') as f:\n    pass\n")
    with pytest.raises(ConfigParsingError, match="read_base"):
        Config.fromfile(path)
