"""OptimWrapperDict: container semantics, aggregated lr/momentum, state and refusals."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from piston.optim import OptimWrapper, OptimWrapperDict


def _wrappers() -> tuple[OptimWrapper, OptimWrapper]:
    gen, disc = nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    gen_wrapper = OptimWrapper(torch.optim.SGD(gen.parameters(), lr=0.1, momentum=0.8))
    disc_optimizer = torch.optim.Adam(
        [{"params": disc[0].parameters()}, {"params": disc[1].parameters(), "lr": 0.02}],
        lr=0.01,
        betas=(0.5, 0.999),
    )
    return gen_wrapper, OptimWrapper(disc_optimizer)


def test_container_semantics() -> None:
    gen, disc = _wrappers()
    wrappers = OptimWrapperDict(gen=gen, disc=disc)
    assert len(wrappers) == 2
    assert "gen" in wrappers
    assert "missing" not in wrappers
    assert wrappers["disc"] is disc
    assert list(wrappers.keys()) == ["gen", "disc"]
    assert list(wrappers.values()) == [gen, disc]
    assert dict(wrappers.items()) == {"gen": gen, "disc": disc}
    with pytest.raises(AssertionError, match="Cannot find missing"):
        wrappers["missing"]
    with pytest.raises(AssertionError, match="OptimWrapper instance"):
        OptimWrapperDict(gen=gen, disc=torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=1))


def test_lr_momentum_and_param_groups() -> None:
    gen, disc = _wrappers()
    wrappers = OptimWrapperDict(gen=gen, disc=disc)
    assert wrappers.get_lr() == {
        "gen.lr": [0.1],
        "disc.base_lr": [0.01],
        "disc.lr": [0.01, 0.02],
    }
    assert wrappers.get_momentum() == {"gen.momentum": [0.8], "disc.momentum": [0.5, 0.5]}
    assert wrappers.param_groups["gen"] == gen.param_groups
    assert len(wrappers.param_groups["disc"]) == 3


def test_state_dict_round_trip_and_unknown_name() -> None:
    gen, disc = _wrappers()
    wrappers = OptimWrapperDict(gen=gen, disc=disc)
    state = wrappers.state_dict()
    assert set(state) == {"gen", "disc"}
    assert "base_param_settings" in state["disc"]
    gen2, disc2 = _wrappers()
    gen2.optimizer.param_groups[0]["lr"] = 5.0
    OptimWrapperDict(gen=gen2, disc=disc2).load_state_dict(state)
    assert gen2.get_lr() == {"lr": [0.1]}
    with pytest.raises(AssertionError, match="other"):
        wrappers.load_state_dict({"other": state["gen"]})


def test_update_methods_are_refused_and_count_status_is_noop() -> None:
    gen, disc = _wrappers()
    wrappers = OptimWrapperDict(gen=gen, disc=disc)
    loss = torch.tensor(1.0, requires_grad=True)
    for call in (
        lambda: wrappers.update_params(loss),
        lambda: wrappers.backward(loss),
        wrappers.step,
        wrappers.zero_grad,
        lambda: wrappers.optim_context(nn.Linear(1, 1)),
    ):
        with pytest.raises(NotImplementedError):
            call()
    wrappers.initialize_count_status(nn.Linear(1, 1), 3, 10)
    assert gen.inner_count == 0


def test_repr_concatenates_wrappers() -> None:
    gen, disc = _wrappers()
    text = repr(OptimWrapperDict(gen=gen, disc=disc))
    assert text == f"name: gen\n{gen!r}name: disc\n{disc!r}"


def test_is_an_optim_wrapper_and_schedulers_build_per_name() -> None:
    """As in MMEngine, OptimWrapperDict subclasses OptimWrapper; code that tells one wrapper
    from a dict of them still builds one scheduler list per name."""
    from piston.runner._build import build_param_scheduler

    gen, disc = _wrappers()
    wrappers = OptimWrapperDict(gen=gen, disc=disc)
    assert isinstance(wrappers, OptimWrapper)
    schedulers = build_param_scheduler(
        dict(type="MultiStepLR", milestones=[1], by_epoch=True),
        wrappers,
        max_iters=10,
        max_epochs=2,
        epoch_length=5,
    )
    assert set(schedulers) == {"gen", "disc"}
    assert schedulers["gen"][0].optimizer is gen
    with pytest.raises(NotImplementedError):
        wrappers.update_params(torch.tensor(1.0))
