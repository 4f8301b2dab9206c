"""``OptimWrapper.update_params`` fast path (one window per call): same result as the general
path, and instance-patched methods still take the general path."""

from __future__ import annotations

import torch
import torch.nn as nn

from piston.optim import OptimWrapper


def _train(wrapper_factory, steps: int = 5) -> tuple[list[torch.Tensor], OptimWrapper]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    wrapper = wrapper_factory(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        loss = model(torch.randn(3, 4, generator=gen)).pow(2).mean()
        wrapper.update_params(loss)
    return [p.detach().clone() for p in model.parameters()], wrapper


class _Subclass(OptimWrapper):  # a subclass takes the general path
    pass


def test_fast_path_matches_general_path_bit_for_bit() -> None:
    fast, wrapper = _train(OptimWrapper)
    general, other = _train(_Subclass)
    assert all(torch.equal(a, b) for a, b in zip(fast, general))
    assert wrapper._inner_count == other._inner_count == 5
    assert all(
        p.grad is None or not p.grad.any() for p in wrapper.optimizer.param_groups[0]["params"]
    )


def test_instance_patched_methods_are_still_called() -> None:
    calls: list[str] = []

    def factory(optimizer):
        wrapper = OptimWrapper(optimizer)
        original_step = wrapper.step

        def step(**kwargs):
            calls.append("step")
            original_step(**kwargs)

        wrapper.step = step
        return wrapper

    _, wrapper = _train(factory, steps=3)
    assert calls == ["step"] * 3
    assert wrapper._inner_count == 3


def test_clip_grad_takes_the_general_path() -> None:
    def factory(optimizer):
        return OptimWrapper(optimizer, clip_grad=dict(max_norm=1e-6))

    clipped, _ = _train(factory, steps=1)
    plain, _ = _train(OptimWrapper, steps=1)
    assert not all(torch.equal(a, b) for a, b in zip(clipped, plain))
