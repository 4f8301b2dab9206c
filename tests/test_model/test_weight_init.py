from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

from piston.model import (
    Caffe2XavierInit,
    ConstantInit,
    KaimingInit,
    NormalInit,
    PretrainedInit,
    TruncNormalInit,
    UniformInit,
    XavierInit,
    bias_init_with_prob,
    caffe2_xavier_init,
    constant_init,
    initialize,
    kaiming_init,
    normal_init,
    trunc_normal_init,
    uniform_init,
    xavier_init,
)
from piston.registry import WEIGHT_INITIALIZERS


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3)
        self.fc = nn.Linear(256, 128)
        self.bn = nn.BatchNorm1d(128)


def test_registered_names():
    expected = {
        "Constant": ConstantInit,
        "Xavier": XavierInit,
        "Normal": NormalInit,
        "TruncNormal": TruncNormalInit,
        "Uniform": UniformInit,
        "Kaiming": KaimingInit,
        "Caffe2Xavier": Caffe2XavierInit,
        "Pretrained": PretrainedInit,
    }
    for name, cls in expected.items():
        assert WEIGHT_INITIALIZERS.get(name) is cls


def test_constant_init_and_layer_selection():
    net = Net()
    ConstantInit(val=2, bias=3, layer="Linear")(net)
    assert torch.all(net.fc.weight == 2)
    assert torch.all(net.fc.bias == 3)
    assert not torch.all(net.conv.weight == 2)


def test_layer_matches_direct_base_class_name():
    class MyConv(nn.Conv2d):
        pass

    net = nn.Sequential(MyConv(1, 1, 1), nn.Linear(1, 1))
    ConstantInit(val=5, layer="Conv2d")(net)
    assert torch.all(net[0].weight == 5)
    assert not torch.all(net[1].weight == 5)


def test_no_layer_initialises_nothing():
    net = Net()
    before = net.fc.weight.clone()
    ConstantInit(val=4)(net)
    assert torch.equal(net.fc.weight, before)


def test_bias_prob_and_type_checks():
    init = ConstantInit(val=0, bias_prob=0.01, layer="Linear")
    assert init.bias == pytest.approx(bias_init_with_prob(0.01))
    assert bias_init_with_prob(0.01) == pytest.approx(-math.log(0.99 / 0.01))
    with pytest.raises(TypeError):
        ConstantInit(val=1, bias="1")
    with pytest.raises(TypeError):
        ConstantInit(val=1, bias_prob=1)
    with pytest.raises(TypeError):
        ConstantInit(val=1, layer=nn.Linear)


def _std(tensor):
    return tensor.detach().float().std().item()


def test_xavier_kaiming_and_caffe2_statistics():
    torch.manual_seed(0)
    big = nn.Linear(400, 300)
    XavierInit(gain=2, distribution="uniform", layer="Linear", bias=1)(big)
    bound = 2 * math.sqrt(6 / 700)
    assert big.weight.abs().max().item() <= bound
    assert _std(big.weight) == pytest.approx(bound / math.sqrt(3), rel=0.05)
    assert torch.all(big.bias == 1)
    XavierInit(layer="Linear")(big)  # normal
    assert _std(big.weight) == pytest.approx(math.sqrt(2 / 700), rel=0.05)
    KaimingInit(layer="Linear")(big)  # fan_out, relu, normal
    assert _std(big.weight) == pytest.approx(math.sqrt(2 / 300), rel=0.05)
    Caffe2XavierInit(layer="Linear")(big)  # uniform, fan_in, leaky_relu a=1 -> gain 1
    bound = math.sqrt(3 / 400)
    assert big.weight.abs().max().item() <= bound + 1e-6
    assert _std(big.weight) == pytest.approx(bound / math.sqrt(3), rel=0.05)


def test_normal_truncnormal_uniform():
    torch.manual_seed(0)
    big = nn.Linear(500, 400)
    NormalInit(mean=1, std=0.5, layer="Linear")(big)
    assert big.weight.mean().item() == pytest.approx(1, abs=0.01)
    assert _std(big.weight) == pytest.approx(0.5, rel=0.02)
    TruncNormalInit(mean=0, std=1, a=-0.5, b=0.5, layer="Linear")(big)
    assert big.weight.abs().max().item() <= 0.5
    UniformInit(a=2, b=3, layer="Linear", bias=-1)(big)
    assert big.weight.min().item() >= 2
    assert big.weight.max().item() <= 3
    assert torch.all(big.bias == -1)


def test_functional_helpers_skip_missing_weight_and_bias():
    no_bias = nn.Linear(3, 3, bias=False)
    for fn in (constant_init, xavier_init, normal_init, trunc_normal_init, uniform_init,
               kaiming_init, caffe2_xavier_init):  # fmt: skip
        fn(no_bias) if fn is not constant_init else fn(no_bias, 1)
        fn(nn.ReLU()) if fn is not constant_init else fn(nn.ReLU(), 1)
    constant_init(no_bias, 3)
    assert torch.all(no_bias.weight == 3)
    with pytest.raises(AssertionError):
        xavier_init(no_bias, distribution="cauchy")
    with pytest.raises(AssertionError):
        kaiming_init(no_bias, distribution="cauchy")


def test_initialize_with_override():
    net = Net()
    initialize(
        net,
        {
            "type": "Constant",
            "layer": ["Conv2d", "Linear"],
            "val": 1,
            "bias": 2,
            "override": {"type": "Constant", "name": "fc", "val": 3, "bias": 4},
        },
    )
    assert torch.all(net.conv.weight == 1)
    assert torch.all(net.conv.bias == 2)
    assert torch.all(net.fc.weight == 3)
    assert torch.all(net.fc.bias == 4)


def test_override_with_only_name_reuses_outer_cfg():
    net = Net()
    initialize(net, {"type": "Constant", "val": 7, "bias": 8, "override": {"name": "bn"}})
    assert torch.all(net.bn.weight == 7)
    assert torch.all(net.bn.bias == 8)
    assert not torch.all(net.fc.weight == 7)  # no `layer`: only the override applies


def test_initialize_list_and_errors():
    net = Net()
    initialize(
        net,
        [
            {"type": "Constant", "layer": "Conv2d", "val": 1},
            {"type": "Constant", "layer": "Linear", "val": 2},
        ],
    )
    assert torch.all(net.conv.weight == 1)
    assert torch.all(net.fc.weight == 2)
    with pytest.raises(TypeError):
        initialize(net, "Constant")
    with pytest.raises(ValueError, match="name"):
        initialize(net, {"type": "Constant", "val": 1, "override": {"type": "Constant", "val": 2}})
    with pytest.raises(ValueError, match="type"):
        initialize(net, {"type": "Constant", "val": 1, "override": {"name": "fc", "val": 2}})
    with pytest.raises(RuntimeError, match="did not have attribute"):
        initialize(net, {"type": "Constant", "val": 1, "override": {"name": "head"}})
    with pytest.raises(TypeError):
        initialize(net, {"type": "Constant", "val": 1, "override": "fc"})


def test_pretrained_init(tmp_path):
    src = Net()
    nn.init.constant_(src.fc.weight, 0.25)
    path = str(tmp_path / "ckpt.pth")
    torch.save({"state_dict": src.state_dict()}, path)
    dst = Net()
    PretrainedInit(checkpoint=path)(dst)
    assert torch.equal(dst.fc.weight, src.fc.weight)
    assert torch.equal(dst.conv.weight, src.conv.weight)

    wrapped = nn.Sequential()
    wrapped.add_module("backbone", src)
    torch.save({"state_dict": wrapped.state_dict()}, path)
    part = Net()
    PretrainedInit(checkpoint=path, prefix="backbone.")(part)
    assert torch.equal(part.fc.weight, src.fc.weight)
    with pytest.raises(AssertionError, match="head"):
        PretrainedInit(checkpoint=path, prefix="head")(part)


def test_trunc_normal_tensor_helper():
    from piston.model.weight_init import trunc_normal_

    torch.manual_seed(0)
    tensor = torch.empty(200, 50)
    assert trunc_normal_(tensor, mean=1.0, std=0.02, a=0.97, b=1.03) is tensor
    assert tensor.min().item() >= 0.97
    assert tensor.max().item() <= 1.03
    assert tensor.mean().item() == pytest.approx(1.0, abs=0.005)


def test_update_init_info_from_a_custom_init_weights(tmp_path) -> None:
    """A downstream head calls ``update_init_info`` after its own init; only changed params."""
    from piston.logging import MMLogger
    from piston.model import BaseModule, update_init_info

    class Head(BaseModule):
        def __init__(self) -> None:
            super().__init__(init_cfg=dict(type="Constant", layer="Linear", val=1, bias=0))
            self.cls = nn.Linear(2, 2)
            self.reg = nn.Linear(2, 2)

        def init_weights(self) -> None:
            super().init_weights()
            nn.init.constant_(self.reg.weight, 5.0)
            update_init_info(self, init_info="custom reg init in Head")

    class Detector(BaseModule):
        def __init__(self) -> None:
            super().__init__()
            self.head = Head()

    log_file = tmp_path / "init.log"
    MMLogger.get_instance("update_init_info_case", log_file=str(log_file))
    model = Detector()
    model.init_weights()
    assert torch.all(model.head.reg.weight == 5.0)
    assert torch.all(model.head.cls.weight == 1.0)
    text = log_file.read_text()
    assert "head.reg.weight - torch.Size([2, 2]): \ncustom reg init in Head" in text
    assert "head.cls.weight - torch.Size([2, 2]): \nConstantInit: val=1, bias=0" in text
    assert "head.reg.bias - torch.Size([2]): \nConstantInit" in text  # not changed by the step
    # records only exist during the top-level init_weights call
    with pytest.raises(AssertionError, match="_params_init_info"):
        update_init_info(model.head, init_info="outside init_weights")
