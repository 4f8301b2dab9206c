"""A downstream repo's ``registry.py`` tree used directly, as library code and tools scripts do.

Two sibling projects hang child registries under piston's root ``MODELS``; one passes its own
``build_func``. The program registers aliases, forces a re-registration, resolves
``'scope.Name'`` keys across siblings, reads the rich ``repr`` table and the statistics
written by ``count_registered_modules`` / ``traverse_registry_tree``.
"""

from __future__ import annotations

import json
import sys

import pytest
import torch.nn as nn

from piston.model import Sequential
from piston.registry import (
    MODELS,
    Registry,
    build_from_cfg,
    count_registered_modules,
    traverse_registry_tree,
)

FILES = {
    "regproja/__init__.py": "",
    "regproja/registry.py": """
from piston.registry import MODELS as PISTON_MODELS, Registry, build_from_cfg

BUILT = []


def tagging_build(cfg, registry, default_args=None):
    obj = build_from_cfg(cfg, registry, default_args)
    obj.built_by = registry.scope
    BUILT.append(obj)
    return obj


MODELS = Registry('model', parent=PISTON_MODELS, locations=['regproja.models'])
HEADS = Registry('head', build_func=tagging_build, scope='regproja_heads')
""",
    "regproja/models.py": """
import torch.nn as nn
from regproja.registry import MODELS, HEADS


@MODELS.register_module(name=['ResNetA', 'ResA'])
class ResNetA(nn.Module):
    def __init__(self, depth=18, in_dim=4):
        super().__init__()
        self.depth = depth
        self.fc = nn.Linear(in_dim, 2)


@HEADS.register_module()
class ClsHead(nn.Module):
    def __init__(self, num_classes=2):
        super().__init__()
        self.num_classes = num_classes
""",
    "regprojb/__init__.py": "",
    "regprojb/registry.py": """
from piston.registry import MODELS as PISTON_MODELS, Registry
MODELS = Registry('model', parent=PISTON_MODELS, locations=['regprojb.models'])
""",
    "regprojb/models.py": """
import torch.nn as nn
from regprojb.registry import MODELS


@MODELS.register_module()
class NeckB(nn.Module):
    def __init__(self, channels=(1, 2)):
        super().__init__()
        self.channels = channels
""",
}


@pytest.fixture
def projects(tmp_path, monkeypatch):
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] in ("regproja", "regprojb")]:
        monkeypatch.delitem(sys.modules, name)
    saved = dict(MODELS.children)
    yield tmp_path
    MODELS.children.clear()
    MODELS.children.update(saved)


def test_child_registries_and_custom_build_func(projects) -> None:
    import regproja.registry as ra
    import regprojb.registry as rb

    assert ra.MODELS.scope == "regproja"
    assert rb.MODELS.scope == "regprojb"
    assert ra.MODELS.parent is MODELS
    assert ra.MODELS.root is MODELS
    assert ra.MODELS.build_func is MODELS.build_func  # inherited build_model_from_cfg
    assert MODELS.children["regproja"] is ra.MODELS
    # locations are imported lazily, on the first get()
    assert "regproja.models" not in sys.modules
    cls = ra.MODELS.get("ResA")
    assert "regproja.models" in sys.modules
    assert cls is ra.MODELS.get("ResNetA")
    assert len(ra.MODELS) == 2
    assert "ResA" in ra.MODELS
    assert "Missing" not in ra.MODELS
    # siblings and the root resolve 'scope.Name'
    neck_cls = ra.MODELS.get("regprojb.NeckB")
    assert neck_cls is not None
    assert neck_cls.__name__ == "NeckB"
    assert rb.MODELS.get("regproja.ResA") is cls
    assert MODELS.get("regproja.ResNetA") is cls
    # parent fallback for unscoped keys
    assert rb.MODELS.get("ExponentialMovingAverage") is MODELS.get("ExponentialMovingAverage")

    # default_args fill in, cfg wins; a list of cfgs becomes a piston Sequential
    net = ra.MODELS.build(dict(type="ResA", depth=50), default_args=dict(depth=34, in_dim=3))
    assert net.depth == 50
    assert net.fc.in_features == 3
    seq = MODELS.build([dict(type="regproja.ResA"), dict(type="regprojb.NeckB", channels=[3])])
    assert isinstance(seq, Sequential)
    assert len(seq) == 2
    assert seq[1].channels == [3]

    # custom build_func receives the registry
    head = ra.HEADS.build(dict(type="ClsHead", num_classes=5))
    assert head.built_by == "regproja_heads"
    assert head.num_classes == 5
    assert [head] == ra.BUILT

    # duplicate names, force and argument checking
    with pytest.raises(KeyError, match="ResNetA is already registered in model"):
        ra.MODELS.register_module(name="ResNetA", module=nn.Linear)
    ra.MODELS.register_module(name="ResNetA", force=True, module=nn.Linear)
    assert ra.MODELS.get("ResNetA") is nn.Linear
    assert ra.MODELS.get("ResA") is cls
    with pytest.raises(TypeError):
        ra.MODELS.register_module(force=1)
    with pytest.raises(TypeError):
        ra.MODELS.register_module(name=3)
    with pytest.raises(AssertionError):
        Registry("model", parent=MODELS, scope="regproja")

    # unknown types name scope::registry and a close match
    with pytest.raises(KeyError) as err:
        MODELS.build(dict(type="ResNetAA", _scope_="regproja"))
    assert "regproja::model" in str(err.value)
    assert "ResNetA" in str(err.value)
    with pytest.raises(TypeError, match="unexpected keyword"):
        ra.MODELS.build(dict(type="ResA", bogus=1))
    with pytest.raises(KeyError, match="type"):
        ra.MODELS.build(dict(depth=1))
    # dotted import paths and classes pass through
    assert MODELS.get("torch.nn.ReLU") is nn.ReLU
    assert isinstance(MODELS.build(dict(type=nn.ReLU)), nn.ReLU)


def test_repr_table_and_statistics(projects, tmp_path) -> None:
    import regproja.registry as ra

    ra.MODELS.get("ResA")  # triggers the lazy import
    text = repr(ra.MODELS)
    assert "Registry of model" in text
    assert "Names" in text
    assert "Objects" in text
    assert "ResA" in text
    assert "regproja.models.ResNetA" in text

    tree = traverse_registry_tree(ra.MODELS, verbose=False)
    by_scope = {item["scope"]: item for item in tree}
    assert tree[0]["scope"] == "piston"  # DFS starts at the root
    assert by_scope["regproja"]["num_modules"] == 2
    assert by_scope["regproja"]["regproja"] == ["ResNetA", "ResA"]

    out = tmp_path / "stats"
    out.mkdir()
    result = count_registered_modules(str(out), verbose=False)
    saved = json.loads((out / "modules_statistic_results.json").read_text())
    assert saved == json.loads(json.dumps(result))
    assert set(result) == {"scan_date", "registries"}
    assert {"MODELS", "HOOKS", "OPTIMIZERS", "FUNCTIONS"} <= set(result["registries"])
    assert len(result["scan_date"]) == len("2024-01-01 00:00:00")


def test_functions_registry_calls_the_function() -> None:
    from piston.registry import FUNCTIONS

    def scale_collate(batch, factor=1):
        return [b * factor for b in batch]

    FUNCTIONS.register_module(module=scale_collate, force=True)
    try:
        assert FUNCTIONS.get("scale_collate") is scale_collate
        assert FUNCTIONS.build(dict(type="scale_collate", batch=[1, 2], factor=3)) == [3, 6]
        assert FUNCTIONS.get("default_collate") is not None
        assert build_from_cfg(dict(batch=[2]), FUNCTIONS, dict(type="scale_collate")) == [2]
    finally:
        FUNCTIONS.module_dict.pop("scale_collate")
