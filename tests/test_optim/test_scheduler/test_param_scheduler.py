"""Scheduler base behaviour: generic/momentum families, state dicts, conversion, errors."""

from __future__ import annotations

import copy
import math
import warnings
from collections import Counter

import pytest
import torch
from torch import nn

import piston.optim.scheduler.param_scheduler as base_module
from piston.optim import (
    INF,
    ConstantLR,
    ConstantMomentum,
    CosineAnnealingLR,
    CosineAnnealingMomentum,
    CosineAnnealingParamScheduler,
    CosineRestartLR,
    CosineRestartMomentum,
    CosineRestartParamScheduler,
    ExponentialMomentum,
    LinearLR,
    LinearMomentum,
    LinearParamScheduler,
    MultiStepLR,
    MultiStepMomentum,
    MultiStepParamScheduler,
    OneCycleLR,
    OneCycleParamScheduler,
    OptimWrapper,
    PolyMomentum,
    PolyParamScheduler,
    ReduceOnPlateauLR,
    ReduceOnPlateauMomentum,
    StepLR,
    StepMomentum,
    StepParamScheduler,
    _ParamScheduler,
)
from piston.registry import PARAM_SCHEDULERS


def _sgd(lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 0.01):
    return torch.optim.SGD(
        nn.Linear(2, 1).parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay
    )


def _values(optimizer, scheduler, key: str, steps: int) -> list[float]:
    out = []
    for _ in range(steps):
        out.append(optimizer.param_groups[0][key])
        optimizer.step()
        scheduler.step()
    return out


def test_generic_scheduler_schedules_any_param() -> None:
    optimizer = _sgd(weight_decay=0.02)
    scheduler = StepParamScheduler(optimizer, "weight_decay", step_size=2, gamma=0.5, end=7)
    assert _values(optimizer, scheduler, "weight_decay", 10) == pytest.approx(
        [0.02 * 0.5 ** (min(t, 6) // 2) for t in range(10)]
    )
    assert optimizer.param_groups[0]["initial_weight_decay"] == 0.02
    assert optimizer.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize(
    ("factory", "rule"),
    [
        (lambda o: StepMomentum(o, step_size=3, gamma=0.5), lambda t, m: m * 0.5 ** (t // 3)),
        (lambda o: MultiStepMomentum(o, milestones=[2, 4]), lambda t, m: m * 0.1 ** ((t >= 2) + (t >= 4))),
        (lambda o: ConstantMomentum(o, factor=0.5, end=4), lambda t, m: m * (0.5 if t < 3 else 1)),
        (lambda o: ExponentialMomentum(o, gamma=0.9), lambda t, m: m * 0.9**t),
        (lambda o: CosineAnnealingMomentum(o, T_max=5, eta_min=0.5),
         lambda t, m: 0.5 + (m - 0.5) * (1 + math.cos(math.pi * t / 5)) / 2),
        (lambda o: LinearMomentum(o, start_factor=0.5, end=5),
         lambda t, m: m * (0.5 + 0.5 * min(t, 4) / 4)),
        (lambda o: PolyMomentum(o, eta_min=0.1, end=9), lambda t, m: (m - 0.1) * (1 - min(t, 8) / 8) + 0.1),
    ],
)  # fmt: skip
def test_momentum_schedulers_sgd_and_adam_betas(factory, rule) -> None:
    sgd = _sgd(momentum=0.9)
    assert _values(sgd, factory(sgd), "momentum", 10) == pytest.approx(
        [rule(t, 0.9) for t in range(10)]
    )
    adam = torch.optim.Adam(nn.Linear(2, 1).parameters(), lr=0.1, betas=(0.8, 0.99))
    scheduler = factory(adam)
    betas = []
    for _ in range(10):
        betas.append(adam.param_groups[0]["betas"])
        adam.step()
        scheduler.step()
    assert [b[0] for b in betas] == pytest.approx([rule(t, 0.8) for t in range(10)])
    assert all(b[1] == 0.99 for b in betas)
    assert all(
        b[0] == pytest.approx(m) for b, m in zip(betas[1:], [rule(t, 0.8) for t in range(1, 10)])
    )


def test_cosine_restart_momentum_and_reduce_on_plateau_momentum_with_betas() -> None:
    adam = torch.optim.Adam(nn.Linear(2, 1).parameters(), betas=(0.9, 0.999))
    scheduler = ReduceOnPlateauMomentum(adam, patience=0, factor=0.5)
    scheduler.step({"loss": 1.0})
    scheduler.step({"loss": 2.0})
    assert adam.param_groups[0]["betas"] == (pytest.approx(0.45), 0.999)
    sgd = _sgd(momentum=0.9)
    restart = CosineRestartMomentum(sgd, periods=[2, 2], restart_weights=[1, 0.5], eta_min=0.1)
    values = _values(sgd, restart, "momentum", 5)
    assert values == pytest.approx([0.9, 0.5, 0.45, 0.275, 0.275])


def test_momentum_scheduler_requires_momentum_or_betas() -> None:
    adagrad = torch.optim.Adagrad(nn.Linear(2, 1).parameters())
    with pytest.raises(ValueError, match="momentum"):
        StepMomentum(adagrad, step_size=2)


def test_step_before_optimizer_step_warns() -> None:
    # A UserWarning (warnings.warn), as torch's and MMEngine's schedulers emit it.
    optimizer = _sgd()
    scheduler = StepLR(optimizer, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    optimizer2 = _sgd()
    scheduler2 = StepLR(optimizer2, step_size=2)
    optimizer2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler2.step()


def test_accumulation_window_does_not_trigger_the_order_warning() -> None:
    # With accumulative_counts=2 the first iteration ends without an optimizer step, yet the
    # order (update_params, then scheduler.step) is right: no warning.
    model = nn.Linear(2, 1)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    scheduler = StepLR(wrapper, step_size=2, by_epoch=False)
    wrapper.update_params(model(torch.ones(1, 2)).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step()
    # Stepping the scheduler before any backward through the wrapper still warns.
    idle = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    idle_scheduler = StepLR(idle, step_size=2, by_epoch=False)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        idle_scheduler.step()


def test_verbose_logs_each_update(monkeypatch) -> None:
    messages: list[str] = []
    monkeypatch.setattr(base_module, "print_log", lambda msg, *a, **k: messages.append(msg))
    optimizer = _sgd(lr=0.1)
    StepLR(optimizer, step_size=2, verbose=True)
    assert messages == ["Adjusting parameter value of group 0 to 1.0000e-01."]


def test_state_dict_round_trip_continues_the_curve() -> None:
    def build(optimizer):
        return [
            LinearLR(optimizer, start_factor=0.1, begin=0, end=4),
            CosineRestartLR(
                optimizer, periods=[5, 5], restart_weights=[1, 0.5], eta_min=0.0, begin=4, end=14
            ),
        ]

    torch.manual_seed(0)
    reference_opt = _sgd()
    reference = build(reference_opt)
    expected = []
    for _ in range(14):
        expected.append(reference_opt.param_groups[0]["lr"])
        reference_opt.step()
        for s in reference:
            s.step()

    optimizer = _sgd()
    schedulers = build(optimizer)
    got = []
    for _ in range(6):
        got.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        for s in schedulers:
            s.step()
    states = [copy.deepcopy(s.state_dict()) for s in schedulers]
    optim_state = copy.deepcopy(optimizer.state_dict())
    assert all("optimizer" not in state for state in states)

    resumed_opt = _sgd()
    resumed = build(resumed_opt)
    resumed_opt.load_state_dict(optim_state)
    for s, state in zip(resumed, states):
        s.load_state_dict(state)
    for _ in range(8):
        got.append(resumed_opt.param_groups[0]["lr"])
        resumed_opt.step()
        for s in resumed:
            s.step()
    assert got == pytest.approx(expected, rel=1e-12)
    assert resumed[1].get_last_value() == reference[1].get_last_value()


def test_last_step_resume_requires_initial_value() -> None:
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(_sgd(), step_size=2, last_step=3)
    optimizer = _sgd()
    optimizer.param_groups[0]["initial_lr"] = 0.1
    scheduler = StepLR(optimizer, step_size=2, last_step=3)  # step 4 applies at once
    assert scheduler.last_step == 4
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


@pytest.mark.parametrize(
    "make",
    [
        lambda o: StepLR(o, step_size=2, begin=5, end=5),
        lambda o: MultiStepLR(o, milestones=[1], begin=3, end=2),
        lambda o: ReduceOnPlateauLR(o, begin=4, end=1),
    ],
)
def test_begin_must_be_before_end(make) -> None:
    with pytest.raises(ValueError, match="end should be larger than begin"):
        make(_sgd())


def test_argument_errors() -> None:
    with pytest.raises(TypeError, match="Optimizer"):
        StepLR(nn.Linear(1, 1), step_size=1)
    # a milestone past the scheduled range only warns and never fires (MMEngine accepts it)
    late = MultiStepLR(_sgd(), milestones=[2, 10], begin=5, end=15)
    for _ in range(20):
        late.step()
    assert late.optimizer.param_groups[0]["lr"] == pytest.approx(_sgd().param_groups[0]["lr"] * 0.1)
    with pytest.raises(ValueError, match="milestone -1"):
        MultiStepLR(_sgd(), milestones=[-1])
    with pytest.raises(ValueError, match="between 0 and 1"):
        LinearLR(_sgd(), start_factor=1.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        LinearLR(_sgd(), end_factor=-0.1)
    # 0 would stay 0 under the recursive rule (and the next step would divide by zero).
    with pytest.raises(ValueError, match="start_factor=0"):
        LinearLR(_sgd(), start_factor=0.0, end=5)
    single_step = LinearLR(_sgd(), start_factor=0.0, end=1)  # one step only: nothing to grow
    assert single_step.get_last_value() == [0.0]
    with pytest.raises(ValueError, match="between 0 and 1"):
        ConstantLR(_sgd(), factor=2)
    # Restoring the value at the last step divides by the factor.
    with pytest.raises(ValueError, match="factor=0"):
        ConstantLR(_sgd(), factor=0.0, end=3)
    frozen = ConstantLR(_sgd(), factor=0.0)  # no end: the value simply stays 0
    for _ in range(3):
        frozen.optimizer.step()
        frozen.step()
    assert frozen.get_last_value() == [0.0]
    with pytest.raises(AssertionError, match="eta_min"):
        CosineAnnealingLR(_sgd(), eta_min=0.1, eta_min_ratio=0.1)
    with pytest.raises(ValueError, match="eta_min"):
        CosineRestartLR(_sgd(), periods=[2])
    with pytest.raises(AssertionError, match="same length"):
        CosineRestartLR(_sgd(), periods=[2, 3], restart_weights=[1], eta_min=0)
    with pytest.raises(ValueError, match="learning rate"):
        OneCycleParamScheduler(_sgd(), "momentum", eta_max=1.0, total_steps=5)
    with pytest.raises(ValueError, match="pct_start"):
        OneCycleLR(_sgd(), eta_max=1.0, total_steps=5, pct_start=1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        OneCycleLR(_sgd(), eta_max=1.0, total_steps=5, anneal_strategy="exp")
    with pytest.raises(ValueError, match="total_steps"):
        OneCycleLR(_sgd(), eta_max=1.0, total_steps=0)
    with pytest.raises(ValueError, match="last_step"):
        StepLR(_sgd(), step_size=1, last_step=-2)
    with pytest.raises(ValueError, match="step_size"):
        StepLR(_sgd(), step_size=0)


CONVERSIONS = [
    (StepParamScheduler, {"step_size": 2}, {"step_size": 10}),
    (MultiStepParamScheduler, {"milestones": [1, 2]}, {"milestones": Counter([5, 10])}),
    (CosineAnnealingParamScheduler, {"T_max": 3}, {"T_max": 15}),
    (
        CosineRestartParamScheduler,
        {"periods": [1, 2], "restart_weights": [1, 1], "eta_min": 0.0},
        {"periods": [5, 10]},
    ),
    (LinearParamScheduler, {"start_factor": 0.5}, {"total_iters": 19}),
    (PolyParamScheduler, {"power": 2.0}, {"total_iters": 19}),
]


@pytest.mark.parametrize(("cls", "kwargs", "converted"), CONVERSIONS)
def test_build_iter_from_epoch_scales_step_args(cls, kwargs, converted) -> None:
    scheduler = cls.build_iter_from_epoch(_sgd(), "lr", begin=1, end=5, epoch_length=5, **kwargs)
    assert (scheduler.begin, scheduler.end, scheduler.by_epoch) == (5, 25, False)
    for key, value in converted.items():
        assert getattr(scheduler, key) == value


def test_build_iter_from_epoch_lr_variant_infinite_end_and_one_cycle() -> None:
    scheduler = StepLR.build_iter_from_epoch(_sgd(), step_size=2, epoch_length=3)
    assert (scheduler.step_size, scheduler.begin, scheduler.end) == (6, 0, INF)
    one_cycle = OneCycleLR.build_iter_from_epoch(
        _sgd(), eta_max=0.1, total_steps=4, end=4, epoch_length=3
    )
    assert (one_cycle.total_steps, one_cycle.end) == (12, 12)


def test_build_iter_from_epoch_errors() -> None:
    with pytest.raises(AssertionError, match="by_epoch=True"):
        StepLR.build_iter_from_epoch(_sgd(), step_size=2, by_epoch=False, epoch_length=3)
    with pytest.raises(ValueError, match="epoch_length"):
        StepLR.build_iter_from_epoch(_sgd(), step_size=2, epoch_length=0)
    with pytest.raises(ValueError, match="by_epoch"):
        ReduceOnPlateauLR.build_iter_from_epoch(_sgd(), epoch_length=3)


def test_convert_to_iter_based_config_through_registry() -> None:
    optimizer = _sgd(lr=1.0)
    scheduler = PARAM_SCHEDULERS.build(
        {
            "type": "MultiStepLR",
            "milestones": [1],
            "begin": 0,
            "end": 3,
            "convert_to_iter_based": True,
        },
        default_args={"optimizer": optimizer, "epoch_length": 4},
    )
    assert isinstance(scheduler, MultiStepLR)
    assert (scheduler.by_epoch, scheduler.end, dict(scheduler.milestones)) == (False, 12, {4: 1})
    plain = PARAM_SCHEDULERS.build(
        {"type": "CosineAnnealingLR", "T_max": 5},
        default_args={"optimizer": _sgd(), "epoch_length": 4},
    )
    assert plain.by_epoch
    assert plain.T_max == 5


def test_every_scheduler_is_registered() -> None:
    import piston.optim.scheduler as scheduler_pkg

    for name in scheduler_pkg.__all__:
        obj = getattr(scheduler_pkg, name)
        if isinstance(obj, type) and issubclass(obj, _ParamScheduler) and name != "_ParamScheduler":
            assert PARAM_SCHEDULERS.get(name) is obj, name


def test_scheduler_accepts_wrapper_and_counts_wrapper_steps() -> None:
    wrapper = OptimWrapper(_sgd())
    scheduler = StepLR(wrapper, step_size=1, gamma=0.5)
    wrapper.step()
    wrapper.step()
    assert wrapper._global_step == 1
    scheduler.step()
    assert wrapper.get_lr() == {"lr": [pytest.approx(0.05)]}


ALL_SCHEDULERS = {
    "StepParamScheduler": {"param_name": "weight_decay", "step_size": 2},
    "MultiStepParamScheduler": {"param_name": "lr", "milestones": [1, 3]},
    "ConstantParamScheduler": {"param_name": "lr", "end": 4},
    "ExponentialParamScheduler": {"param_name": "lr", "gamma": 0.9},
    "CosineAnnealingParamScheduler": {"param_name": "lr", "T_max": 4},
    "LinearParamScheduler": {"param_name": "lr", "end": 5},
    "PolyParamScheduler": {"param_name": "lr", "end": 7},
    "OneCycleParamScheduler": {"param_name": "lr", "eta_max": 0.5, "total_steps": 10},
    "CosineRestartParamScheduler": {
        "param_name": "lr",
        "periods": [3, 3],
        "restart_weights": [1, 0.5],
        "eta_min": 0.0,
    },
    "ReduceOnPlateauParamScheduler": {"param_name": "lr", "patience": 0},
    "StepLR": {"step_size": 2},
    "MultiStepLR": {"milestones": [2]},
    "ConstantLR": {"end": 3},
    "ExponentialLR": {"gamma": 0.5},
    "CosineAnnealingLR": {"T_max": 3},
    "LinearLR": {"end": 4},
    "PolyLR": {"end": 6},
    "OneCycleLR": {"eta_max": 0.3, "total_steps": 10, "three_phase": True},
    "CosineRestartLR": {"periods": [2, 4], "restart_weights": [1, 1], "eta_min_ratio": 0.1},
    "ReduceOnPlateauLR": {"patience": 0, "factor": 0.5},
    "StepMomentum": {"step_size": 2},
    "MultiStepMomentum": {"milestones": [2]},
    "ConstantMomentum": {"end": 3},
    "ExponentialMomentum": {"gamma": 0.9},
    "CosineAnnealingMomentum": {"T_max": 3},
    "LinearMomentum": {"end": 4},
    "PolyMomentum": {"end": 6},
    "CosineRestartMomentum": {"periods": [2, 4], "restart_weights": [1, 1], "eta_min": 0.1},
    "ReduceOnPlateauMomentum": {"patience": 0},
}


def test_registry_and_table_cover_every_scheduler() -> None:
    registered = {
        name
        for name, obj in PARAM_SCHEDULERS.module_dict.items()
        if isinstance(obj, type) and issubclass(obj, _ParamScheduler)
    }
    assert registered == set(ALL_SCHEDULERS)


def _drive(scheduler, optimizer, steps: range) -> list[list[float]]:
    values = []
    for i in steps:
        optimizer.step()
        if getattr(scheduler, "need_val_args", False):
            scheduler.step()
            scheduler.step({"loss": float(i % 3)})
        else:
            scheduler.step()
        values.append(list(scheduler.get_last_value()))
    return values


@pytest.mark.parametrize("name", list(ALL_SCHEDULERS))
def test_build_and_weights_only_state_dict_round_trip(name: str, tmp_path) -> None:
    def build():
        model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
        optimizer = torch.optim.SGD(
            [{"params": model[0].parameters()}, {"params": model[1].parameters(), "lr": 0.2}],
            lr=0.1,
            momentum=0.9,
            weight_decay=0.01,
        )
        wrapper = OptimWrapper(optimizer)
        cfg = {"type": name, **ALL_SCHEDULERS[name]}
        return wrapper, PARAM_SCHEDULERS.build(cfg, default_args={"optimizer": wrapper})

    wrapper, scheduler = build()
    assert type(scheduler).__name__ == name
    expected = _drive(scheduler, wrapper, range(8))

    wrapper, scheduler = build()
    _drive(scheduler, wrapper, range(3))
    path = tmp_path / "state.pth"
    torch.save({"scheduler": scheduler.state_dict(), "optim": wrapper.state_dict()}, path)
    state = torch.load(path, weights_only=True)

    resumed_wrapper, resumed = build()
    resumed_wrapper.load_state_dict(state["optim"])
    resumed.load_state_dict(state["scheduler"])
    assert _drive(resumed, resumed_wrapper, range(3, 8)) == expected[3:]
