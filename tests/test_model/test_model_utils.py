from __future__ import annotations

import pytest
import torch
import torch.fx
import torch.nn as nn

from piston.model import merge_dict


def test_merge_dict_later_keys_win():
    assert merge_dict({"a": 1, "b": 2}, {"b": 3}, {}) == {"a": 1, "b": 3}
    with pytest.raises(AssertionError, match="dict"):
        merge_dict({"a": 1}, [("b", 2)])


def test_merge_dict_is_an_fx_leaf():
    class Head(nn.Module):
        def forward(self, x):
            return merge_dict({"a": x}, {"b": x * 2})

    graph = torch.fx.symbolic_trace(Head()).graph
    calls = [n for n in graph.nodes if n.op == "call_function" and n.target is merge_dict]
    assert len(calls) == 1
    out = torch.fx.symbolic_trace(Head())(torch.ones(1))
    assert torch.equal(out["b"], torch.full((1,), 2.0))


def test_revert_sync_batchnorm_keeps_statistics_and_qconfig() -> None:
    from piston.model import revert_sync_batchnorm

    sync = nn.SyncBatchNorm(3, eps=1e-3, momentum=0.2)
    with torch.no_grad():
        sync.weight.fill_(2.0)
        sync.bias.fill_(0.5)
        sync.running_mean.fill_(1.5)
        sync.running_var.fill_(4.0)
        sync.num_batches_tracked.fill_(7)
    sync.qconfig = "qcfg"
    sync.eval()
    bn = revert_sync_batchnorm(nn.Sequential(sync))[0]
    assert not isinstance(bn, nn.SyncBatchNorm)
    assert isinstance(bn, nn.modules.batchnorm._BatchNorm)
    assert (bn.eps, bn.momentum) == (1e-3, 0.2)
    assert torch.all(bn.running_mean == 1.5)
    assert torch.all(bn.running_var == 4.0)
    assert int(bn.num_batches_tracked) == 7
    assert torch.all(bn.weight == 2.0)
    assert torch.all(bn.bias == 0.5)
    assert bn.qconfig == "qcfg"
    assert not bn.training
    # eval mode uses the copied running statistics: (x - 1.5) / sqrt(4 + eps) * 2 + 0.5
    out = bn(torch.full((2, 3, 5), 3.5))
    assert torch.allclose(out, torch.full_like(out, 2.0 / (4.001**0.5) * 2 + 0.5))


def test_revert_sync_batchnorm_skips_children_refusing_add_module(capsys) -> None:
    from piston.model import revert_sync_batchnorm

    class Frozen(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.SyncBatchNorm(2)
            self.other = nn.Sequential(nn.SyncBatchNorm(2))

        def add_module(self, name: str, module: nn.Module | None) -> None:
            raise RuntimeError("this module cannot be modified")

    model = nn.Sequential(Frozen(), nn.SyncBatchNorm(2))
    reverted = revert_sync_batchnorm(model)
    assert not isinstance(reverted[1], nn.SyncBatchNorm)  # its sibling is still converted
    assert isinstance(reverted[0].bn, nn.SyncBatchNorm)  # refused: left as it was
    assert "Failed to convert" in capsys.readouterr().out
