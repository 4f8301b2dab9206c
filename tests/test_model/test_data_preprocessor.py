from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from piston.model import BaseDataPreprocessor, ImgDataPreprocessor, stack_batch
from piston.structures import BaseDataElement

Pair = namedtuple("Pair", ["a", "b"])


def test_cast_data_keeps_container_types():
    pre = BaseDataPreprocessor()
    element = BaseDataElement(metainfo={"img_shape": (2, 2)}, score=torch.ones(2))
    data = {
        "list": [torch.ones(1), "text"],
        "tuple": (torch.zeros(1), None),
        "pair": Pair(torch.ones(1), b"raw"),
        "element": element,
        "number": 3,
    }
    out = pre(data)
    assert type(out) is dict
    assert type(out["list"]) is list
    assert out["list"][1] == "text"
    assert type(out["tuple"]) is tuple
    assert out["tuple"][1] is None
    assert type(out["pair"]) is Pair
    assert out["pair"].b == b"raw"
    assert isinstance(out["element"], BaseDataElement)
    assert torch.equal(out["element"].score, torch.ones(2))
    assert out["number"] == 3


def test_cast_data_keeps_seed_list_batch():
    imgs, labels = torch.randn(2, 3, 4, 4), torch.tensor([1, 2])
    out = BaseDataPreprocessor()([imgs, labels], True)
    assert type(out) is list
    assert out[0] is imgs  # already on the device: no copy


def test_cast_data_moves_to_device():
    pre = BaseDataPreprocessor(non_blocking=True)
    pre.to("meta")
    assert pre.device == torch.device("meta")
    out = pre({"x": [torch.ones(2)], "e": BaseDataElement(v=torch.ones(1))})
    assert out["x"][0].device.type == "meta"
    assert out["e"].v.device.type == "meta"
    pre.cpu()
    assert pre.device == torch.device("cpu")


class _RecordsTo(torch.Tensor):
    """Records the ``non_blocking`` flag of every ``.to`` call."""

    calls: list = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func is torch.Tensor.to:
            cls.calls.append((kwargs or {}).get("non_blocking"))
        return super().__torch_function__(func, types, args, kwargs or {})


def test_host_to_device_copies_never_block_and_skip_the_pinned_query(monkeypatch):
    """CPU -> device copies use non_blocking=True without asking ``is_pinned()`` (a driver call
    per tensor per iteration on CUDA); the copy is staged safely from pageable memory."""

    def no_query(self):
        raise AssertionError("is_pinned() queried")

    monkeypatch.setattr(torch.Tensor, "is_pinned", no_query)
    _RecordsTo.calls = []
    pre = BaseDataPreprocessor()  # non_blocking=False: the default
    pre.to("meta")
    out = pre([torch.ones(2).as_subclass(_RecordsTo)], True)
    assert out[0].device.type == "meta"
    assert _RecordsTo.calls == [True]


def test_img_preprocessor_normalises_and_converts_channels():
    img = torch.stack([torch.full((2, 2), v) for v in (10.0, 20.0, 30.0)])
    pre = ImgDataPreprocessor(mean=[1, 2, 3], std=[2, 4, 6], bgr_to_rgb=True)
    out = pre({"inputs": [img]})
    expected = torch.stack(
        [torch.full((2, 2), v) for v in ((30 - 1) / 2, (20 - 2) / 4, (10 - 3) / 6)]
    )
    assert out["inputs"].shape == (1, 3, 2, 2)
    assert torch.allclose(out["inputs"][0], expected)
    assert out["data_samples"] is None
    batched = pre({"inputs": img[None].to(torch.uint8), "data_samples": ["s"]})
    assert torch.allclose(batched["inputs"][0], expected)
    assert batched["inputs"].dtype == torch.float32
    assert batched["data_samples"] == ["s"]


def test_img_preprocessor_mean_buffers_are_not_persistent():
    pre = ImgDataPreprocessor(mean=[1], std=[2])
    assert pre.mean.shape == (1, 1, 1)
    assert "mean" not in pre.state_dict()


def test_img_preprocessor_pads_list_of_different_sizes():
    pre = ImgDataPreprocessor(pad_size_divisor=4, pad_value=-1)
    imgs = [torch.ones(3, 5, 3), torch.ones(3, 2, 6)]
    out = pre({"inputs": imgs})["inputs"]
    assert out.shape == (2, 3, 8, 8)
    assert torch.all(out[0, :, :5, :3] == 1)
    assert torch.all(out[0, :, 5:, :] == -1)
    assert torch.all(out[1, :, :2, :6] == 1)
    assert torch.all(out[1, :, :, 6:] == -1)


def test_img_preprocessor_pads_nchw_tensor():
    out = ImgDataPreprocessor(pad_size_divisor=4)({"inputs": torch.ones(2, 1, 5, 4)})["inputs"]
    assert out.shape == (2, 1, 8, 4)
    assert torch.all(out[:, :, 5:] == 0)


def test_img_preprocessor_argument_errors():
    with pytest.raises(AssertionError):
        ImgDataPreprocessor(bgr_to_rgb=True, rgb_to_bgr=True)
    with pytest.raises(AssertionError):
        ImgDataPreprocessor(mean=[1, 2, 3])
    with pytest.raises(AssertionError):
        ImgDataPreprocessor(mean=[1, 2], std=[1, 2])


def test_img_preprocessor_input_errors():
    pre = ImgDataPreprocessor(mean=[1, 2, 3], std=[1, 1, 1])
    with pytest.raises(AssertionError, match="3, H, W"):
        pre({"inputs": [torch.ones(1, 2, 2)]})
    with pytest.raises(AssertionError, match="NCHW"):
        pre({"inputs": torch.ones(3, 2, 2)})
    with pytest.raises(TypeError):
        pre({"inputs": "image"})


def test_stack_batch():
    same = [torch.ones(1, 2, 2), torch.zeros(1, 2, 2)]
    assert torch.equal(stack_batch(same), torch.stack(same))
    padded = stack_batch(
        [torch.ones(1, 2, 3), torch.ones(1, 3, 5)], pad_size_divisor=2, pad_value=7
    )
    assert padded.shape == (2, 1, 4, 6)  # the first (channel) dim is never padded
    assert torch.all(padded[0, 0, :2, :3] == 1)
    assert torch.all(padded[0, 0, 2:] == 7)
    assert torch.all(padded[1, 0, :3, :5] == 1)
    assert torch.all(padded[1, 0, :, 5] == 7)
    with pytest.raises(AssertionError):
        stack_batch([])
    with pytest.raises(AssertionError):
        stack_batch([torch.ones(2), torch.ones(2, 2)])
    with pytest.raises(AssertionError):
        stack_batch(torch.ones(2, 2))
