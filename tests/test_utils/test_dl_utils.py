from __future__ import annotations

import multiprocessing as mp
import os
import random
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import piston
from piston.utils.dl_utils import (
    TORCH_VERSION,
    TimeCounter,
    collect_env,
    has_batch_norm,
    is_jit_tracing,
    is_norm,
    load_url,
    mmcv_full_available,
    set_multi_processing,
    set_random_seed,
    tensor2imgs,
    torch_meshgrid,
)


def _draw():
    return random.random(), np.random.rand(), torch.rand(3)


def test_set_random_seed_reproduces_all_rngs():
    assert set_random_seed(123) == 123
    first = _draw()
    set_random_seed(123)
    second = _draw()
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert torch.equal(first[2], second[2])
    set_random_seed(124)
    assert not torch.equal(_draw()[2], first[2])


def test_set_random_seed_none_draws_a_seed_and_diff_rank_adds_rank():
    seed = set_random_seed(None)
    assert isinstance(seed, int)
    assert set_random_seed(10, diff_rank_seed=True) == 10  # rank 0 without a process group


@pytest.fixture
def restore_determinism():
    saved = (
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.deterministic,
        torch.are_deterministic_algorithms_enabled(),
    )
    yield
    torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved[:2]
    torch.use_deterministic_algorithms(saved[2])


@pytest.mark.usefixtures("restore_determinism")
def test_set_random_seed_deterministic():
    torch.backends.cudnn.benchmark = True
    set_random_seed(1, deterministic=True)
    assert torch.backends.cudnn.deterministic is True
    assert torch.backends.cudnn.benchmark is False
    assert torch.are_deterministic_algorithms_enabled()
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_collect_env_keys():
    env = collect_env()
    for key in (
        "sys.platform",
        "Python",
        "CUDA available",
        "MUSA available",
        "numpy_random_seed",
        "PyTorch",
        "PyTorch compiling details",
        "piston",
    ):
        assert key in env, key
    assert env["piston"] == piston.__version__
    assert env["PyTorch"] == torch.__version__ == TORCH_VERSION
    assert env["CUDA available"] == torch.cuda.is_available()
    assert ("GCC" in env) or ("MSVC" in env)
    # Spec order of the leading keys, and the naming rule: `piston`, never `MMEngine`.
    assert list(env)[:5] == [
        "sys.platform",
        "Python",
        "CUDA available",
        "MUSA available",
        "numpy_random_seed",
    ]
    assert list(env)[-1] == "piston"
    assert "MMEngine" not in env
    import importlib.util

    if importlib.util.find_spec("torchvision") is not None:
        import torchvision

        # the distribution's version (no local build tag such as "+cu130")
        assert torchvision.__version__.startswith(env["TorchVision"])
    if torch.cuda.is_available():
        assert any(key.startswith("GPU ") for key in env)
        assert "CUDA_HOME" in env
        assert "NVCC" in env


@pytest.fixture
def restore_start_method():
    method = mp.get_start_method(allow_none=True)
    yield
    mp.set_start_method(method, force=True)


@pytest.mark.usefixtures("restore_start_method")
def test_set_multi_processing(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "4")
    mp.set_start_method("spawn", force=True)
    with pytest.warns(UserWarning, match="previous setting|OMP_NUM_THREADS") as record:
        set_multi_processing("fork", distributed=True)
    messages = [str(item.message) for item in record]
    assert any("different from the previous setting" in m for m in messages)
    assert any("OMP_NUM_THREADS" in m for m in messages)
    assert not any("MKL_NUM_THREADS" in m for m in messages)
    assert mp.get_start_method() == "fork"
    assert os.environ["OMP_NUM_THREADS"] == "1"
    assert os.environ["MKL_NUM_THREADS"] == "4"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        set_multi_processing("fork", distributed=False)


def test_norm_helpers():
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    assert has_batch_norm(model)
    assert not has_batch_norm(nn.Sequential(nn.Linear(1, 1), nn.LayerNorm(1)))
    for layer in (nn.BatchNorm1d(2), nn.InstanceNorm2d(2), nn.GroupNorm(1, 2), nn.LayerNorm(2)):
        assert is_norm(layer)
    assert not is_norm(nn.Linear(1, 1))
    assert not is_norm(nn.BatchNorm2d(2), exclude=nn.BatchNorm2d)
    assert is_norm(nn.BatchNorm2d(2), exclude=(nn.LayerNorm,))
    with pytest.raises(TypeError):
        is_norm(nn.BatchNorm2d(2), exclude="bn")


def test_tensor2imgs():
    tensor = torch.zeros(2, 3, 4, 5)
    tensor[:, 0] = 1.0  # first channel (R) set
    images = tensor2imgs(tensor, mean=(0, 0, 0), std=(100, 1, 1), to_bgr=True)
    assert len(images) == 2
    assert images[0].shape == (4, 5, 3)
    assert images[0].dtype == np.uint8
    assert images[0][0, 0].tolist() == [0, 0, 100]  # RGB -> BGR
    gray = tensor2imgs(torch.full((1, 1, 2, 2), 3.0), mean=(10,), std=(2,))
    assert gray[0].shape == (2, 2, 1)
    assert gray[0][0, 0, 0] == 16
    with pytest.raises(AssertionError):
        tensor2imgs(torch.zeros(1, 2, 2, 2))


def test_small_torch_helpers():
    grid_x, grid_y = torch_meshgrid(torch.arange(2), torch.arange(3))
    assert grid_x.shape == (2, 3)
    assert grid_x[1, 0] == 1
    assert grid_y[0, 2] == 2
    assert is_jit_tracing() is False
    traced_flags = []

    def fn(x):
        traced_flags.append(is_jit_tracing())
        return x + 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.trace is deprecated
        torch.jit.trace(fn, torch.ones(1), check_trace=False)
    assert traced_flags == [True]
    assert mmcv_full_available() is False


def test_load_url_uses_cache_without_network(tmp_path):
    state = {"w": torch.arange(3)}
    torch.save(state, tmp_path / "weights-abc.pth")
    loaded = load_url("http://invalid.invalid/models/weights-abc.pth", model_dir=str(tmp_path))
    assert torch.equal(loaded["w"], state["w"])
    loaded = load_url(
        "http://invalid.invalid/x",
        model_dir=str(tmp_path),
        file_name="weights-abc.pth",
        map_location="cpu",
    )
    assert torch.equal(loaded["w"], state["w"])


def test_load_url_default_dir_follows_torch_home(tmp_path, monkeypatch):
    """Same cache as torch hub / torchvision: ``$TORCH_HOME/hub/checkpoints``."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    (tmp_path / "hub" / "checkpoints").mkdir(parents=True)
    torch.save({"a": 1}, tmp_path / "hub" / "checkpoints" / "m.pth")
    assert load_url("http://invalid.invalid/m.pth") == {"a": 1}


def test_load_url_default_dir_follows_torch_hub_set_dir(tmp_path):
    import torch.hub

    previous = torch.hub._hub_dir  # None unless set: then $TORCH_HOME decides (keep it so)
    torch.hub.set_dir(str(tmp_path / "myhub"))
    try:
        (tmp_path / "myhub" / "checkpoints").mkdir(parents=True)
        torch.save({"b": 2}, tmp_path / "myhub" / "checkpoints" / "n.pth")
        assert load_url("http://invalid.invalid/n.pth") == {"b": 2}
    finally:
        torch.hub._hub_dir = previous


def test_time_counter_logs_average_after_warmup(monkeypatch):
    messages = []
    import piston.logging

    monkeypatch.setattr(
        piston.logging, "print_log", lambda msg, logger=None, **kw: messages.append(msg)
    )

    @TimeCounter(log_interval=2, warmup_interval=2, tag="unique-tc")
    def work():
        return 1

    for _ in range(4):
        assert work() == 1
    assert len(messages) == 2
    assert messages[0].startswith("[unique-tc]-time per run averaged in the past 2 runs:")
    assert TimeCounter(tag="unique-tc") is TimeCounter(tag="unique-tc")
    with TimeCounter(tag="ctx-tc", warmup_interval=1):
        pass
    assert messages[-1].startswith("[ctx-tc]")
    with pytest.raises(AssertionError), TimeCounter():
        pass


def test_parrots_wrapper_names():
    from piston.utils.dl_utils import parrots_wrapper

    assert parrots_wrapper._BatchNorm is nn.modules.batchnorm._BatchNorm
    assert torch.__version__ == parrots_wrapper.TORCH_VERSION
    assert parrots_wrapper.is_rocm_pytorch() == (torch.version.hip is not None)
    assert "PyTorch" in parrots_wrapper.get_build_config()
