from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from piston.analysis import (
    ActivationAnalyzer,
    FlopAnalyzer,
    activation_count,
    complexity_stats_str,
    flop_count,
    get_model_complexity_info,
    parameter_count,
    parameter_count_table,
)
from piston.analysis.print_helper import _format_size


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)  # 8x8 -> 6x6
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)
        self.unused = nn.Linear(2, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv(x))))
        return self.fc(x.flatten(1))


@pytest.fixture
def net():
    return Net().eval()


def test_flops_per_operator_and_module(net):
    analyzer = FlopAnalyzer(net, torch.randn(2, 3, 8, 8))
    conv = 2 * 36 * 4 * 3 * 9
    bn = 2 * 4 * 36 * 2
    pool = 2 * 4 * 36
    fc = 2 * 4 * 2
    assert analyzer.by_operator() == {
        "conv": conv,
        "batch_norm": bn,
        "adaptive_avg_pool2d": pool,
        "linear": fc,
    }
    assert analyzer.total() == conv + bn + pool + fc
    assert analyzer.total("conv") == conv
    assert analyzer.by_module()["fc"] == fc
    assert analyzer.uncalled_modules() == {"unused"}
    assert analyzer.unsupported_ops() == {}
    with pytest.raises(KeyError):
        analyzer.total("missing")


def test_flop_rules_for_grouped_transposed_matmul_einsum_norms():
    class Ops(nn.Module):
        def __init__(self):
            super().__init__()
            self.grouped = nn.Conv2d(4, 4, 1, groups=2)
            self.up = nn.ConvTranspose2d(4, 2, 2, stride=2)
            self.ln = nn.LayerNorm(4)
            self.gn = nn.GroupNorm(2, 4)

        def forward(self, x, a, b):
            y = self.up(self.grouped(x))
            z = torch.einsum("ij,jk->ik", a, b)
            w = torch.bmm(a[None], b[None]) + (a @ b)[None]
            n = self.ln(x.permute(0, 2, 3, 1)).sum() + self.gn(x).sum()
            u = F.interpolate(x, scale_factor=2, mode="nearest")
            return y.sum() + z.sum() + w.sum() + n + u.sum() + (x * 2).sum()

    x, a, b = torch.randn(1, 4, 3, 3), torch.randn(2, 3), torch.randn(3, 5)
    analyzer = FlopAnalyzer(Ops(), (x, a, b))
    ops = analyzer.by_operator()
    assert ops["conv"] == 1 * (4 * 2 * 1 * 1) * 9
    assert ops["conv_transpose"] == 1 * (4 * 2 * 2 * 2) * 9
    assert ops["einsum"] == 2 * 3 * 5
    assert ops["bmm"] == 2 * 3 * 5
    assert ops["matmul"] == 2 * 3 * 5
    assert ops["layer_norm"] == 36 * 5
    assert ops["group_norm"] == 36 * 5
    assert ops["upsample_nearest2d"] == 4 * 36
    assert "mul" in analyzer.unsupported_ops() or "__mul__" in analyzer.unsupported_ops()


def test_set_op_handle_overrides_and_ignores(net):
    analyzer = FlopAnalyzer(net, torch.randn(1, 3, 8, 8))
    analyzer.set_op_handle("aten::linear", lambda inputs, outputs: 1000, "batch_norm", None)
    ops = analyzer.by_operator()
    assert ops["linear"] == 1000
    assert "batch_norm" not in ops


def test_activations(net):
    analyzer = ActivationAnalyzer(net, torch.randn(1, 3, 8, 8))
    assert analyzer.by_operator() == {"conv": 4 * 36, "linear": 2}
    assert analyzer.unsupported_ops() == {}


def test_parameter_count_and_table(net):
    counts = parameter_count(net)
    assert counts[""] == sum(p.numel() for p in net.parameters())
    assert counts["conv"] == 4 * 3 * 9 + 4
    assert counts["conv.weight"] == 4 * 3 * 9
    table = parameter_count_table(net, max_depth=1)
    assert "model" in table
    assert " conv " in table
    assert "conv.weight" not in table
    assert "(4, 3, 3, 3)" in parameter_count_table(net)


def test_get_model_complexity_info(net):
    info = get_model_complexity_info(net, input_shape=(3, 8, 8))
    assert info["flops"] == FlopAnalyzer(net, torch.randn(1, 3, 8, 8)).total()
    assert info["params"] == parameter_count(net)[""]
    assert info["activations"] == 4 * 36 + 2
    assert info["flops_str"] == _format_size(info["flops"])
    assert "#flops" in info["out_table"]
    assert "Conv2d" in info["out_arch"]
    quiet = get_model_complexity_info(
        net, inputs=(torch.randn(1, 3, 8, 8),), show_table=False, show_arch=False
    )
    assert quiet["out_table"] == quiet["out_arch"] == ""
    assert quiet["flops"] == info["flops"]


def test_get_model_complexity_info_multiple_inputs():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    info = get_model_complexity_info(Two(), input_shape=((3,), (5,)))
    assert info["flops"] == 3 * 2 + 5 * 2


def test_get_model_complexity_info_argument_errors(net):
    with pytest.raises(ValueError, match="should be set"):
        get_model_complexity_info(net)
    with pytest.raises(ValueError, match="cannot be both set"):
        get_model_complexity_info(net, input_shape=(3, 8, 8), inputs=torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="tuple of int"):
        get_model_complexity_info(net, input_shape=[3, 8, 8])


def test_format_size():
    assert _format_size(12) == "12"
    assert _format_size(1234) == "1.23K"
    assert _format_size(1234567) == "1.23M"
    assert _format_size(2.5e9) == "2.5G"
    assert _format_size(3e12) == "3T"
    assert _format_size(0, hide_zero=True) == ""


def test_convenience_wrappers_and_arch_string(net):
    gflops, unsupported = flop_count(net, (torch.randn(1, 3, 8, 8),))
    assert gflops["conv"] == pytest.approx(36 * 4 * 27 / 1e9)
    assert unsupported == {}
    acts, _ = activation_count(net, (torch.randn(1, 3, 8, 8),))
    assert acts["linear"] == pytest.approx(2 / 1e6)
    text = complexity_stats_str(FlopAnalyzer(net, torch.randn(1, 3, 8, 8)))
    assert text.startswith("Net(\n  #params:")
    assert "(fc): Linear(" in text
