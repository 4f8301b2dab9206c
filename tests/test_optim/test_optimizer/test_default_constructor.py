"""DefaultOptimWrapperConstructor: validation and every paramwise_cfg rule."""

from __future__ import annotations

import sys
import types

import pytest
import torch
from torch import nn

import piston.optim.optimizer.default_constructor as constructor_module
from piston.optim import DefaultOptimWrapperConstructor

BASE_LR, BASE_WD = 0.01, 1e-4


class SubModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(4, 2, 1, groups=2)
        self.gn = nn.GroupNorm(2, 2)


class ExampleModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.param1 = nn.Parameter(torch.ones(1))
        self.conv1 = nn.Conv2d(3, 4, 1, bias=False)
        self.conv2 = nn.Conv2d(4, 2, 1)
        self.bn = nn.BatchNorm2d(2)
        self.sub = SubModel()
        self.dwconv = nn.Conv2d(2, 2, 3, groups=2)
        self.ln = nn.LayerNorm(2)


NAMES = [
    "param1",
    "conv1.weight",
    "conv2.weight",
    "conv2.bias",
    "bn.weight",
    "bn.bias",
    "sub.param1",
    "sub.conv1.weight",
    "sub.conv1.bias",
    "sub.gn.weight",
    "sub.gn.bias",
    "dwconv.weight",
    "dwconv.bias",
    "ln.weight",
    "ln.bias",
]


@pytest.fixture
def logs(monkeypatch) -> list[str]:
    messages: list[str] = []
    monkeypatch.setattr(
        constructor_module, "print_log", lambda msg, *a, **k: messages.append(str(msg))
    )
    return messages


def _build(model: nn.Module, paramwise_cfg: dict | None, **optimizer):
    optimizer = {
        "type": "SGD",
        "lr": BASE_LR,
        "weight_decay": BASE_WD,
        "momentum": 0.9,
        **optimizer,
    }
    constructor = DefaultOptimWrapperConstructor({"optimizer": optimizer}, paramwise_cfg)
    return constructor(model)


def _by_name(model: nn.Module, wrapper) -> dict[str, dict]:
    ids = {id(p): name for name, p in model.named_parameters()}
    groups = {}
    for group in wrapper.optimizer.param_groups:
        assert len(group["params"]) == 1
        groups[ids[id(group["params"][0])]] = group
    return groups


def test_without_paramwise_cfg_uses_model_parameters() -> None:
    model = ExampleModel()
    wrapper = _build(model, None)
    assert len(wrapper.optimizer.param_groups) == 1
    assert wrapper.optimizer.param_groups[0]["params"] == list(model.parameters())


def test_decay_and_lr_rules_with_precedence(logs) -> None:
    model = ExampleModel()
    cfg = {
        "bias_lr_mult": 2.0,
        "bias_decay_mult": 0.5,
        "norm_decay_mult": 0.0,
        "dwconv_decay_mult": 0.1,
        "flat_decay_mult": 0.3,
    }
    groups = _by_name(model, _build(model, cfg))
    assert list(groups) == NAMES  # one group per parameter, in traversal order
    lr, wd = BASE_LR, BASE_WD
    expected = {
        "param1": (lr, wd * 0.3),
        "conv1.weight": (lr, wd),
        "conv2.weight": (lr, wd),
        "conv2.bias": (lr * 2, wd * 0.5),
        "bn.weight": (lr, 0.0),
        "bn.bias": (lr, 0.0),  # norm layers keep their lr and take the norm decay
        "sub.param1": (lr, wd * 0.3),
        "sub.conv1.weight": (lr, wd),  # groups=2 != in_channels=4: not depthwise
        "sub.conv1.bias": (lr * 2, wd * 0.5),
        "sub.gn.weight": (lr, 0.0),
        "sub.gn.bias": (lr, 0.0),
        "dwconv.weight": (lr, wd * 0.1),
        "dwconv.bias": (lr * 2, wd * 0.5),  # bias before depthwise
        "ln.weight": (lr, 0.0),
        "ln.bias": (lr, 0.0),
    }
    for name, (exp_lr, exp_wd) in expected.items():
        assert groups[name]["lr"] == pytest.approx(exp_lr), name
        assert groups[name]["weight_decay"] == pytest.approx(exp_wd), name
    assert "paramwise_options -- conv2.bias:lr=0.02" in logs
    assert "paramwise_options -- bn.weight:weight_decay=0.0" in logs
    assert not any(m.startswith("paramwise_options -- conv1.weight") for m in logs)


def test_custom_keys_longest_then_alphabetical_and_options_copied(logs) -> None:
    model = ExampleModel()
    cfg = {
        "custom_keys": {
            "conv": {"lr_mult": 3.0},
            "conv2": {"lr_mult": 5.0, "decay_mult": 0.0, "momentum": 0.5},
            "sub.": {"lr_mult": 7.0},
            "param1": {"decay_mult": 2.0},
        },
        "norm_decay_mult": 0.0,
        "bias_lr_mult": 10.0,
    }
    groups = _by_name(model, _build(model, cfg))
    assert groups["conv1.weight"]["lr"] == pytest.approx(BASE_LR * 3)
    conv2_bias = groups["conv2.bias"]
    assert conv2_bias["lr"] == pytest.approx(BASE_LR * 5)  # custom keys skip the bias rule
    assert conv2_bias["weight_decay"] == 0.0
    assert conv2_bias["momentum"] == 0.5
    assert conv2_bias["lr_mult"] == 5.0
    assert conv2_bias["decay_mult"] == 0.0
    # 'conv' and 'sub.' have the same length: alphabetical order decides.
    assert groups["sub.conv1.weight"]["lr"] == pytest.approx(BASE_LR * 3)
    assert groups["sub.gn.weight"]["lr"] == pytest.approx(BASE_LR * 7)
    assert groups["sub.gn.weight"]["weight_decay"] == pytest.approx(BASE_WD)  # no norm rule
    # 'param1' is longer than 'sub.', so it wins for sub.param1.
    assert groups["sub.param1"]["lr"] == pytest.approx(BASE_LR)
    assert groups["sub.param1"]["weight_decay"] == pytest.approx(BASE_WD * 2)
    assert groups["param1"]["weight_decay"] == pytest.approx(BASE_WD * 2)
    assert groups["bn.weight"]["weight_decay"] == 0.0
    assert groups["conv2.weight"]["momentum"] == 0.5
    assert groups["ln.bias"]["momentum"] == 0.9
    assert "paramwise_options -- conv2.bias:momentum=0.5" in logs


def test_custom_key_matching_nothing() -> None:
    model = ExampleModel()
    with pytest.raises(ValueError, match=r"\['backbone'\] match no parameter"):
        _build(model, {"custom_keys": {"backbone": {"lr_mult": 0.1}}})


def test_custom_key_matching_nothing_warns_when_others_match(logs) -> None:
    model = ExampleModel()
    _build(model, {"custom_keys": {"conv": {"lr_mult": 2.0}, "absent_embed": {"decay_mult": 0}}})
    assert any("['absent_embed'] match no parameter" in m for m in logs)


def test_frozen_parameters_are_skipped_with_warning(logs) -> None:
    model = ExampleModel()
    model.conv1.weight.requires_grad = False
    groups = _by_name(model, _build(model, {"bias_lr_mult": 2.0}))
    assert "conv1.weight" not in groups
    assert len(groups) == len(NAMES) - 1
    assert any("conv1.weight" in m and "requires_grad" in m for m in logs)


def test_bypass_duplicate(logs) -> None:
    model = nn.Module()
    model.a, model.b, model.c = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 1)
    model.b.weight = model.a.weight  # tied weights: one parameter owned by two modules
    with pytest.raises(ValueError, match="more than one parameter group"):
        _build(model, {"bias_lr_mult": 2.0})
    wrapper = _build(model, {"bias_lr_mult": 2.0, "bypass_duplicate": True})
    assert len(wrapper.optimizer.param_groups) == 5
    assert any("b.weight is duplicate" in m for m in logs)


def test_dcn_offset_lr_mult(monkeypatch) -> None:
    class DeformConv2d(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2, 2))
            self.conv_offset = nn.Conv2d(2, 2, 1)

    ops = types.ModuleType("mmcv.ops")
    ops.DeformConv2d = DeformConv2d
    monkeypatch.setitem(sys.modules, "mmcv.ops", ops)
    model = nn.Module()
    model.dcn = DeformConv2d()
    model.fc = nn.Linear(2, 1)
    cfg = {"dcn_offset_lr_mult": 0.1, "bias_lr_mult": 2.0, "flat_decay_mult": 0.0}
    groups = _by_name(model, _build(model, cfg))
    assert groups["dcn.conv_offset.weight"]["lr"] == pytest.approx(BASE_LR * 0.1)
    assert groups["dcn.conv_offset.bias"]["lr"] == pytest.approx(BASE_LR * 0.1)
    assert groups["dcn.conv_offset.bias"]["weight_decay"] == pytest.approx(BASE_WD)
    assert groups["dcn.weight"]["lr"] == pytest.approx(BASE_LR)
    assert groups["fc.bias"]["lr"] == pytest.approx(BASE_LR * 2)
    assert groups["fc.bias"]["weight_decay"] == 0.0


def test_validation_errors() -> None:
    with pytest.raises(TypeError, match="should be a dict"):
        DefaultOptimWrapperConstructor([("optimizer", {})])
    with pytest.raises(AssertionError, match='"optimizer"'):
        DefaultOptimWrapperConstructor({"type": "OptimWrapper"})
    optimizer = {"type": "SGD", "lr": 0.1}
    with pytest.raises(TypeError, match="paramwise_cfg"):
        DefaultOptimWrapperConstructor({"optimizer": optimizer}, ["bias_lr_mult"])
    with pytest.raises(TypeError, match="custom_keys"):
        DefaultOptimWrapperConstructor({"optimizer": optimizer}, {"custom_keys": [("a", {})]})
    with pytest.raises(ValueError, match="base_wd should not be None"):
        DefaultOptimWrapperConstructor(
            {"optimizer": optimizer}, {"custom_keys": {"a": {"decay_mult": 0.0}}}
        )
    for key in ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult"):
        with pytest.raises(ValueError, match=key):
            DefaultOptimWrapperConstructor({"optimizer": optimizer}, {key: 0.0})
    # lr multipliers need no weight decay
    DefaultOptimWrapperConstructor({"optimizer": optimizer}, {"bias_lr_mult": 2.0})
