"""``parse_losses`` adds no autograd nodes for 0-dim losses, with values and gradients
bit-identical to the ``mean``-then-``sum`` formulation."""

from __future__ import annotations

import torch

from piston.model import BaseModel


class _Net(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x, mode="tensor"):
        out = self.fc(x)
        return {"loss_a": out.pow(2).mean(), "loss_b": out.abs().sum(1), "acc": out.max()}


def _reference(losses: dict) -> torch.Tensor:
    return sum(v.mean() for k, v in losses.items() if "loss" in k)


def test_values_and_gradients_match_the_reference() -> None:
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    net = _Net()
    loss, log_vars = net.parse_losses(net(x))
    loss.backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    ref = _reference(net(x))
    ref.backward()
    assert torch.equal(loss.detach(), ref.detach())
    for got, want in zip(grads, (p.grad for p in net.parameters())):
        assert torch.equal(got, want)
    assert list(log_vars) == ["loss", "loss_a", "loss_b", "acc"]
    assert all(not v.requires_grad for v in log_vars.values())
    assert torch.equal(log_vars["loss_b"], net(x)["loss_b"].mean().detach())


def test_single_zero_dim_loss_adds_no_autograd_node() -> None:
    net = _Net()
    raw = net(torch.randn(2, 4))["loss_a"]
    loss, log_vars = net.parse_losses({"loss": raw})
    assert loss is raw  # no `mean` of a scalar, no `0 + loss`
    assert torch.equal(log_vars["loss"], raw.detach())


def test_no_loss_key_gives_zero_total() -> None:
    net = _Net()
    loss, log_vars = net.parse_losses({"acc": torch.tensor(1.0)})
    assert loss == 0
    assert list(log_vars) == ["loss", "acc"]
