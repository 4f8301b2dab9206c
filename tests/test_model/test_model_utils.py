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
