"""MMEngine-era import paths and private helpers that downstream code uses."""

from __future__ import annotations

import importlib

import pytest

from piston.config import Config, ConfigDict, DictAction


@pytest.mark.parametrize(
    ("module", "names"),
    [
        ("piston.config.config", ["Config", "ConfigDict", "DictAction"]),
        ("piston.fileio.backends.petrel_backend", ["PetrelBackend"]),
        ("piston.fileio.backends.lmdb_backend", ["LmdbBackend"]),
        ("piston.fileio.backends.memcached_backend", ["MemcachedBackend"]),
        ("piston.fileio.backends.local_backend", ["LocalBackend"]),
        ("piston.fileio.backends.http_backend", ["HTTPBackend"]),
        ("piston.fileio.handlers.json_handler", ["JsonHandler"]),
        ("piston.registry.root", ["MODELS", "FUNCTIONS"]),
    ],
)
def test_mmengine_module_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    for name in names:
        assert hasattr(imported, name), f"{module}.{name}"
    if module == "piston.config.config":
        assert (imported.ConfigDict, imported.DictAction) == (ConfigDict, DictAction)


def test_file2dict_returns_dict_text_and_env_variables(write, monkeypatch) -> None:
    monkeypatch.setenv("BATCH", "4")
    write("base.py", "model = dict(type='ResNet', depth=50)\n")
    child = write(
        "child.py", "_base_ = './base.py'\nmodel = dict(depth=101)\nbs = {{'$BATCH:2'}}\n"
    )
    cfg_dict, text, env = Config._file2dict(str(child))
    assert cfg_dict == {"model": {"type": "ResNet", "depth": 101}, "bs": 4}
    assert text.index("base.py") < text.index("child.py")
    assert env == {"BATCH": "4"}
