"""Audit: MMEngine-era downstream code (custom constructors, scheduler subclasses, import paths)."""

from __future__ import annotations

import importlib

import pytest
import torch
from torch import nn

from piston.optim import DefaultOptimWrapperConstructor, OptimWrapper, build_optim_wrapper
from piston.registry import (
    OPTIM_WRAPPER_CONSTRUCTORS,
    PARAM_SCHEDULERS,
    DefaultScope,
    Registry,
)
from piston.registry.build_functions import build_scheduler_from_cfg

# A downstream package's child registries (like mmdet's), created once per process.
CHILD_CONSTRUCTORS = Registry(
    "optim wrapper constructor", parent=OPTIM_WRAPPER_CONSTRUCTORS, scope="piston_audit_det"
)
CHILD_SCHEDULERS = Registry(
    "parameter scheduler", parent=PARAM_SCHEDULERS, scope="piston_audit_det"
)


class Detector(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.head = nn.Linear(4, 2)


@CHILD_CONSTRUCTORS.register_module()
class TaggingConstructor(DefaultOptimWrapperConstructor):
    """Overrides ``add_params`` with MMEngine's exact signature, as downstream constructors do."""

    def add_params(self, params, module, prefix="", is_dcn_module=None):
        start = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        for group in params[start:]:
            group.setdefault("tag", prefix or "root")


def test_custom_constructor_with_mmengine_add_params_signature_in_child_registry() -> None:
    model = Detector()
    cfg = {
        "optimizer": {"type": "SGD", "lr": 0.02, "momentum": 0.9, "weight_decay": 1e-4},
        "constructor": "TaggingConstructor",
        "paramwise_cfg": {"custom_keys": {"backbone": {"lr_mult": 0.1}}},
    }
    with DefaultScope.overwrite_default_scope("piston_audit_det"):
        wrapper = build_optim_wrapper(model, cfg)
    groups = wrapper.optimizer.param_groups
    assert len(groups) == 6
    assert [g["lr"] for g in groups] == pytest.approx([0.002] * 4 + [0.02] * 2)
    assert all("tag" in g for g in groups)


def test_custom_keys_check_still_applies_to_subclasses() -> None:
    cfg = {"optimizer": {"type": "SGD", "lr": 0.1, "weight_decay": 1e-4}}
    constructor = TaggingConstructor(cfg, {"custom_keys": {"no_such_module": {"lr_mult": 0.1}}})
    with pytest.raises(ValueError, match="no_such_module"):
        constructor(Detector())


def test_mmengine_module_paths_resolve() -> None:
    lr_mod = importlib.import_module("piston.optim.scheduler.lr_scheduler")
    mom_mod = importlib.import_module("piston.optim.scheduler.momentum_scheduler")
    param_mod = importlib.import_module("piston.optim.scheduler.param_scheduler")
    import piston.optim as optim

    for name in lr_mod.__all__:
        assert getattr(lr_mod, name) is getattr(optim, name)
    for name in mom_mod.__all__:
        assert getattr(mom_mod, name) is getattr(optim, name)
    for name in ("StepParamScheduler", "CosineAnnealingParamScheduler", "PolyParamScheduler"):
        assert getattr(param_mod, name) is getattr(optim, name)
    assert param_mod.INF == 1_000_000_000
    with pytest.raises(AttributeError):
        param_mod.NoSuchScheduler  # noqa: B018


def test_downstream_scheduler_subclass_from_mmengine_paths() -> None:
    # Written the way mmdet's quadratic warm-up is: imports from the MMEngine module paths,
    # attributes set before ``super().__init__``, its own ``build_iter_from_epoch``.
    from piston.optim.scheduler.lr_scheduler import LRSchedulerMixin
    from piston.optim.scheduler.param_scheduler import INF, _ParamScheduler

    class QuadraticWarmupParamScheduler(_ParamScheduler):
        def __init__(
            self, optimizer, param_name, begin=0, end=INF, last_step=-1, by_epoch=True,
            verbose=False,
        ):  # fmt: skip
            self.total_iters = end - begin
            super().__init__(
                optimizer=optimizer, param_name=param_name, begin=begin, end=end,
                last_step=last_step, by_epoch=by_epoch, verbose=verbose,
            )  # fmt: skip

        @classmethod
        def build_iter_from_epoch(
            cls, *args, begin=0, end=INF, by_epoch=True, epoch_length=None, **kwargs
        ):
            begin, end = begin * epoch_length, end * epoch_length
            return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

        def _get_value(self) -> list:
            if self.last_step == 0:
                return [
                    base * (2 * self.last_step + 1) / self.total_iters**2
                    for base in self.base_values
                ]
            return [
                group[self.param_name] + base * (2 * self.last_step + 1) / self.total_iters**2
                for base, group in zip(self.base_values, self.optimizer.param_groups)
            ]

    @CHILD_SCHEDULERS.register_module(force=True)
    class QuadraticWarmupLR(LRSchedulerMixin, QuadraticWarmupParamScheduler):
        pass

    model = nn.Linear(2, 2)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0))
    cfg = {"type": "QuadraticWarmupLR", "end": 2, "convert_to_iter_based": True}
    with DefaultScope.overwrite_default_scope("piston_audit_det"):
        scheduler = build_scheduler_from_cfg(
            cfg, PARAM_SCHEDULERS, {"optimizer": wrapper, "epoch_length": 2}
        )
    assert scheduler.by_epoch is False
    assert scheduler.end == 4
    lrs = []
    for _ in range(5):
        lrs.append(wrapper.get_lr()["lr"][0])
        wrapper.step()
        scheduler.step()
    # (t + 1)^2 / T^2 during warm-up, then left alone.
    assert lrs == pytest.approx([1 / 16, 4 / 16, 9 / 16, 1.0, 1.0])
