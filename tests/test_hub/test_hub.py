from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from piston.hub import get_config, get_model
from piston.registry import MODELS


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / "fakehub"
    _write(pkg / "__init__.py", "")
    _write(
        pkg / "registry.py",
        """
        from piston.registry import MODELS as PISTON_MODELS, Registry
        MODELS = Registry('model', parent=PISTON_MODELS, locations=['fakehub.models'])
        """,
    )
    _write(
        pkg / "models.py",
        """
        from torch import nn
        from fakehub.registry import MODELS

        @MODELS.register_module()
        class ToyModel(nn.Module):
            def __init__(self, width=2, data_preprocessor=None, extra=None):
                super().__init__()
                self.fc = nn.Linear(2, width)
                self.data_preprocessor_cfg = data_preprocessor
                self.extra = extra
        """,
    )
    _write(
        pkg / "utils.py",
        """
        def register_all_modules(init_default_scope=True):
            import fakehub.models  # noqa: F401
        """,
    )
    weights = tmp_path / "toy.pth"
    _write(pkg / ".mim" / "model-index.yml", "Import:\n  - configs/toy/metafile.yml\n")
    _write(
        pkg / ".mim" / "configs" / "toy" / "metafile.yml",
        f"""
        Models:
          - Name: toy
            Config: configs/toy/toy_cfg.py
            Weights: {weights}
          - Name: toy-again
            Config: configs/toy/toy_cfg.py
            Weights: http://invalid.invalid/other.pth
          - Name: no-config
        """,
    )
    _write(
        pkg / ".mim" / "configs" / "toy" / "toy_cfg.py",
        """
        _base_ = ['../_base_/base.py']
        model = dict(type='ToyModel', width=3)
        data_preprocessor = dict(mean=[1.0])
        """,
    )
    _write(pkg / ".mim" / "configs" / "_base_" / "base.py", "base_value = 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield pkg, weights
    MODELS.children.pop("fakehub", None)
    for name in set(sys.modules) - before:
        if name.startswith("fakehub"):
            del sys.modules[name]


def test_get_config_through_metafile(fake_package):
    _, weights = fake_package
    cfg = get_config("fakehub::toy/toy_cfg.py")
    assert cfg.model.type == "ToyModel"
    assert cfg.base_value == 7
    assert "model_path" not in cfg
    cfg = get_config("fakehub::toy/toy_cfg.py", pretrained=True)
    assert cfg.model_path == str(weights)  # the first entry wins


def test_get_config_base_config_without_metafile_entry(fake_package):
    assert get_config("fakehub::_base_/base.py").base_value == 7
    with pytest.raises(ValueError, match="Expected configs"):
        get_config("fakehub::_base_/base.py", pretrained=True)


def test_get_config_bad_path():
    with pytest.raises(ValueError, match="package::config path"):
        get_config("no_separator.py")


def test_get_model_builds_in_package_scope_and_loads_weights(fake_package):
    _, weights = fake_package
    model = get_model("fakehub::toy/toy_cfg.py", extra="kw")
    assert type(model).__module__ == "fakehub.models"
    assert model.fc.out_features == 3
    assert model.data_preprocessor_cfg == {"mean": [1.0]}
    assert model.extra == "kw"

    reference = type(model)(width=3)
    torch.save({"state_dict": reference.state_dict()}, weights)
    loaded = get_model("fakehub::toy/toy_cfg.py", pretrained=True)
    assert torch.equal(loaded.fc.weight, reference.fc.weight)
    assert loaded._is_init is True
