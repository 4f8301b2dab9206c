"""OptimWrapper: update path, accumulation, clipping, groups, state and DDP no_sync."""

from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
import torch
from torch import nn

import piston.optim.optimizer.optimizer_wrapper as wrapper_module
from piston.logging import MessageHub
from piston.optim import OptimWrapper


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(4, 2)


def _sgd(model: nn.Module, **kwargs) -> torch.optim.SGD:
    kwargs = {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3, **kwargs}
    return torch.optim.SGD(model.parameters(), **kwargs)


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)


def test_update_params_matches_hand_written_step() -> None:
    model_a, model_b = _linear(), _linear()
    wrapper, optimizer = OptimWrapper(_sgd(model_a)), _sgd(model_b)
    torch.manual_seed(1)
    for _ in range(5):
        x, y = torch.randn(8, 4), torch.randn(8, 2)
        wrapper.update_params(_loss(model_a, x, y))
        loss = _loss(model_b, x, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        assert torch.equal(a, b)
        assert a.grad is None
    assert wrapper.inner_count == 5


@pytest.mark.parametrize(("counts", "max_counts"), [(4, 8), (4, 6), (3, 7)])
def test_gradient_accumulation_equals_large_batch(counts: int, max_counts: int) -> None:
    """Micro-batches of 2 accumulated ``counts`` times == one step on their concatenation,
    including the shorter last window when ``max_counts`` is not a multiple of ``counts``."""
    torch.manual_seed(2)
    xs, ys = torch.randn(max_counts, 2, 4), torch.randn(max_counts, 2, 2)
    model_a, model_b = _linear(), _linear()
    wrapper = OptimWrapper(_sgd(model_a), accumulative_counts=counts)
    wrapper.initialize_count_status(model_a, 0, max_counts)
    for x, y in zip(xs, ys):
        wrapper.update_params(_loss(model_a, x, y))

    optimizer = _sgd(model_b)
    for start in range(0, max_counts, counts):
        stop = min(start + counts, max_counts)
        x, y = xs[start:stop].reshape(-1, 4), ys[start:stop].reshape(-1, 2)
        _loss(model_b, x, y).backward()
        optimizer.step()
        optimizer.zero_grad()
    for a, b in zip(model_a.parameters(), model_b.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_should_update_sync_and_loss_scale_sequence() -> None:
    model = _linear()
    wrapper = OptimWrapper(_sgd(model), accumulative_counts=3)
    wrapper.initialize_count_status(model, 0, 7)
    updates, syncs, factors = [], [], []
    for _ in range(7):
        syncs.append(wrapper.should_sync())
        factors.append(1 / wrapper.scale_loss(torch.tensor(1.0)).item())
        wrapper.backward(_loss(model, torch.ones(1, 4), torch.zeros(1, 2)))
        updates.append(wrapper.should_update())
    assert updates == [False, False, True, False, False, True, True]
    assert syncs == updates
    assert factors == pytest.approx([3, 3, 3, 3, 3, 3, 1])
    unbounded = OptimWrapper(_sgd(model), accumulative_counts=2)
    assert unbounded.scale_loss(torch.tensor(4.0)).item() == 2.0
    single = OptimWrapper(_sgd(model))
    loss = torch.tensor(4.0)
    assert single.scale_loss(loss) is loss


def test_initialize_count_status_warnings(monkeypatch) -> None:
    messages: list[str] = []
    monkeypatch.setattr(wrapper_module, "print_log", lambda msg, *a, **k: messages.append(msg))
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    wrapper = OptimWrapper(_sgd(model), accumulative_counts=4)
    wrapper.initialize_count_status(model, 6, 10)
    assert wrapper.inner_count == 6
    assert wrapper._remainder_counts == 2
    assert any("not divisible" in m for m in messages)
    assert any("BatchNorm" in m for m in messages)
    messages.clear()
    OptimWrapper(_sgd(model)).initialize_count_status(model, 3, 10)
    assert messages == []


class _NoSyncModel(nn.Linear):
    def __init__(self) -> None:
        super().__init__(4, 2)
        self.entered = 0

    @contextmanager
    def no_sync(self):
        self.entered += 1
        yield


def test_optim_context_enters_no_sync_on_accumulation_steps() -> None:
    model = _NoSyncModel()
    wrapper = OptimWrapper(_sgd(model), accumulative_counts=2)
    entered = []
    for _ in range(4):
        before = model.entered
        with wrapper.optim_context(model):
            loss = _loss(model, torch.ones(1, 4), torch.zeros(1, 2))
        wrapper.update_params(loss)
        entered.append(model.entered - before)
    assert entered == [1, 0, 1, 0]
    plain = OptimWrapper(_sgd(model))
    with plain.optim_context(model):
        pass
    assert model.entered == 2


def test_clip_grad_norm_clips_and_logs_tensor() -> None:
    hub = MessageHub.get_instance("test_clip_grad_norm")
    model = _linear()
    reference = copy.deepcopy(model)
    wrapper = OptimWrapper(_sgd(model, momentum=0, weight_decay=0), clip_grad={"max_norm": 0.01})
    assert wrapper.message_hub is hub
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    wrapper.update_params(_loss(model, x, y))
    _loss(reference, x, y).backward()
    expected = nn.utils.clip_grad_norm_(reference.parameters(), 0.01)
    logged = hub.get_scalar("train/grad_norm").data[0]
    assert float(logged[-1]) == pytest.approx(expected.item())
    with torch.no_grad():
        for p in reference.parameters():
            p -= 0.1 * p.grad
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_update_params_with_clipping_never_syncs(monkeypatch) -> None:
    model = _linear()
    wrapper = OptimWrapper(_sgd(model), clip_grad={"max_norm": 1.0, "norm_type": 2})

    def _refuse(*args, **kwargs):
        raise AssertionError("host-device sync on the per-iteration path")

    loss = _loss(model, torch.randn(4, 4), torch.randn(4, 2))
    monkeypatch.setattr(torch.Tensor, "item", _refuse)
    monkeypatch.setattr(torch.Tensor, "__float__", _refuse)
    monkeypatch.setattr(torch.Tensor, "tolist", _refuse)
    before = [p.detach().clone() for p in model.parameters()]
    wrapper.update_params(loss)
    monkeypatch.undo()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


def test_clip_grad_value() -> None:
    model = _linear()
    wrapper = OptimWrapper(_sgd(model), clip_grad={"type": "value", "clip_value": 1e-4})
    wrapper.backward(_loss(model, torch.randn(8, 4) * 10, torch.randn(8, 2)))
    wrapper._clip_grad()
    assert all(p.grad.abs().max() <= 1e-4 for p in model.parameters())
    assert wrapper.grad_name == "grad_value"


def test_clip_grad_and_count_errors() -> None:
    model = _linear()
    with pytest.raises(ValueError, match='"norm" or "value"'):
        OptimWrapper(_sgd(model), clip_grad={"type": "max", "max_norm": 1})
    with pytest.raises(AssertionError, match="non-empty"):
        OptimWrapper(_sgd(model), clip_grad={})
    with pytest.raises(AssertionError, match="besides `type`"):
        OptimWrapper(_sgd(model), clip_grad={"type": "norm"})
    with pytest.raises(AssertionError, match="accumulative_counts"):
        OptimWrapper(_sgd(model), accumulative_counts=0)
    with pytest.raises(TypeError, match=r"torch\.optim\.Optimizer"):
        OptimWrapper(model)
    clip = {"type": "norm", "max_norm": 1}
    OptimWrapper(_sgd(model), clip_grad=clip)
    assert clip == {"type": "norm", "max_norm": 1}


def _two_group_wrapper() -> tuple[nn.Sequential, OptimWrapper]:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    optimizer = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.01}],
        lr=0.1,
        momentum=0.9,
    )
    return model, OptimWrapper(optimizer)


def test_base_param_settings_for_multiple_groups() -> None:
    model, wrapper = _two_group_wrapper()
    assert len(wrapper.param_groups) == 3
    assert wrapper.param_groups[-1]["lr"] == 0.1
    assert torch.equal(wrapper.param_groups[-1]["params"], torch.tensor([0.0]))
    assert wrapper.get_lr() == {"base_lr": [0.1], "lr": [0.1, 0.01]}
    assert wrapper.get_momentum() == {"momentum": [0.9, 0.9]}
    single = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    assert single.base_param_settings is None
    assert single.get_lr() == {"lr": [0.1]}
    assert "base_param_settings" not in single.state_dict()


def test_state_dict_round_trip() -> None:
    model, wrapper = _two_group_wrapper()
    wrapper.update_params(model(torch.ones(1, 2)).sum())
    wrapper.base_param_settings["lr"] = 0.5
    state = copy.deepcopy(wrapper.state_dict())
    assert state["base_param_settings"]["lr"] == 0.5
    _, other = _two_group_wrapper()
    other.load_state_dict(state)
    assert "base_param_settings" in state  # the input is not modified
    assert other.base_param_settings["lr"] == 0.5
    assert (
        other.optimizer.state_dict()["state"].keys()
        == wrapper.optimizer.state_dict()["state"].keys()
    )


def test_get_momentum_variants() -> None:
    model = _linear()
    adam = OptimWrapper(torch.optim.Adam(model.parameters(), betas=(0.8, 0.9)))
    assert adam.get_momentum() == {"momentum": [0.8]}
    adagrad = OptimWrapper(torch.optim.Adagrad(model.parameters()))
    assert adagrad.get_momentum() == {"momentum": [0]}
    assert adam.defaults is adam.optimizer.defaults


def test_step_and_zero_grad_forward_kwargs() -> None:
    model = _linear()
    wrapper = OptimWrapper(torch.optim.LBFGS(model.parameters(), lr=0.1))
    x, y = torch.randn(4, 4), torch.randn(4, 2)

    def closure():
        wrapper.zero_grad(set_to_none=False)
        loss = _loss(model, x, y)
        loss.backward()
        return loss

    before = _loss(model, x, y).item()
    wrapper.step(closure=closure)
    assert _loss(model, x, y).item() < before


def test_repr() -> None:
    model = _linear()
    optimizer = _sgd(model)
    wrapper = OptimWrapper(optimizer, accumulative_counts=2)
    assert repr(wrapper) == (
        f"Type: OptimWrapper\n_accumulative_counts: 2\noptimizer: \n{optimizer!r}\n"
    )
