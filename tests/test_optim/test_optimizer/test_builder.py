"""Optimizer registration and build_optim_wrapper."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch
from torch import nn

import piston.optim.optimizer.builder as builder_module
from piston.optim import (
    AmpOptimWrapper,
    DefaultOptimWrapperConstructor,
    OptimWrapper,
    OptimWrapperDict,
    build_optim_wrapper,
)
from piston.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS


def test_every_torch_optimizer_is_registered() -> None:
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if isinstance(obj, type) and issubclass(obj, torch.optim.Optimizer):
            registered = "TorchAdafactor" if name == "Adafactor" else name
            assert OPTIMIZERS.get(registered) is obj, registered
    if hasattr(torch.optim, "Adafactor"):
        assert OPTIMIZERS.module_dict.get("Adafactor") is not torch.optim.Adafactor


def test_import_does_not_load_torch_distributed_optim() -> None:
    code = "import sys, piston.optim; print('torch.distributed.optim' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "False"


def test_build_optim_wrapper_defaults_and_options() -> None:
    model = nn.Linear(3, 1)
    cfg = {
        "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9},
        "clip_grad": {"max_norm": 1.0},
        "accumulative_counts": 2,
    }
    wrapper = build_optim_wrapper(model, cfg)
    assert type(wrapper) is OptimWrapper
    assert isinstance(wrapper.optimizer, torch.optim.SGD)
    assert wrapper._accumulative_counts == 2
    assert wrapper.clip_grad_kwargs == {"max_norm": 1.0}
    assert wrapper.optimizer.param_groups[0]["params"] == list(model.parameters())
    assert cfg["optimizer"] == {"type": "SGD", "lr": 0.01, "momentum": 0.9}  # not modified


def test_build_optim_wrapper_with_class_types_and_wrapped_model() -> None:
    class Wrapped(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = nn.Linear(2, 2)

    model = Wrapped()
    wrapper = build_optim_wrapper(
        model,
        {"type": OptimWrapper, "optimizer": {"type": torch.optim.AdamW, "lr": 1e-3}},
    )
    assert isinstance(wrapper.optimizer, torch.optim.AdamW)
    assert wrapper.get_lr() == {"lr": [1e-3]}


def test_amp_wrapper_from_config(monkeypatch) -> None:
    import piston.optim.optimizer.amp_optimizer_wrapper as amp_module

    monkeypatch.setattr(amp_module, "_resolve_device", lambda: "cpu")
    wrapper = build_optim_wrapper(
        nn.Linear(2, 2),
        {"type": "AmpOptimWrapper", "dtype": "bfloat16", "optimizer": {"type": "SGD", "lr": 0.1}},
    )
    assert isinstance(wrapper, AmpOptimWrapper)
    assert wrapper.cast_dtype is torch.bfloat16


def test_npu_without_full_precision_forces_amp_wrapper(monkeypatch) -> None:
    import piston.device
    import piston.optim.optimizer.amp_optimizer_wrapper as amp_module

    monkeypatch.setattr(amp_module, "_resolve_device", lambda: "cpu")
    monkeypatch.setattr(piston.device, "is_npu_available", lambda: True)
    monkeypatch.setattr(piston.device, "is_npu_support_full_precision", lambda: False)
    cfg = {"type": "OptimWrapper", "optimizer": {"type": "SGD", "lr": 0.1}}
    # The builder switches to AmpOptimWrapper, which (no real NPU here) refuses to run.
    with pytest.raises(AssertionError, match="AmpOptimWrapper requires an accelerator"):
        build_optim_wrapper(nn.Linear(2, 2), cfg)
    assert cfg["type"] == "OptimWrapper"  # the input is not modified
    monkeypatch.setattr(piston.device, "is_npu_support_full_precision", lambda: True)
    assert type(build_optim_wrapper(nn.Linear(2, 2), cfg)) is OptimWrapper


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("Lion", "lion-pytorch"),
        ("DAdaptAdam", "dadaptation"),
        ("SophiaG", "Sophia-Optimizer"),
        ("Adam8bit", "bitsandbytes"),
        ("bnb_AdamW", "bitsandbytes"),
        ("Adafactor", "transformers"),
    ],
)
def test_missing_optional_optimizer_names_its_package(monkeypatch, name, package) -> None:
    # As on a machine without the package: the name is not registered.
    monkeypatch.delitem(OPTIMIZERS.module_dict, name, raising=False)
    with pytest.raises(KeyError, match=f"pip install {package}"):
        build_optim_wrapper(nn.Linear(2, 2), {"optimizer": {"type": name, "lr": 0.1}})
    assert builder_module.optional_optimizer_hint("SDG") is None
    assert builder_module.optional_optimizer_hint("SGD") is None


def test_unknown_optimizer_lists_closest_names() -> None:
    with pytest.raises(KeyError, match="SGD"):
        build_optim_wrapper(nn.Linear(2, 2), {"optimizer": {"type": "SDG", "lr": 0.1}})
    with pytest.raises(KeyError, match="AdamW"):
        build_optim_wrapper(
            nn.Linear(2, 2),
            {"optimizer": {"type": "AdamWW", "lr": 0.1}, "paramwise_cfg": {"bias_lr_mult": 2}},
        )


def test_optimizer_whose_first_argument_is_not_params() -> None:
    class NamedParams(torch.optim.SGD):
        def __init__(self, model_params, lr: float = 0.1) -> None:
            super().__init__(model_params, lr=lr)

    wrapper = build_optim_wrapper(nn.Linear(2, 2), {"optimizer": {"type": NamedParams}})
    assert len(wrapper.optimizer.param_groups[0]["params"]) == 2


class _GanConstructor:
    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        self.cfg = optim_wrapper_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        return OptimWrapperDict(
            **{
                name: DefaultOptimWrapperConstructor(self.cfg[name])(getattr(model, name))
                for name in ("gen", "disc")
            }
        )


def test_custom_constructor_returns_optim_wrapper_dict() -> None:
    model = nn.Module()
    model.gen, model.disc = nn.Linear(2, 2), nn.Linear(2, 1)
    wrappers = build_optim_wrapper(
        model,
        {
            "constructor": _GanConstructor,
            "gen": {"optimizer": {"type": "Adam", "lr": 2e-4}},
            "disc": {"optimizer": {"type": "SGD", "lr": 1e-3}},
        },
    )
    assert isinstance(wrappers, OptimWrapperDict)
    assert wrappers.get_lr() == {"gen.lr": [2e-4], "disc.lr": [1e-3]}
    assert OPTIM_WRAPPER_CONSTRUCTORS.get("DefaultOptimWrapperConstructor") is (
        DefaultOptimWrapperConstructor
    )


def test_optional_optimizers_register_lazily(monkeypatch) -> None:
    fake = types.ModuleType("lion_pytorch")

    class Lion(torch.optim.SGD):
        pass

    fake.Lion = Lion
    installed = {"lion_pytorch"}
    monkeypatch.setattr(builder_module, "_installed", lambda name: name in installed)
    monkeypatch.delitem(OPTIMIZERS.module_dict, "Lion", raising=False)
    try:
        names = builder_module.register_optional_optimizers()
        assert names == ["Lion"]
        assert "lion_pytorch" not in sys.modules  # nothing imported yet
        monkeypatch.setitem(sys.modules, "lion_pytorch", fake)
        wrapper = build_optim_wrapper(nn.Linear(2, 2), {"optimizer": {"type": "Lion", "lr": 0.1}})
        assert type(wrapper.optimizer) is Lion
    finally:
        OPTIMIZERS.module_dict.pop("Lion", None)


def test_bitsandbytes_names_are_prefixed_on_collision(monkeypatch) -> None:
    monkeypatch.setattr(builder_module, "_installed", lambda name: name == "bitsandbytes")
    try:
        names = builder_module.register_optional_optimizers()
        assert "bnb_SGD" in names
        assert "Adam8bit" in names
        assert OPTIMIZERS.get("SGD") is torch.optim.SGD
    finally:
        for name in names:
            OPTIMIZERS.module_dict.pop(name, None)


def test_optimizers_build_directly_also_names_the_missing_package(monkeypatch) -> None:
    # ``OPTIMIZERS.build`` (no optimizer-wrapper constructor in between) gives the same hint.
    monkeypatch.delitem(OPTIMIZERS.module_dict, "Lion", raising=False)
    params = nn.Linear(2, 2).parameters()
    with pytest.raises(KeyError, match="pip install lion-pytorch"):
        OPTIMIZERS.build(dict(type="Lion", params=params, lr=0.1))
    with pytest.raises(KeyError, match="SGD"):  # unknown names keep the registry's message
        OPTIMIZERS.build(dict(type="SDG", params=nn.Linear(2, 2).parameters(), lr=0.1))
