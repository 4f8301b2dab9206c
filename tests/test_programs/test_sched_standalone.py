"""Schedulers used by hand, as in research scripts: on a bare optimizer and on an OptimWrapper.

Each schedule is checked against values computed by hand from the MMEngine formulas, and the
``scheduler.step()``-before-``optimizer.step()`` mistake must raise a Python ``UserWarning``
(as torch's and MMEngine's schedulers do), so ``pytest.warns`` / ``warnings.catch_warnings``
in user code see it.
"""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn as nn

from piston.optim import (
    ConstantLR,
    CosineAnnealingLR,
    CosineRestartLR,
    ExponentialLR,
    LinearLR,
    MultiStepLR,
    MultiStepParamScheduler,
    OneCycleLR,
    OptimWrapper,
    PolyLR,
    ReduceOnPlateauLR,
    StepLR,
    StepMomentum,
)


def _pair(opt: str = "SGD", lr: float = 1.0, **kw):
    model = nn.Linear(2, 1)
    optimizer = getattr(torch.optim, opt)(model.parameters(), lr=lr, **kw)
    return OptimWrapper(optimizer), optimizer


def _run(scheduler, optimizer, steps: int, key: str = "lr") -> list[float]:
    values = [optimizer.param_groups[0][key]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        values.append(optimizer.param_groups[0][key])
    return values


@pytest.mark.parametrize(
    "cls, kwargs, expected",
    [
        (ConstantLR, dict(factor=0.5, end=3), [0.5, 0.5, 1.0, 1.0, 1.0, 1.0]),
        (LinearLR, dict(start_factor=0.25, end=4), [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]),
        (ExponentialLR, dict(gamma=0.5), [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125]),
        (StepLR, dict(step_size=2, gamma=0.1), [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]),
        (MultiStepLR, dict(milestones=[1, 3, 3], gamma=0.5), [1, 0.5, 0.5, 0.125, 0.125, 0.125]),
        (PolyLR, dict(eta_min=0.0, power=1.0, end=5), [1.0, 0.75, 0.5, 0.25, 0.0, 0.0]),
        (
            CosineRestartLR,
            dict(periods=[2, 3], restart_weights=[1, 0.5], eta_min=0.0),
            [1.0, 0.5, 0.5, 0.375, 0.125, 0.125],
        ),
    ],
)
@pytest.mark.parametrize("on_wrapper", [True, False])
def test_schedule_values(cls, kwargs, expected, on_wrapper) -> None:
    wrapper, optimizer = _pair()
    scheduler = cls(wrapper if on_wrapper else optimizer, by_epoch=False, **kwargs)
    assert _run(scheduler, optimizer, 5) == pytest.approx(expected)
    assert scheduler.get_last_value() == pytest.approx([expected[-1]])


def test_cosine_eta_min_ratio_and_one_cycle() -> None:
    wrapper, optimizer = _pair(momentum=0.9)
    scheduler = CosineAnnealingLR(wrapper, T_max=4, eta_min_ratio=0.1, by_epoch=False)
    hand = [0.1 + 0.9 * (1 + math.cos(math.pi * i / 4)) / 2 for i in range(5)]
    assert _run(scheduler, optimizer, 4) == pytest.approx(hand)

    wrapper, optimizer = _pair(momentum=0.9)
    scheduler = OneCycleLR(wrapper, eta_max=1.0, total_steps=10, by_epoch=False)
    values = _run(scheduler, optimizer, 9)
    assert values[:3] == pytest.approx([0.04, 0.52, 1.0])
    assert values[-1] == pytest.approx(0.04 / 1e4)
    optimizer.step()
    scheduler.step()  # last_step == total_steps is still accepted (as torch's OneCycleLR)
    with pytest.raises(ValueError):
        scheduler.step()  # past total_steps


def test_momentum_on_adam_and_weight_decay_scheduler() -> None:
    wrapper, optimizer = _pair("Adam", betas=(0.9, 0.99))
    scheduler = StepMomentum(wrapper, step_size=1, gamma=0.5, by_epoch=False)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["betas"] == pytest.approx((0.45, 0.99))
    assert wrapper.get_momentum() == {"momentum": [pytest.approx(0.45)]}

    wrapper, optimizer = _pair(weight_decay=0.1)
    scheduler = MultiStepParamScheduler(
        wrapper, param_name="weight_decay", milestones=[1], gamma=0.1, by_epoch=False
    )
    assert _run(scheduler, optimizer, 2, "weight_decay") == pytest.approx([0.1, 0.01, 0.01])


def test_build_iter_from_epoch() -> None:
    wrapper, _ = _pair()
    sched = MultiStepLR.build_iter_from_epoch(
        wrapper, milestones=[1, 2], gamma=0.1, begin=0, end=3, epoch_length=4
    )
    assert (sched.by_epoch, sched.begin, sched.end) == (False, 0, 12)
    assert sorted(sched.milestones) == [4, 8]
    sched = CosineAnnealingLR.build_iter_from_epoch(
        wrapper, T_max=2, begin=1, end=3, epoch_length=4
    )
    assert (sched.T_max, sched.begin, sched.end) == (8, 4, 12)


def test_state_dict_resume_continues_identically() -> None:
    wrapper, optimizer = _pair()
    scheduler = CosineAnnealingLR(wrapper, T_max=10, eta_min=0.01, by_epoch=False)
    _run(scheduler, optimizer, 4)
    sched_sd, optim_sd = scheduler.state_dict(), wrapper.state_dict()
    assert "optimizer" not in sched_sd
    assert sched_sd["last_step"] == 4
    reference = _run(scheduler, optimizer, 3)[1:]

    wrapper2, optimizer2 = _pair()
    wrapper2.load_state_dict(optim_sd)
    resumed = CosineAnnealingLR(wrapper2, T_max=10, eta_min=0.01, by_epoch=False)
    resumed.load_state_dict(sched_sd)
    assert _run(resumed, optimizer2, 3)[1:] == reference


def test_plateau_standalone() -> None:
    wrapper, optimizer = _pair()
    scheduler = ReduceOnPlateauLR(wrapper, monitor="acc", rule="greater", patience=1, factor=0.5)
    seen = []
    for acc in [1, 2, 2, 2, 2]:
        optimizer.step()
        scheduler.step(dict(acc=acc))
        seen.append(optimizer.param_groups[0]["lr"])
    assert seen == [1.0, 1.0, 1.0, 0.5, 0.5]
    with pytest.raises(KeyError):
        scheduler.step(dict(loss=1.0))


def test_scheduler_step_before_optimizer_step_warns() -> None:
    _, optimizer = _pair()
    scheduler = StepLR(optimizer, step_size=1, by_epoch=False)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()

    _, optimizer = _pair()
    scheduler = StepLR(optimizer, step_size=1, by_epoch=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()
        scheduler.step()  # right order: no warning

    _, optimizer = _pair()
    scheduler = StepLR(optimizer, step_size=1, by_epoch=False)
    optimizer.step = type(optimizer).step.__get__(optimizer)  # user re-binds step
    with pytest.warns(UserWarning, match="overridden"):
        scheduler.step()
