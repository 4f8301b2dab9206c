from __future__ import annotations

import copy
import pickle
import subprocess
import sys

import pytest
import torch

from piston.config import Config, ConfigDict, ConfigParsingError
from piston.config.lazy import LazyAttr, LazyObject

BASE = """
from torch.optim import SGD
import torch.nn as nn
optimizer = dict(type=SGD, lr=0.1)
model = dict(type=nn.Linear, in_features=2, out_features=3, extra={'a': dict(b=1)})
"""

CHILD = """
from piston.config import read_base
import os
with read_base():
    from .sub.base_cfg import *
model.update(extra=dict(a=dict(c=2)))
optimizer.lr = 0.5
act = nn.ReLU
"""


@pytest.fixture
def lazy_child(write):
    write("sub/base_cfg.py", BASE)
    return write("child.py", CHILD)


def test_lazy_config_builds_objects_on_access(lazy_child) -> None:
    cfg = Config.fromfile(lazy_child)
    assert cfg.optimizer.type is torch.optim.SGD
    assert cfg.model["type"] is torch.nn.Linear
    assert cfg.act is torch.nn.ReLU
    assert cfg.optimizer.lr == 0.5
    assert cfg.model.extra == {"a": {"b": 1, "c": 2}}  # update is recursive


def test_lazy_config_to_dict_gives_dotted_names_and_drops_imports(lazy_child) -> None:
    cfg = Config.fromfile(lazy_child)
    assert cfg.to_dict() == {
        "optimizer": {"type": "torch.optim.SGD", "lr": 0.5},
        "model": {
            "type": "torch.nn.Linear",
            "in_features": 2,
            "out_features": 3,
            "extra": {"a": {"b": 1, "c": 2}},
        },
        "act": "torch.nn.ReLU",
    }
    assert {"SGD", "nn"} <= set(cfg.to_dict(keep_imported=True))
    assert "torch.optim.SGD" in cfg.pretty_text
    assert "SGD =" not in cfg.pretty_text


def test_parsing_a_lazy_config_does_not_import_its_modules(lazy_child, tmp_path) -> None:
    (tmp_path / "sub" / "base_cfg.py").write_text(
        "from piston_fake_heavy_pkg.optim import Adam\noptimizer = dict(type=Adam)\n"
    )
    code = (
        "import sys; from piston.config import Config; "
        f"cfg = Config.fromfile({str(tmp_path / 'sub' / 'base_cfg.py')!r}); "
        "print(cfg.to_dict()['optimizer']['type'], 'piston_fake_heavy_pkg' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["piston_fake_heavy_pkg.optim.Adam", "False"]


def test_lazy_config_dump_reloads_as_classic(lazy_child, tmp_path) -> None:
    cfg = Config.fromfile(lazy_child)
    cfg.dump(tmp_path / "dumped.py")
    reloaded = Config.fromfile(tmp_path / "dumped.py")
    assert reloaded.to_dict() == cfg.to_dict()


def test_lazy_config_pickle_and_deepcopy(lazy_child) -> None:
    cfg = Config.fromfile(lazy_child)
    for other in (pickle.loads(pickle.dumps(cfg)), copy.deepcopy(cfg)):
        assert other.optimizer.type is torch.optim.SGD
        assert other.to_dict() == cfg.to_dict()


def test_named_base_import_and_alias(write) -> None:
    write("base.py", "a = dict(x=1)\nb = 2\n")
    child = write(
        "child.py",
        """
        from piston.config import read_base
        with read_base():
            from .base import a as base_a
        c = base_a.x + 1
        """,
    )
    cfg = Config.fromfile(child)
    assert cfg.c == 2
    assert cfg.base_a == {"x": 1}
    assert "b" not in cfg


def test_missing_name_in_base(write) -> None:
    write("base.py", "a = 1\n")
    child = write(
        "child.py",
        "from piston.config import read_base\nwith read_base():\n    from .base import zz\n",
    )
    with pytest.raises(ImportError, match="zz"):
        Config.fromfile(child)


def test_base_must_be_a_module_file(write) -> None:
    write("pkg/__init__.py", "")
    child = write(
        "child.py",
        "from piston.config import read_base\nwith read_base():\n    from .pkg import *\n",
    )
    with pytest.raises(ConfigParsingError, match="package"):
        Config.fromfile(child)


def test_mixing_classic_and_lazy_is_an_error(write) -> None:
    write("lazy_base.py", "from torch.optim import SGD\nopt = dict(type=SGD)\n")
    classic = write("classic.py", "_base_ = './lazy_base.py'\n")
    with pytest.raises(ConfigParsingError, match="mixed"):
        Config.fromfile(classic)
    write("classic_base.py", "_base_ = []\na = 1\n")
    lazy = write(
        "lazy.py",
        "from piston.config import read_base\nwith read_base():\n    from .classic_base import *\n",
    )
    with pytest.raises(ConfigParsingError, match="mixed"):
        Config.fromfile(lazy)


def test_only_imports_inside_read_base(write) -> None:
    child = write("child.py", "from piston.config import read_base\nwith read_base():\n    x = 1\n")
    with pytest.raises(ConfigParsingError, match="inside `with read_base"):
        Config.fromfile(child)


def test_lazy_import_flag_forces_mode(write) -> None:
    path = write("c.py", "import collections\nx = dict(a=1)\n")
    cfg = Config.fromfile(path, lazy_import=True)
    assert isinstance(cfg.x, ConfigDict)
    assert cfg.to_dict() == {"x": {"a": 1}}


def test_absolute_base_import_through_installed_package(write, tmp_path, monkeypatch) -> None:
    write("site/piston_cfgpkg/__init__.py", "")
    write("site/piston_cfgpkg/configs/__init__.py", "")
    write("site/piston_cfgpkg/configs/base.py", "lr = 0.3\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    child = write(
        "child.py",
        "from piston.config import read_base\nwith read_base():\n"
        "    from piston_cfgpkg.configs.base import *\nlr2 = lr * 2\n",
    )
    assert Config.fromfile(child).lr2 == 0.6


def test_lazy_object_and_attr() -> None:
    obj = LazyObject("torch.nn")
    attr = obj.Linear
    assert isinstance(attr, LazyAttr)
    assert str(obj) == "torch.nn"
    assert str(attr) == "torch.nn.Linear"
    assert attr.build() is torch.nn.Linear
    assert LazyObject("torch.optim", "SGD").build() is torch.optim.SGD
    assert LazyObject(["torch", "torch.nn"]).nn.Linear.build() is torch.nn.Linear
    restored = pickle.loads(pickle.dumps(attr))
    assert str(restored) == "torch.nn.Linear"
    assert str(copy.deepcopy(attr)) == "torch.nn.Linear"
    with pytest.raises(ImportError, match="Nope"):
        LazyObject("torch.optim", "Nope", location="x.py, line 1").build()
    with pytest.raises(TypeError):
        LazyObject(3)  # type: ignore[arg-type]


def test_config_dict_lazy_flag_controls_building() -> None:
    cfg = ConfigDict(type=LazyObject("torch.optim", "SGD"))
    assert cfg.type is torch.optim.SGD
    assert cfg.get("type") is torch.optim.SGD
    assert cfg.to_dict() == {"type": "torch.optim.SGD"}
    ConfigDict.lazy = True
    try:
        assert isinstance(cfg.type, LazyObject)
    finally:
        ConfigDict.lazy = False
