from __future__ import annotations

import ast
import builtins
import sys
import types

import pytest
import torch

from piston.config import Config
from piston.config._pretty import plain_text

CONTENT = """
model = dict(
    type='ResNet', depth=50, norm_cfg=dict(type='BN', requires_grad=True),
    widths=[64, 128, 256, 512], name='r"50"\\n',
)
pipeline = [dict(type='Load'), dict(type='Resize', scale=(224, 224), keep=False)]
lr = 0.1
steps = None
extra = {'a-b': 1, 3: 'int key'}
empty = dict()
"""


@pytest.mark.parametrize("fmt", ["py", "json", "yaml", "yml"])
def test_dump_and_reload_is_equal(write, tmp_path, fmt) -> None:
    content = CONTENT
    if fmt == "json":  # JSON has no tuples and only string keys
        content = content.replace("(224, 224)", "[224, 224]").replace("3: 'int key'", "'3': 'x'")
    cfg = Config.fromfile(write("src.py", content))
    target = tmp_path / f"out.{fmt}"
    assert cfg.dump(target) is None
    reloaded = Config.fromfile(target)
    assert reloaded.to_dict() == cfg.to_dict()


def test_dump_without_file_returns_text_in_source_format(write) -> None:
    py = Config.fromfile(write("a.py", "a = dict(b=1)\n"))
    assert py.dump() == py.pretty_text
    js = Config.fromfile(write("a.json", '{"a": {"b": 1}}'))
    assert Config.fromstring(js.dump(), ".json").to_dict() == {"a": {"b": 1}}
    yml = Config.fromfile(write("a.yaml", "a:\n  b: 1\n"))
    assert yml.dump() == "a:\n  b: 1\n"
    assert Config({"x": 1}).dump() == "x = 1\n"


def test_pretty_text_sorts_keys_and_uses_dict_calls() -> None:
    cfg = Config({"z": 1, "a": {"y": 2, "b": 3}, "m": {"not-id": 1, "class": 2}})
    text = cfg.pretty_text
    assert text.index("a = ") < text.index("m = ") < text.index("z = ")
    assert "dict(b=3, y=2)" in text
    assert "{'class': 2, 'not-id': 1}" in text
    assert Config.fromstring(text, ".py").to_dict() == cfg.to_dict()


def test_pretty_text_round_trips_special_values() -> None:
    cfg = Config(
        {
            "inf": float("inf"),
            "tup1": (1,),
            "empty_tuple": (),
            "nested": [[1, (2, 3)], {"k": [{"a": None}]}],
            "s": "quote ' and \" and \\ and \n",
            "flag": True,
        }
    )
    assert Config.fromstring(cfg.pretty_text, ".py").to_dict() == cfg.to_dict()


def test_classes_and_functions_dump_as_import_paths(tmp_path) -> None:
    cfg = Config({"optimizer": {"type": torch.optim.SGD, "lr": 0.1}, "fn": {"type": builtins.len}})
    path = tmp_path / "dumped.py"
    cfg.dump(path)
    reloaded = Config.fromfile(path)
    assert reloaded.optimizer.type == "torch.optim.sgd.SGD"
    assert reloaded.fn.type == "builtins.len"
    cfg.dump(tmp_path / "dumped.json")
    assert Config.fromfile(tmp_path / "dumped.json").optimizer.type == "torch.optim.sgd.SGD"


def test_long_values_are_split_one_item_per_line_without_yapf(monkeypatch) -> None:
    for name in ("yapf", "yapf.yapflib", "yapf.yapflib.yapf_api"):  # `import yapf` fails
        monkeypatch.setitem(sys.modules, name, None)
    cfg = Config({"items": [f"item_number_{i}" for i in range(20)], "short": [1, 2], "d": {"a": 1}})
    text = cfg.pretty_text
    lines = text.splitlines()
    assert "d = dict(a=1)" in lines
    assert text.index("short = [\n    1,\n    2,\n]\n") > 0  # lists: one item per line
    assert "    'item_number_0'," in lines
    assert all(len(line) <= 79 for line in lines)
    ast.parse(text)


def test_pretty_text_uses_yapf_when_installed(monkeypatch) -> None:
    calls = []

    def format_code(text, style_config):
        calls.append(style_config)
        return "formatted = 1\n", True

    yapf_api = types.ModuleType("yapf.yapflib.yapf_api")
    yapf_api.FormatCode = format_code
    monkeypatch.setitem(sys.modules, "yapf", types.ModuleType("yapf"))
    monkeypatch.setitem(sys.modules, "yapf.yapflib", types.ModuleType("yapf.yapflib"))
    monkeypatch.setitem(sys.modules, "yapf.yapflib.yapf_api", yapf_api)
    assert Config({"a": 1}).pretty_text == "formatted = 1\n"
    assert calls[0]["based_on_style"] == "pep8"
    assert calls[0]["split_before_expression_after_opening_paren"] is True


def test_format_python_code_false_expands_everything(write) -> None:
    cfg = Config.fromfile(write("a.py", "a = dict(b=[1, 2], c=1)\n"), format_python_code=False)
    assert cfg.pretty_text == "a=dict(\n    b=[\n        1,\n        2,\n    ],\n    c=1)\n"
    assert Config.fromstring(cfg.pretty_text, ".py").to_dict() == cfg.to_dict()


def test_import_config_does_not_import_yapf() -> None:
    import subprocess

    code = "import piston.config, sys; print('yapf' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plain_text_of_empty_config() -> None:
    assert plain_text({}) == ""
    assert Config().pretty_text == ""
