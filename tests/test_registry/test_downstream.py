"""A downstream library (mmdet-style) on top of the real piston root registries.

The package ``audit_det`` below is written the way OpenMMLab packages write theirs: child
registries created with ``parent=<piston root>`` and ``locations=[...]``, scope inferred from the
package name, classes registered with ``@MODELS.register_module()``.
"""

from __future__ import annotations

import sys
import textwrap

import pytest
import torch
from torch import nn

import piston.registry as piston_registry
from piston.registry import DefaultScope, init_default_scope

SCOPE = "audit_det"
_ROOTS = ("MODELS", "HOOKS", "OPTIM_WRAPPERS", "OPTIMIZERS", "PARAM_SCHEDULERS", "FUNCTIONS")

_REGISTRY_PY = """
from piston.registry import FUNCTIONS as PISTON_FUNCTIONS
from piston.registry import HOOKS as PISTON_HOOKS
from piston.registry import MODELS as PISTON_MODELS
from piston.registry import OPTIM_WRAPPERS as PISTON_OPTIM_WRAPPERS
from piston.registry import OPTIMIZERS as PISTON_OPTIMIZERS
from piston.registry import PARAM_SCHEDULERS as PISTON_PARAM_SCHEDULERS
from piston.registry import Registry

MODELS = Registry('model', parent=PISTON_MODELS, locations=['audit_det.models'])
HOOKS = Registry('hook', parent=PISTON_HOOKS, locations=['audit_det.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper', parent=PISTON_OPTIM_WRAPPERS, locations=['audit_det.engine'])
OPTIMIZERS = Registry('optimizer', parent=PISTON_OPTIMIZERS, locations=['audit_det.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=PISTON_PARAM_SCHEDULERS, locations=['audit_det.engine'])
FUNCTIONS = Registry('function', parent=PISTON_FUNCTIONS, locations=['audit_det.models'])
"""

_MODELS_PY = """
from torch import nn

from audit_det.registry import FUNCTIONS, MODELS


@MODELS.register_module()
class RetinaNet(nn.Module):
    def __init__(self, depth=50, backbone=None):
        super().__init__()
        self.depth = depth
        self.backbone = MODELS.build(backbone) if backbone is not None else None
        self.head = nn.Linear(2, 2)


@MODELS.register_module(name=['ResNet', 'ResNetAlias'])
class ResNet(nn.Module):
    def __init__(self, depth=18):
        super().__init__()
        self.depth = depth


@FUNCTIONS.register_module()
def det_collate(batch):
    return ('collated', len(batch))
"""


@pytest.fixture
def audit_det(tmp_path, monkeypatch):
    """Write the package, and afterwards unload it and detach its registries from the roots."""
    pkg = tmp_path / SCOPE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "registry.py").write_text(textwrap.dedent(_REGISTRY_PY))
    (pkg / "models.py").write_text(textwrap.dedent(_MODELS_PY))
    (pkg / "engine.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for root in _ROOTS:
        getattr(piston_registry, root).children.pop(SCOPE, None)
    for name in [name for name in sys.modules if name.split(".")[0] == SCOPE]:
        del sys.modules[name]


def test_scoped_type_imports_the_package_registry_on_demand(audit_det):
    assert f"{SCOPE}.registry" not in sys.modules
    model = piston_registry.MODELS.build({"type": f"{SCOPE}.RetinaNet", "depth": 101})
    assert type(model).__module__ == f"{SCOPE}.models"
    assert model.depth == 101
    det = sys.modules[f"{SCOPE}.registry"]
    assert det.MODELS.scope == SCOPE  # inferred from the package that created it
    assert det.MODELS.parent is piston_registry.MODELS
    assert piston_registry.MODELS.children[SCOPE] is det.MODELS
    assert det.MODELS.build_func is piston_registry.build_model_from_cfg
    assert "ResNetAlias" in det.MODELS
    assert det.MODELS.get("ResNetAlias") is det.MODELS.get("ResNet")
    assert len(det.MODELS) == 3  # RetinaNet, ResNet and its alias
    # `<scope>.Name` also works from a sibling root's child and from the child itself.
    assert det.MODELS.get(f"{SCOPE}.ResNet") is det.MODELS.get("ResNet")
    assert piston_registry.MODELS.get("ResNet") is None  # roots do not look into children


def test_child_registries_build_piston_root_types(audit_det):
    import audit_det.registry as det

    model = det.MODELS.build({"type": "RetinaNet", "backbone": {"type": "ResNet", "depth": 34}})
    assert model.backbone.depth == 34
    optimizer = det.OPTIMIZERS.build({"type": "SGD", "params": model.parameters(), "lr": 0.1})
    assert isinstance(optimizer, torch.optim.SGD)
    optimizer = det.OPTIMIZERS.build(
        {"type": "torch.optim.Adam", "params": model.parameters(), "lr": 0.1}
    )
    assert isinstance(optimizer, torch.optim.Adam)
    wrapper = det.OPTIM_WRAPPERS.build({"type": "OptimWrapper", "optimizer": optimizer})
    assert type(wrapper).__name__ == "OptimWrapper"
    assert type(wrapper).__module__.startswith("piston.optim")
    hook = det.HOOKS.build({"type": "CheckpointHook", "interval": 2})
    assert type(hook).__module__.startswith("piston.hooks")
    assert hook.interval == 2
    # The child inherits the scheduler build function (default_args carry optimizer/epoch_length).
    scheduler = det.PARAM_SCHEDULERS.build(
        {"type": "MultiStepLR", "milestones": [1]},
        default_args={"optimizer": wrapper, "epoch_length": 10},
    )
    assert type(scheduler).__name__ == "MultiStepLR"
    ema = det.MODELS.build({"type": "ExponentialMovingAverage", "model": model})
    assert type(ema).__module__.startswith("piston.model")
    # A root type named with the root scope from the child.
    assert det.HOOKS.get("piston.CheckpointHook") is type(hook)
    # A list of model configs through the child: the inherited build_model_from_cfg.
    seq = det.MODELS.build(
        [{"type": "ResNet"}, {"type": "piston.ExponentialMovingAverage", "model": nn.Linear(1, 1)}]
    )
    assert type(seq).__name__ == "Sequential"
    with pytest.raises(KeyError, match=f"NoSuchNet is not in the {SCOPE}::model registry"):
        det.MODELS.build({"type": "NoSuchNet"})


def test_default_scope_routes_root_builds_to_the_child(audit_det):
    import audit_det.registry as det

    with pytest.raises(KeyError, match="piston::model"):
        piston_registry.MODELS.build({"type": "RetinaNet"})
    DefaultScope.get_instance(SCOPE, scope_name=SCOPE)
    model = piston_registry.MODELS.build({"type": "RetinaNet"})
    assert type(model) is det.MODELS.get("RetinaNet")
    # Root types still resolve through the child's parent while the default scope is the child's.
    hook = piston_registry.HOOKS.build({"type": "CheckpointHook"})
    assert type(hook).__module__.startswith("piston.hooks")
    assert piston_registry.FUNCTIONS.build({"type": "det_collate", "batch": [1, 2]}) == (
        "collated",
        2,
    )
    with piston_registry.MODELS.switch_scope_and_registry(None) as registry:
        assert registry is det.MODELS


def test_init_default_scope_and_switch_scope(audit_det):
    import audit_det.registry as det

    init_default_scope("piston")
    with piston_registry.MODELS.switch_scope_and_registry(SCOPE) as registry:
        assert registry is det.MODELS
        assert DefaultScope.get_current_instance().scope_name == SCOPE
    assert DefaultScope.get_current_instance().scope_name == "piston"
    model = piston_registry.MODELS.build({"type": "ResNet", "_scope_": SCOPE})
    assert type(model) is det.MODELS.get("ResNet")
    init_default_scope(SCOPE)
    assert DefaultScope.get_current_instance().instance_name == SCOPE
    assert type(piston_registry.MODELS.build({"type": "ResNet"})) is det.MODELS.get("ResNet")
    # Back to piston: the 'piston' instance exists but is not current -> new timestamped one.
    init_default_scope("piston")
    current = DefaultScope.get_current_instance()
    assert current.scope_name == "piston"
    assert current.instance_name.startswith("piston-")
    with pytest.raises(KeyError, match="piston::model"):
        piston_registry.MODELS.build({"type": "ResNet"})


def test_register_module_call_form_with_force_replaces(audit_det):
    import audit_det.registry as det

    det.MODELS.get("ResNet")  # import the locations first, as a real build would

    class ResNet(nn.Module):
        marker = "replacement"

    with pytest.raises(KeyError, match=f"ResNet is already registered in model at {SCOPE}.models"):
        det.MODELS.register_module(module=ResNet)
    assert det.MODELS.register_module(module=ResNet, force=True) is ResNet
    assert det.MODELS.build({"type": "ResNet"}).marker == "replacement"
    assert det.MODELS.get("ResNetAlias") is not ResNet  # only the given name is replaced
