from __future__ import annotations

import pytest
import torch

import piston.device as device
from piston.device import (
    get_device,
    get_max_cuda_memory,
    is_cuda_available,
    is_dipu_available,
    is_mlu_available,
    is_mps_available,
    is_musa_available,
    is_npu_available,
    is_npu_support_full_precision,
)


def test_probes_are_bools_and_match_torch():
    for probe in (
        is_cuda_available,
        is_npu_available,
        is_mlu_available,
        is_mps_available,
        is_dipu_available,
        is_musa_available,
        is_npu_support_full_precision,
    ):
        assert isinstance(probe(), bool)
    assert is_cuda_available() == torch.cuda.is_available()


def test_get_device_matches_probes():
    expected = "cpu"
    for name, probe in (
        ("npu", is_npu_available),
        ("cuda", is_cuda_available),
        ("mlu", is_mlu_available),
        ("mps", is_mps_available),
        ("dipu", is_dipu_available),
        ("musa", is_musa_available),
    ):
        if probe():
            expected = name
            break
    assert get_device() == expected
    if not torch.cuda.is_available():
        assert get_device() == "cpu"


def test_decide_device_priority(monkeypatch):
    monkeypatch.setattr(device.utils, "IS_CUDA_AVAILABLE", True)
    monkeypatch.setattr(device.utils, "IS_MPS_AVAILABLE", True)
    monkeypatch.setattr(device.utils, "IS_NPU_AVAILABLE", False)
    assert device.utils._decide_device() == "cuda"
    monkeypatch.setattr(device.utils, "IS_NPU_AVAILABLE", True)
    assert device.utils._decide_device() == "npu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_get_max_cuda_memory_reports_mb_and_resets_peak():
    torch.cuda.reset_peak_memory_stats()
    big = torch.empty(64 * 2**20, dtype=torch.uint8, device="cuda")  # 64 MB
    del big
    peak = get_max_cuda_memory()
    assert peak >= 64
    small = torch.empty(2**20, dtype=torch.uint8, device="cuda")
    assert get_max_cuda_memory() < peak
    del small
    assert get_max_cuda_memory(torch.device("cuda", 0)) >= 0
