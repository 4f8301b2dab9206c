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


def test_a_scheduler_counter_keeps_the_fast_path(monkeypatch) -> None:
    """Attaching a parameter scheduler patches a counting ``step`` onto the wrapper; the fast
    path still applies (``scale_loss``/``should_update`` are not called), the counter still
    counts, and the result is the general path's, bit for bit."""
    from piston.optim import LinearLR

    def factory(optimizer):
        wrapper = OptimWrapper(optimizer)
        wrapper._scheduler = LinearLR(wrapper, start_factor=0.5, by_epoch=False, end=10)
        return wrapper

    class _SubclassWithScheduler(OptimWrapper):
        pass

    def general_factory(optimizer):
        wrapper = _SubclassWithScheduler(optimizer)
        wrapper._scheduler = LinearLR(wrapper, start_factor=0.5, by_epoch=False, end=10)
        return wrapper

    general, other = _train(general_factory)
    calls: list[str] = []
    original = OptimWrapper.scale_loss
    monkeypatch.setattr(
        OptimWrapper, "scale_loss", lambda self, loss: calls.append("scale") or original(self, loss)
    )
    fast, wrapper = _train(factory)
    assert calls == []  # the fast branch ran
    assert getattr(wrapper.__dict__["step"], "_with_counter", False)
    assert wrapper._global_step == other._global_step == 4  # counted: -1 at attach, +1 a step
    assert all(torch.equal(a, b) for a, b in zip(fast, general))


def test_a_counter_plus_another_patched_method_takes_the_general_path() -> None:
    from piston.optim import LinearLR

    calls: list[str] = []

    def factory(optimizer):
        wrapper = OptimWrapper(optimizer)
        LinearLR(wrapper, start_factor=0.5, by_epoch=False, end=10)
        original = wrapper.zero_grad

        def zero_grad(**kwargs):
            calls.append("zero_grad")
            original(**kwargs)

        wrapper.zero_grad = zero_grad
        return wrapper

    _train(factory, steps=2)
    assert calls == ["zero_grad"] * 2
