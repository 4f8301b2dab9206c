"""Registry behaviours audited against the spec that had no test: the OpenMMLab fallback for
registries without ``locations`` (``<scope>.utils.register_all_modules(False)``)."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from piston.registry import Registry
from piston.registry import registry as registry_impl


@pytest.fixture
def tmp_packages(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    packages = {path.name for path in tmp_path.iterdir()}
    for name in [name for name in sys.modules if name.split(".")[0] in packages]:
        del sys.modules[name]


@pytest.fixture
def logged(monkeypatch):
    records: list[tuple[int, str]] = []
    monkeypatch.setattr(
        registry_impl, "log", lambda msg, level=logging.INFO: records.append((level, msg))
    )
    return records


def test_openmmlab_scope_without_locations_calls_register_all_modules(tmp_packages):
    pkg = tmp_packages / "mmflow"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "registry.py").write_text(
        "from piston.registry import Registry\nMODELS = Registry('model', scope='mmflow')\n"
    )
    (pkg / "utils.py").write_text(
        textwrap.dedent(
            """\
            CALLS = []

            def register_all_modules(init_default_scope=True):
                CALLS.append(init_default_scope)
                from mmflow.registry import MODELS

                @MODELS.register_module()
                class FlowNet:
                    pass
            """
        )
    )
    from mmflow import utils
    from mmflow.registry import MODELS

    assert len(MODELS) == 0
    flow_net = MODELS.get("FlowNet")
    assert flow_net is not None
    assert flow_net.__name__ == "FlowNet"
    assert utils.CALLS == [False]
    MODELS.get("FlowNet")
    assert utils.CALLS == [False]  # once only


def test_openmmlab_scope_not_installed_warns_with_pip_name(tmp_packages, logged):
    registry = Registry("model", scope="mmrazor")
    assert registry.get("Distiller") is None
    warnings = [msg for level, msg in logged if level == logging.WARNING]
    assert any("pip install mmrazor" in msg for msg in warnings), warnings


def test_registry_with_locations_does_not_use_the_fallback(tmp_packages, logged):
    registry = Registry("model", scope="mmocr", locations=["no_such_location_pkg"])
    assert registry.get("DBNet") is None
    assert not [msg for level, msg in logged if level == logging.WARNING]
