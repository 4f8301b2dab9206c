from __future__ import annotations

import numpy as np
import pytest
import torch

from piston.structures import LabelData, PixelData


def test_onehot_to_label() -> None:
    assert torch.equal(LabelData.onehot_to_label(torch.tensor([0, 1, 0, 1])), torch.tensor([1, 3]))
    with pytest.raises(ValueError, match="one-hot"):
        LabelData.onehot_to_label(torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="one-hot"):
        LabelData.onehot_to_label(torch.ones(2, 2))


def test_label_to_onehot_keeps_dtype_and_checks_range() -> None:
    onehot = LabelData.label_to_onehot(torch.tensor([1, 3], dtype=torch.int32), num_classes=5)
    assert onehot.tolist() == [0, 1, 0, 1, 0]
    assert onehot.dtype == torch.int32
    with pytest.raises(AssertionError, match="num_classes=3"):
        LabelData.label_to_onehot(torch.tensor([3]), num_classes=3)


def test_label_data_is_plain_element() -> None:
    label = LabelData(metainfo={"num_classes": 3}, score=torch.rand(3), item=[1])
    assert sorted(label.keys()) == ["item", "score"]


def test_pixel_data_accepts_3d_and_expands_2d_with_warning() -> None:
    pix = PixelData(sem_seg=torch.zeros(1, 4, 6))
    assert pix.shape == (4, 6)
    with pytest.warns(UserWarning, match=r"\(1, H, W\)"):
        pix.heat = np.zeros((4, 6))
    assert pix.heat.shape == (1, 4, 6)
    assert PixelData().shape is None


def test_pixel_data_rejects_bad_values() -> None:
    pix = PixelData(sem_seg=torch.zeros(1, 4, 6))
    with pytest.raises(AssertionError, match=r"\(5, 6\).*'other'.*\(4, 6\)"):
        pix.other = torch.zeros(2, 5, 6)
    with pytest.raises(AssertionError, match="dim of value must be 2 or 3, but got 4"):
        pix.other = torch.zeros(1, 1, 4, 6)
    with pytest.raises(AssertionError, match="list"):
        pix.other = [[1]]


def test_pixel_data_getitem_slices_height_and_width() -> None:
    values = torch.arange(24).view(1, 4, 6)
    pix = PixelData(metainfo={"a": 1}, sem_seg=values, mask=values.numpy())
    sub = pix[1:3, 2]
    assert sub.shape == (2, 1)
    assert torch.equal(sub.sem_seg, values[:, 1:3, 2:3])
    assert sub.mask.shape == (1, 2, 1)
    assert sub.metainfo == {"a": 1}
    assert pix[-1, -1].sem_seg.item() == 23


def test_pixel_data_getitem_rejects_other_items() -> None:
    pix = PixelData(sem_seg=torch.zeros(1, 4, 6))
    with pytest.raises(TypeError):
        pix[0]
    with pytest.raises(TypeError):
        pix["sem_seg"]
    with pytest.raises(TypeError):
        pix[0, "x"]
