"""LR schedulers against closed-form curves and, where they coincide, torch.optim.lr_scheduler."""

from __future__ import annotations

import math
from bisect import bisect_right

import pytest
import torch
from torch import nn

from piston.optim import (
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    OneCycleLR,
    OptimWrapper,
    PolyLR,
    ReduceOnPlateauLR,
    StepLR,
)

BASE = 0.05
STEPS = 30


def _optimizer(lr: float = BASE) -> torch.optim.SGD:
    return torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=lr, momentum=0.9)


def _run(scheduler_factory, steps: int = STEPS, optimizer=None) -> list[float]:
    """LR used at each step 0..steps-1 (read before ``optimizer.step``)."""
    optimizer = optimizer or _optimizer()
    scheduler = scheduler_factory(optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return values


def _clamp(t: int, begin: int, end: int) -> int | None:
    """The in-range step index (relative to begin) that defines the value at global step t."""
    if t < begin:
        return None
    return min(t, end - 1) - begin


def _closed(rule, begin: int = 0, end: int = 10**9) -> list[float]:
    out = []
    for t in range(STEPS):
        s = _clamp(t, begin, end)
        out.append(BASE if s is None else rule(s))
    return out


CASES = {
    "step": (
        lambda o: StepLR(o, step_size=3, gamma=0.5, begin=2, end=20),
        _closed(lambda s: BASE * 0.5 ** (s // 3), 2, 20),
    ),
    "multistep": (
        lambda o: MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.1, begin=3, end=25),
        _closed(lambda s: BASE * 0.1 ** bisect_right([2, 5, 5, 9], s), 3, 25),
    ),
    "constant": (
        lambda o: ConstantLR(o, factor=0.25, begin=4, end=12),
        _closed(lambda s: BASE * (0.25 if s < 7 else 1.0), 4, 12),
    ),
    "exponential": (
        lambda o: ExponentialLR(o, gamma=0.9, begin=1, end=15),
        _closed(lambda s: BASE * 0.9**s, 1, 15),
    ),
    "cosine": (
        lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.001, begin=2),
        _closed(lambda s: 0.001 + (BASE - 0.001) * (1 + math.cos(math.pi * s / 6)) / 2, 2),
    ),
    "cosine_ratio_default_tmax": (
        lambda o: CosineAnnealingLR(o, eta_min_ratio=0.1, begin=0, end=12),
        _closed(
            lambda s: BASE * 0.1 + (BASE - BASE * 0.1) * (1 + math.cos(math.pi * s / 12)) / 2,
            0,
            12,
        ),
    ),
    "linear": (
        lambda o: LinearLR(o, start_factor=0.1, end_factor=0.8, begin=3, end=13),
        _closed(lambda s: BASE * (0.1 + (0.8 - 0.1) * min(s, 9) / 9), 3, 13),
    ),
    "poly": (
        lambda o: PolyLR(o, eta_min=0.002, power=2.0, begin=1, end=21),
        _closed(lambda s: (BASE - 0.002) * (1 - s / 19) ** 2 + 0.002, 1, 21),
    ),
    "cosine_restart": (
        lambda o: CosineRestartLR(
            o, periods=[4, 6, 5], restart_weights=[1, 0.5, 0.25], eta_min=0.001, begin=2
        ),
        None,  # computed below
    ),
}


def _restart_closed() -> list[float]:
    periods, weights, begin = [4, 6, 5], [1, 0.5, 0.25], 2
    out, value = [], BASE
    for t in range(STEPS):
        if t >= begin:
            s = t - begin
            start = 0
            for period, weight in zip(periods, weights):
                if s < start + period:
                    eta_max = BASE * weight
                    value = (
                        0.001
                        + (eta_max - 0.001) * (1 + math.cos(math.pi * (s - start) / period)) / 2
                    )
                    break
                start += period
        out.append(value)
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_scheduler_matches_closed_form(name: str) -> None:
    factory, expected = CASES[name]
    if expected is None:
        expected = _restart_closed()
    assert _run(factory) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (
            lambda o: StepLR(o, step_size=4, gamma=0.3),
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.3),
        ),
        (
            lambda o: MultiStepLR(o, milestones=[3, 7, 7], gamma=0.2),
            lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7, 7], gamma=0.2),
        ),
        (
            lambda o: ConstantLR(o, factor=0.5, end=6),
            lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=5),
        ),
        (
            lambda o: ExponentialLR(o, gamma=0.8),
            lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8),
        ),
        (
            lambda o: CosineAnnealingLR(o, T_max=7, eta_min=0.003),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.003),
        ),
        (
            lambda o: LinearLR(o, start_factor=0.2, end_factor=0.9, end=11),
            lambda o: torch.optim.lr_scheduler.LinearLR(
                o, start_factor=0.2, end_factor=0.9, total_iters=10
            ),
        ),
        (
            lambda o: PolyLR(o, power=1.5, end=21),
            lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=20, power=1.5),
        ),
        (
            lambda o: OneCycleLR(o, eta_max=0.3, total_steps=STEPS, pct_start=0.25),
            lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o, max_lr=0.3, total_steps=STEPS, pct_start=0.25, cycle_momentum=False
            ),
        ),
        (
            lambda o: OneCycleLR(
                o, eta_max=0.3, total_steps=STEPS, anneal_strategy="linear", three_phase=True
            ),
            lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o,
                max_lr=0.3,
                total_steps=STEPS,
                anneal_strategy="linear",
                three_phase=True,
                cycle_momentum=False,
            ),
        ),
    ],
)
def test_scheduler_matches_torch(ours, theirs) -> None:
    assert _run(ours) == pytest.approx(_run(theirs), rel=1e-9, abs=1e-12)


def test_one_cycle_closed_form_and_overrun() -> None:
    total, pct, eta_max = 20, 0.3, 0.4
    initial, minimum = eta_max / 25, eta_max / 25 / 1e4
    up = pct * total - 1

    def expected(t: int) -> float:
        def cos(a: float, b: float, p: float) -> float:
            return b + (a - b) / 2 * (math.cos(math.pi * p) + 1)

        if t <= up:
            return cos(initial, eta_max, t / up)
        return cos(eta_max, minimum, (t - up) / (total - 1 - up))

    assert _run(lambda o: OneCycleLR(o, eta_max=eta_max, total_steps=total), steps=total) == (
        pytest.approx([expected(t) for t in range(total)], rel=1e-9)
    )
    optimizer = _optimizer()
    scheduler = OneCycleLR(optimizer, eta_max=eta_max, total_steps=total)
    for _ in range(total):
        scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 22 times"):
        scheduler.step()


def test_one_cycle_defaults_total_steps_to_range_and_sets_group_keys() -> None:
    optimizer = _optimizer()
    scheduler = OneCycleLR(optimizer, eta_max=[0.5], begin=0, end=10)
    group = optimizer.param_groups[0]
    assert scheduler.total_steps == 10
    assert group["initial_lr"] == pytest.approx(0.02)
    assert group["max_lr"] == 0.5
    assert group["min_lr"] == pytest.approx(0.02 / 1e4)


def test_reduce_on_plateau_matches_torch() -> None:
    metrics = [5.0, 4.0, 4.0, 4.1, 3.99995, 4.2, 4.3, 3.0, 3.5, 3.6, 3.7, 3.8] + [3.9] * 8
    ours_opt, torch_opt = _optimizer(), _optimizer()
    ours = ReduceOnPlateauLR(
        ours_opt, monitor="loss", patience=2, factor=0.5, cooldown=1, min_value=0.004
    )
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch_opt, mode="min", patience=2, factor=0.5, cooldown=1, min_lr=0.004
    )
    ours_lrs, torch_lrs = [], []
    for metric in metrics:
        ours.step()  # after the train epoch: counts only
        ours.step({"loss": metric, "acc": 0.0})
        theirs.step(metric)
        ours_lrs.append(ours_opt.param_groups[0]["lr"])
        torch_lrs.append(torch_opt.param_groups[0]["lr"])
    assert ours_lrs == pytest.approx(torch_lrs)
    assert min(ours_lrs) == pytest.approx(0.004)
    assert ours.get_last_value() == [ours_lrs[-1]]


def test_reduce_on_plateau_greater_abs_rule_and_begin() -> None:
    optimizer = _optimizer()
    scheduler = ReduceOnPlateauLR(
        optimizer,
        monitor="acc",
        rule="greater",
        patience=0,
        threshold=0.1,
        threshold_rule="abs",
        begin=1,
    )
    scheduler.step({"acc": 0.5})  # epoch 0 is before begin: ignored
    assert scheduler.last_step == -1
    scheduler.step()
    scheduler.step({"acc": 0.5})  # first judged value: improvement over -inf
    scheduler.step()
    scheduler.step({"acc": 0.55})  # +0.05 < threshold: a bad epoch, patience 0 -> reduce
    assert optimizer.param_groups[0]["lr"] == pytest.approx(BASE * 0.1)
    scheduler.step()
    scheduler.step({"acc": 0.7})
    assert optimizer.param_groups[0]["lr"] == pytest.approx(BASE * 0.1)


def test_reduce_on_plateau_errors() -> None:
    with pytest.raises(ValueError, match="by_epoch=True"):
        ReduceOnPlateauLR(_optimizer(), by_epoch=False)
    with pytest.raises(ValueError, match=r"Factor should be < 1\.0"):
        ReduceOnPlateauLR(_optimizer(), factor=1.0)
    with pytest.raises(ValueError, match="unknown"):
        ReduceOnPlateauLR(_optimizer(), rule="max")
    with pytest.raises(ValueError, match="threshold"):
        ReduceOnPlateauLR(_optimizer(), threshold=-1)
    with pytest.raises(ValueError, match="min_values"):
        ReduceOnPlateauLR(_optimizer(), min_value=[0.1, 0.2])
    scheduler = ReduceOnPlateauLR(_optimizer(), monitor="loss")
    with pytest.raises(TypeError, match="dict"):
        scheduler.step([1.0])
    with pytest.raises(KeyError, match="loss"):
        scheduler.step({"acc": 1.0})
    assert ReduceOnPlateauLR.need_val_args is True


def test_reduce_on_plateau_per_group_min_value_with_wrapper() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    optimizer = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.02}],
        lr=BASE,
    )
    wrapper = OptimWrapper(optimizer)
    scheduler = ReduceOnPlateauLR(wrapper, patience=0, factor=0.1, min_value=[0.01, 0.001])
    assert scheduler.min_values == [0.01, 0.001, 0.01]
    scheduler.step({"loss": 1.0})
    scheduler.step({"loss": 1.0})
    assert wrapper.get_lr() == {"base_lr": [0.01], "lr": [0.01, pytest.approx(0.002)]}


def test_chained_warmup_then_cosine() -> None:
    warmup, total, eta_min = 5, 25, 1e-4

    def factory(optimizer):
        schedulers = [
            LinearLR(optimizer, start_factor=0.01, by_epoch=False, begin=0, end=warmup),
            CosineAnnealingLR(
                optimizer,
                T_max=total - warmup,
                eta_min=eta_min,
                by_epoch=False,
                begin=warmup,
                end=total,
            ),
        ]

        class Chain:
            def step(self) -> None:
                for scheduler in schedulers:
                    scheduler.step()

        return Chain()

    expected = []
    for t in range(STEPS):
        if t < warmup:
            expected.append(BASE * (0.01 + 0.99 * t / (warmup - 1)))
        else:
            s = min(t, total - 1) - warmup
            expected.append(
                eta_min + (BASE - eta_min) * (1 + math.cos(math.pi * s / (total - warmup))) / 2
            )
    assert _run(factory) == pytest.approx(expected, rel=1e-9)


def test_overlapping_schedulers_compose_multiplicatively() -> None:
    optimizer = _optimizer()
    first = StepLR(optimizer, step_size=2, gamma=0.5)
    second = ExponentialLR(optimizer, gamma=0.9, begin=3, end=8)
    values = []
    for _ in range(12):
        values.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        first.step()
        second.step()
    expected = [BASE * 0.5 ** (t // 2) * 0.9 ** (min(max(t - 3, 0), 4)) for t in range(12)]
    assert values == pytest.approx(expected, rel=1e-9)


def test_scheduler_on_multi_group_wrapper_schedules_base_group() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    optimizer = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.02}],
        lr=BASE,
    )
    wrapper = OptimWrapper(optimizer)
    scheduler = StepLR(wrapper, step_size=1, gamma=0.5)
    scheduler.step()
    assert wrapper.get_lr() == {
        "base_lr": [pytest.approx(BASE / 2)],
        "lr": [pytest.approx(BASE / 2), pytest.approx(0.01)],
    }
    assert scheduler.get_last_value() == pytest.approx([BASE / 2, 0.01, BASE / 2])
