from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piston.model.efficient_conv_bn_eval import _conv_bn, turn_on_efficient_conv_bn_eval


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.bn2 = nn.BatchNorm2d(4, affine=False)
        self.conv3 = nn.Conv2d(4, 2, 1)  # output also used elsewhere: must not be fused
        self.bn3 = nn.BatchNorm2d(2)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        y = self.conv3(x)
        return self.bn3(y) + y


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Block()


def _randomise_stats(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            if module.weight is not None:
                nn.init.uniform_(module.weight, 0.5, 1.5)
                nn.init.uniform_(module.bias, -1, 1)


def test_fused_eval_matches_reference_and_backprops():
    torch.manual_seed(0)
    net = Net()
    _randomise_stats(net)
    net.eval()
    x = torch.randn(2, 3, 5, 5)
    expected = net.backbone(x)
    turn_on_efficient_conv_bn_eval(net, "backbone")
    graph = net.backbone.forward.__self__.graph
    fused = [n for n in graph.nodes if n.op == "call_function" and n.target is _conv_bn]
    assert len(fused) == 2  # conv1/bn1 and conv2/bn2; conv3's output has two users
    assert [n.target for n in graph.nodes if n.op == "call_module"] == ["conv3", "bn3"]
    out = net.backbone(x)
    assert torch.allclose(out, expected, atol=1e-5)
    out.sum().backward()
    assert net.backbone.conv1.weight.grad is not None


def test_training_mode_uses_plain_path():
    torch.manual_seed(0)
    net = Net()
    turn_on_efficient_conv_bn_eval(net, ["backbone"])
    net.train()
    before = net.backbone.bn1.running_mean.clone()
    net.backbone(torch.randn(2, 3, 5, 5))
    assert not torch.equal(before, net.backbone.bn1.running_mean)  # stats updated by bn()


def test_untraceable_module_raises_clear_error():
    class Dynamic(nn.Module):
        def forward(self, x):
            return x if x.sum() > 0 else -x

    model = nn.Module()
    model.head = Dynamic()
    with pytest.raises(RuntimeError, match="could not trace 'head'"):
        turn_on_efficient_conv_bn_eval(model, "head")
