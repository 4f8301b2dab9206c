from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piston.model import (
    ExponentialMovingAverage,
    MomentumAnnealingEMA,
    StochasticWeightAverage,
)
from piston.registry import MODELS


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)


def _set(model: nn.Module, value: float) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)


def test_copy_has_no_grad_and_state_dict_keys():
    model = Net()
    ema = ExponentialMovingAverage(model)
    assert all(not p.requires_grad for p in ema.module.parameters())
    keys = set(ema.state_dict())
    assert "steps" in keys
    assert "module.fc.weight" in keys
    assert "module.bn.running_mean" in keys
    assert ema.steps.dtype == torch.long
    assert int(ema.steps) == 0
    linear = nn.Linear(2, 2)
    x = torch.randn(3, 2)
    assert torch.equal(ExponentialMovingAverage(linear)(x), linear(x))


def test_ema_matches_closed_form():
    model = Net()
    momentum = 0.1
    ema = ExponentialMovingAverage(model, momentum=momentum)
    values = [1.0, 2.0, 4.0, 8.0, -3.0]
    for value in values:
        _set(model, value)
        ema.update_parameters(model)
    # step 0 copies; then avg_k = (1-m) avg_{k-1} + m v_k
    expected = values[0]
    for value in values[1:]:
        expected = (1 - momentum) * expected + momentum * value
    # closed form: (1-m)^(n-1) v_0 + sum_k m (1-m)^(n-1-k) v_k
    n = len(values)
    closed = (1 - momentum) ** (n - 1) * values[0] + sum(
        momentum * (1 - momentum) ** (n - 1 - k) * values[k] for k in range(1, n)
    )
    assert expected == pytest.approx(closed)
    for p in ema.module.parameters():
        assert torch.allclose(p, torch.full_like(p, closed))
    assert int(ema.steps) == n


def test_ema_interval_and_buffers_copied():
    model = Net()
    ema = ExponentialMovingAverage(model, momentum=0.5, interval=2)
    _set(model, 0.0)
    ema.update_parameters(model)  # step 0: copy
    _set(model, 4.0)
    model.bn.running_mean.fill_(3.0)
    ema.update_parameters(model)  # step 1: 1 % 2 != 0 -> skipped, buffers still copied
    assert torch.all(ema.module.fc.weight == 0)
    assert torch.all(ema.module.bn.running_mean == 3)
    ema.update_parameters(model)  # step 2: averaged
    assert torch.all(ema.module.fc.weight == 2)


def test_ema_update_buffers_averages_float_buffers_only():
    model = Net()
    ema = ExponentialMovingAverage(model, momentum=0.5, update_buffers=True)
    ema.update_parameters(model)
    model.bn.running_mean.fill_(2.0)
    model.bn.num_batches_tracked.fill_(10)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.bn.running_mean, torch.ones(2))
    assert int(ema.module.bn.num_batches_tracked) == 0  # integer buffers are not averaged


def test_ema_momentum_checks(tmp_path):
    from piston.logging import MMLogger

    log_file = tmp_path / "ema.log"
    MMLogger.get_instance("ema_warn", log_file=str(log_file))
    ExponentialMovingAverage(Net(), momentum=0.9)
    assert "usually a small number" in log_file.read_text()
    with pytest.raises(AssertionError):
        ExponentialMovingAverage(Net(), momentum=1.5)


def test_subclass_overriding_avg_func_is_honoured():
    class Replace(ExponentialMovingAverage):
        def avg_func(self, averaged_param, source_param, steps):
            averaged_param.copy_(source_param * 10)

    model = Net()
    ema = Replace(model, momentum=0.1)
    ema.update_parameters(model)
    _set(model, 1.0)
    ema.update_parameters(model)
    assert torch.all(ema.module.fc.weight == 10)


def test_momentum_annealing_ema():
    model = Net()
    gamma, momentum = 4, 0.1
    ema = MomentumAnnealingEMA(model, momentum=momentum, gamma=gamma)
    _set(model, 0.0)
    ema.update_parameters(model)
    expected = 0.0
    for step, value in enumerate([1.0, 2.0, 3.0], start=1):
        _set(model, value)
        ema.update_parameters(model)
        m = max(momentum, gamma / (gamma + step))
        expected = (1 - m) * expected + m * value
    assert torch.allclose(ema.module.fc.weight, torch.full((2, 2), expected))
    with pytest.raises(AssertionError):
        MomentumAnnealingEMA(model, gamma=0)


def test_swa_is_running_mean():
    model = Net()
    swa = StochasticWeightAverage(model)
    values = [1.0, 2.0, 6.0, 7.0]
    for value in values:
        _set(model, value)
        swa.update_parameters(model)
    # step k averages with weight 1/(k+1): the plain mean of all values
    assert torch.allclose(swa.module.fc.weight, torch.full((2, 2), sum(values) / len(values)))


def test_built_from_registry_and_state_dict_round_trip():
    model = Net()
    ema = MODELS.build(
        {"type": "ExponentialMovingAverage", "momentum": 0.01}, default_args={"model": model}
    )
    assert isinstance(ema, ExponentialMovingAverage)
    _set(model, 2.0)
    ema.update_parameters(model)
    ema.update_parameters(model)
    other = ExponentialMovingAverage(Net(), momentum=0.01)
    other.load_state_dict(ema.state_dict())
    assert int(other.steps) == 2
    assert torch.all(other.module.fc.weight == 2)
    for name in ("MomentumAnnealingEMA", "StochasticWeightAverage"):
        assert MODELS.get(name) is not None
