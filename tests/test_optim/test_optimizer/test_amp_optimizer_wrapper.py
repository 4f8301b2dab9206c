"""AmpOptimWrapper: bf16 autocast on CPU, refused dtypes, loss scaling and scaler state."""

from __future__ import annotations

import copy
import sys

import pytest
import torch
from torch import nn

import piston.optim.optimizer.amp_optimizer_wrapper as amp_module
from piston.logging import MessageHub
from piston.optim import AmpOptimWrapper, OptimWrapper


@pytest.fixture
def on_cpu(monkeypatch):
    """Make the wrapper see a CPU-only machine even where CUDA exists."""
    monkeypatch.setattr(amp_module, "_resolve_device", lambda: "cpu")


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1))


def _wrapper(model: nn.Module, **kwargs) -> AmpOptimWrapper:
    kwargs.setdefault("dtype", "bfloat16")  # on the CPU bf16 autocast must be asked for
    return AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.05), **kwargs)


def test_no_accelerator_and_no_dtype_is_an_assertion_error(on_cpu) -> None:
    """optim.md: AmpOptimWrapper requires an accelerator, else AssertionError."""
    with pytest.raises(AssertionError, match="requires an accelerator"):
        _wrapper(_model(), dtype=None)


def test_bf16_autocast_on_cpu_trains(on_cpu) -> None:
    model = _model()
    wrapper = _wrapper(model)
    assert isinstance(wrapper, OptimWrapper)
    assert wrapper.cast_dtype is torch.bfloat16
    x, y = torch.randn(16, 8), torch.randn(16, 1)
    losses = []
    for _ in range(20):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype is torch.bfloat16
            assert torch.is_autocast_enabled("cpu")
            loss = nn.functional.mse_loss(out.float(), y)
        wrapper.update_params(loss)
        losses.append(loss.item())
    assert not torch.is_autocast_enabled("cpu")
    assert losses[-1] < losses[0] * 0.7
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("dtype", ["float16", torch.float16, "float64"])
def test_cpu_refuses_dtypes_it_cannot_autocast(on_cpu, dtype) -> None:
    with pytest.raises(ValueError, match=r"only supports torch\.bfloat16"):
        _wrapper(_model(), dtype=dtype)


def test_dtype_validation(on_cpu) -> None:
    with pytest.raises(AssertionError, match="dtype should be any of"):
        _wrapper(_model(), dtype="half")
    with pytest.raises(TypeError, match="dtype"):
        _wrapper(_model(), dtype=16)
    assert _wrapper(_model(), dtype="bfloat16").cast_dtype is torch.bfloat16


def test_unsupported_device_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(amp_module, "_resolve_device", lambda: "mps")
    with pytest.raises(AssertionError, match="CUDA, NPU, MLU or MUSA"):
        _wrapper(_model())


def test_loss_scale_variants(on_cpu) -> None:
    static = _wrapper(_model(), loss_scale=512.0)
    assert static._scale_update_param == 512.0
    assert static.loss_scaler.get_scale() == 512.0
    configured = _wrapper(_model(), loss_scale={"init_scale": 8.0, "growth_interval": 3})
    assert configured._scale_update_param is None
    assert configured.loss_scaler.get_scale() == 8.0
    assert configured.loss_scaler.get_growth_interval() == 3
    explicit = _wrapper(_model(), loss_scale={})  # a dict asks for a scaler even with bf16
    assert explicit.loss_scaler.is_enabled()
    assert explicit.loss_scaler.get_scale() == 2.0**16
    dynamic = _wrapper(_model())  # bf16 (the CPU default): no scaling, no scaler
    assert not dynamic.loss_scaler.is_enabled()
    with pytest.raises(TypeError, match="loss_scale"):
        _wrapper(_model(), loss_scale="static")


def test_static_scale_is_kept_and_gradients_unscaled(on_cpu) -> None:
    model = _model()
    reference = copy.deepcopy(model)
    wrapper = _wrapper(model, loss_scale=64.0)
    x, y = torch.randn(4, 8), torch.randn(4, 1)
    wrapper.update_params(nn.functional.mse_loss(model(x), y))
    assert wrapper.loss_scaler.get_scale() == 64.0
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    nn.functional.mse_loss(reference(x), y).backward()
    optimizer.step()
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


def test_clip_grad_unscales_before_clipping(on_cpu) -> None:
    hub = MessageHub.get_instance("test_amp_clip")
    model = _model()
    reference = copy.deepcopy(model)
    wrapper = _wrapper(model, clip_grad={"max_norm": 1e6})
    x, y = torch.randn(4, 8), torch.randn(4, 1)
    wrapper.update_params(nn.functional.mse_loss(model(x), y))
    nn.functional.mse_loss(reference(x), y).backward()
    expected = torch.nn.utils.clip_grad_norm_(reference.parameters(), 1e6)
    logged = hub.get_scalar("train/grad_norm").data[0][-1]
    assert float(logged) == pytest.approx(expected.item(), rel=1e-5)


def test_state_dict_carries_loss_scaler(on_cpu) -> None:
    model = _model()
    wrapper = _wrapper(model, loss_scale={"init_scale": 32.0})
    state = wrapper.state_dict()
    assert state["loss_scaler"]["scale"] == 32.0
    other = _wrapper(_model(), loss_scale={})
    other.load_state_dict(state)
    assert other.loss_scaler.get_scale() == 32.0
    assert "loss_scaler" in state  # the input is not modified
    # Without a scaler the state is {}; loading it keeps an enabled scaler as it is, and a
    # scaler's state loads into a wrapper without one (ignored: bf16 needs no scaling).
    plain = _wrapper(_model())
    assert plain.state_dict()["loss_scaler"] == {}
    other.load_state_dict(plain.state_dict())
    assert other.loss_scaler.get_scale() == 32.0
    plain.load_state_dict(state)
    assert not plain.loss_scaler.is_enabled()


@pytest.mark.parametrize("loss_scale", ["dynamic", None])
def test_bf16_update_params_uses_no_scaler_and_no_item(on_cpu, monkeypatch, loss_scale) -> None:
    """bf16 needs no loss scaling: update_params must not touch a GradScaler nor call .item()
    (a dynamic scaler reads found-inf with .item() every step: a host-device sync on GPUs)."""
    model = _model()
    reference = copy.deepcopy(model)
    wrapper = _wrapper(model, dtype="bfloat16", loss_scale=loss_scale)
    calls = []

    def forbidden(name):
        def fail(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called on the bf16 per-iteration path")

        return fail

    for name in ("scale", "unscale_", "step", "update"):
        monkeypatch.setattr(wrapper.loss_scaler, name, forbidden(f"GradScaler.{name}"))
    monkeypatch.setattr(torch.Tensor, "item", forbidden("Tensor.item"))
    x, y = torch.randn(4, 8), torch.randn(4, 1)
    for _ in range(3):
        with wrapper.optim_context(model):
            loss = nn.functional.mse_loss(model(x).float(), y)
        wrapper.update_params(loss)
    monkeypatch.undo()
    assert calls == []
    # Same update as the unscaled reference under the same autocast.
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05)
    for _ in range(3):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = nn.functional.mse_loss(reference(x).float(), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    for a, b in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_on_cuda_with_dynamic_scaling() -> None:
    model = _model().cuda()
    wrapper = _wrapper(model, dtype="float16")
    assert wrapper.device == "cuda"
    x, y = torch.randn(16, 8, device="cuda"), torch.randn(16, 1, device="cuda")
    for _ in range(5):
        with wrapper.optim_context(model):
            out = model(x)
            assert out.dtype is torch.float16
            loss = nn.functional.mse_loss(out.float(), y)
        wrapper.update_params(loss)
    assert wrapper.state_dict()["loss_scaler"]["scale"] > 0
    default = _wrapper(model, dtype=None)
    assert default.cast_dtype is None  # torch's CUDA default (float16) at autocast time


def test_apex_wrapper_names_the_missing_package(monkeypatch) -> None:
    from piston.optim import ApexOptimWrapper

    monkeypatch.setitem(sys.modules, "apex", None)  # make `import apex` fail even if installed
    with pytest.raises(ImportError, match="NVIDIA apex"):
        ApexOptimWrapper(optimizer=torch.optim.SGD(_model().parameters(), lr=0.1))
