"""Scope handling as inference scripts and libraries call it, outside a Runner.

``init_default_scope('proj')`` before building from a checkpoint's config, temporary
``DefaultScope.overwrite_default_scope``, ``switch_scope_and_registry`` from a root registry,
``_scope_`` inside a config, global-instance classes (Visualizer) built through a registry, and
the scheduler build function's ``convert_to_iter_based`` path fed by a child registry.
"""

from __future__ import annotations

import sys

import pytest
import torch

from piston.registry import (
    FUNCTIONS,
    MODELS,
    PARAM_SCHEDULERS,
    VISUALIZERS,
    DefaultScope,
    init_default_scope,
)

FILES = {
    "scopeproj/__init__.py": "",
    "scopeproj/registry.py": """
from piston.registry import MODELS as PM, PARAM_SCHEDULERS as PS, VISUALIZERS as PV, Registry
MODELS = Registry('model', parent=PM, locations=['scopeproj.models'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=PS, locations=['scopeproj.models'])
VISUALIZERS = Registry('visualizer', parent=PV, locations=['scopeproj.models'])
from piston.registry import FUNCTIONS as PF
FUNCTIONS = Registry('function', parent=PF, locations=['scopeproj.models'])
""",
    "scopeproj/models.py": """
import torch.nn as nn
from piston.visualization import Visualizer
from piston.dataset import pseudo_collate
from scopeproj.registry import FUNCTIONS, MODELS, VISUALIZERS


@FUNCTIONS.register_module()
def tagged_collate(batch, tag='none'):
    return dict(batch=pseudo_collate(batch), tag=tag)


@MODELS.register_module()
class ScopeNet(nn.Module):
    def __init__(self, width=2):
        super().__init__()
        self.fc = nn.Linear(width, 2)


@VISUALIZERS.register_module()
class ScopeVisualizer(Visualizer):
    pass
""",
}


@pytest.fixture
def scopeproj(tmp_path, monkeypatch):
    for rel, text in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] == "scopeproj"]:
        monkeypatch.delitem(sys.modules, name)
    saved = {reg: dict(reg.children) for reg in (MODELS, PARAM_SCHEDULERS, VISUALIZERS, FUNCTIONS)}
    yield tmp_path
    for reg, children in saved.items():
        reg.children.clear()
        reg.children.update(children)


def test_init_and_overwrite_default_scope(scopeproj) -> None:
    assert DefaultScope.get_current_instance() is None
    # without a default scope, an unscoped name is not found from the root
    assert MODELS.get("ScopeNet") is None
    init_default_scope("scopeproj")  # imports scopeproj.registry when building
    assert DefaultScope.get_current_instance().scope_name == "scopeproj"
    net = MODELS.build(dict(type="ScopeNet", width=3))
    assert type(net).__name__ == "ScopeNet"
    assert net.fc.in_features == 3
    with MODELS.switch_scope_and_registry(None) as registry:
        assert registry.scope == "scopeproj"
        assert registry is MODELS.children["scopeproj"]
    init_default_scope("scopeproj")  # same scope again: no new instance
    assert DefaultScope.get_current_instance().instance_name == "scopeproj"

    with DefaultScope.overwrite_default_scope("piston"):
        assert DefaultScope.get_current_instance().scope_name == "piston"
        with MODELS.switch_scope_and_registry(None) as registry:
            assert registry is MODELS
        with pytest.raises(KeyError, match="piston::model"):
            MODELS.build(dict(type="ScopeNet"))
        # `_scope_` in the cfg switches for that build only
        assert type(MODELS.build(dict(type="ScopeNet", _scope_="scopeproj"))).__name__ == "ScopeNet"
        assert DefaultScope.get_current_instance().scope_name == "piston"
    assert DefaultScope.get_current_instance().scope_name == "scopeproj"
    with DefaultScope.overwrite_default_scope(None):
        assert DefaultScope.get_current_instance().scope_name == "scopeproj"

    init_default_scope("piston")  # no instance of that name yet: created as is
    assert DefaultScope.get_current_instance().instance_name == "piston"
    init_default_scope("scopeproj")  # exists, but is not current: a fresh dated instance
    current = DefaultScope.get_current_instance()
    assert current.scope_name == "scopeproj"
    assert current.instance_name.startswith("scopeproj-")
    assert type(MODELS.build(dict(type="ScopeNet"))).__name__ == "ScopeNet"
    with pytest.raises(AssertionError, match="scope_name"):
        DefaultScope("bad", scope_name=3)


def test_global_instances_and_iter_based_schedulers(scopeproj, tmp_path) -> None:
    vis = VISUALIZERS.build(
        dict(type="scopeproj.ScopeVisualizer", name="scope_vis", save_dir=str(tmp_path / "vis"))
    )
    assert type(vis).__name__ == "ScopeVisualizer"
    assert vis.instance_name == "scope_vis"
    # built via get_instance: the same name gives the same object back
    assert VISUALIZERS.build(dict(type="scopeproj.ScopeVisualizer", name="scope_vis")) is vis
    assert type(vis).get_current_instance() is vis

    import scopeproj.registry as reg

    net = reg.MODELS.build(dict(type="ScopeNet"))
    opt = torch.optim.SGD(net.parameters(), lr=1.0)
    args = dict(optimizer=opt, epoch_length=10)
    multi = reg.PARAM_SCHEDULERS.build(
        dict(type="MultiStepLR", milestones=[1, 2], by_epoch=True, convert_to_iter_based=True),
        default_args=args,
    )
    assert type(multi).__name__ == "MultiStepLR"
    assert multi.by_epoch is False
    assert sorted(multi.milestones) == [10, 20]
    linear = PARAM_SCHEDULERS.build(
        dict(type="LinearLR", start_factor=0.5, by_epoch=True, begin=0, end=2),
        default_args=args,
    )
    assert linear.by_epoch is True
    assert linear.end == 2
    with pytest.raises(AssertionError):
        PARAM_SCHEDULERS.build(
            dict(type="LinearLR", by_epoch=False, convert_to_iter_based=True), default_args=args
        )


def test_scoped_collate_function_in_a_dataloader(scopeproj) -> None:
    from piston.runner import Runner

    dataset = [torch.tensor([float(i)]) for i in range(4)]
    loader = Runner.build_dataloader(
        dict(
            dataset=dataset,
            batch_size=2,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="scopeproj.tagged_collate", tag="scoped"),
        )
    )
    first = next(iter(loader))
    assert first["tag"] == "scoped"
    assert len(first["batch"]) == 2
    assert float(first["batch"][1]) == 1.0
    # the function registry builds by calling, with the cfg's keyword arguments
    out = FUNCTIONS.build(dict(type="scopeproj.tagged_collate", batch=[1, 2], tag="t"))
    assert out == {"batch": [1, 2], "tag": "t"}
