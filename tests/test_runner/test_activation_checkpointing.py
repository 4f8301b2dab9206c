"""``turn_on_activation_checkpointing`` (runner.md §8): recomputation in training, plain
forward in eval, same gradients, clear errors, and deep copies that use their own weights."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from piston.runner import turn_on_activation_checkpointing


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Linear(3, 4))
        self.block = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(self.stem(x))


def _count_calls(module: nn.Module) -> list[int]:
    calls = [0]

    def hook(*_args) -> None:
        calls[0] += 1

    module.register_forward_pre_hook(hook)  # a pre-hook: early-stopped recomputation skips post
    return calls


def test_training_recomputes_with_identical_gradients() -> None:
    torch.manual_seed(0)
    plain = _Net()
    wrapped = copy.deepcopy(plain)
    turn_on_activation_checkpointing(wrapped, "block")
    calls = _count_calls(wrapped.block[0])
    x = torch.randn(5, 3)
    plain(x).square().sum().backward()
    out = wrapped(x)
    assert calls[0] == 1
    out.square().sum().backward()
    assert calls[0] == 2  # recomputed during backward
    for (name, p), q in zip(plain.named_parameters(), wrapped.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)

    wrapped.eval()
    with torch.no_grad():
        wrapped(x)
    assert calls[0] == 3  # eval: one plain call, nothing checkpointed
    torch.testing.assert_close(wrapped(x), plain.eval()(x))


def test_names_lists_and_errors() -> None:
    net = _Net()
    turn_on_activation_checkpointing(net, ["stem", "block.2"])
    turn_on_activation_checkpointing(net, "stem")  # again: not wrapped twice
    calls = _count_calls(net.block[2][0])
    stem_calls = _count_calls(net.stem[0])
    block_calls = _count_calls(net.block[0])
    net(torch.randn(2, 3)).sum().backward()
    assert calls[0] == 2  # the dotted name was wrapped
    assert stem_calls[0] == 2  # wrapped once, so recomputed once
    assert block_calls[0] == 1  # not named: not recomputed
    with pytest.raises(KeyError, match="'head' is not a sub-module of _Net"):
        turn_on_activation_checkpointing(net, "head")
    with pytest.raises(KeyError, match=r"block\.7"):
        turn_on_activation_checkpointing(net, ["block.7"])


def test_deep_copy_runs_on_its_own_weights() -> None:
    """EMAHook / averaged models deep-copy the model: the copy's checkpointed forward must use
    the copy's parameters, not those of the module it was copied from."""
    net = _Net()
    turn_on_activation_checkpointing(net, "block")
    clone = copy.deepcopy(net)
    with torch.no_grad():
        for p in clone.block.parameters():
            p.zero_()
    x = torch.randn(2, 3)
    for mode in (True, False):
        clone.train(mode)
        assert torch.equal(clone(x), torch.zeros(2, 2))
        assert not torch.equal(net.train(mode)(x), torch.zeros(2, 2))
