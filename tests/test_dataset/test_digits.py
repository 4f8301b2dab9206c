from __future__ import annotations

import os

import pytest
import torch
from torch.utils.data import DataLoader

from piston.dataset import DefaultSampler, DigitsDataset, default_collate
from piston.dataset.digits import DIGITS_FILE
from piston.registry import DATASETS


def test_bundled_file_is_small_and_inside_the_package() -> None:
    assert os.path.isfile(DIGITS_FILE)
    assert os.path.getsize(DIGITS_FILE) < 200_000
    import piston

    assert DIGITS_FILE.startswith(os.path.dirname(piston.__file__))


def test_splits_are_fixed_and_disjoint() -> None:
    train, val = DigitsDataset(split="train"), DigitsDataset(split="val")
    assert (len(train), len(val)) == (1500, 297)
    train_imgs = torch.stack([train[i][0] for i in range(len(train))])
    val_imgs = torch.stack([val[i][0] for i in range(len(val))])
    # no validation image appears in the training split
    same = (val_imgs.flatten(1)[:, None] == train_imgs.flatten(1)[None]).all(-1)
    assert same.any(1).float().mean() < 0.05  # a handful of identical digits at 8x8 is normal
    assert torch.equal(DigitsDataset(split="val")[0][0], val[0][0])  # deterministic


def test_sample_is_float_image_in_unit_range_and_int_label() -> None:
    img, label = DigitsDataset(split="val")[5]
    assert img.shape == (1, 8, 8)
    assert img.dtype == torch.float32
    assert img.min() >= 0.0
    assert img.max() == 1.0  # pixel counts 0..16 scaled by 1/16
    assert isinstance(label, int)
    assert 0 <= label <= 9


def test_labels_cover_all_classes_in_both_splits() -> None:
    for split in ("train", "val"):
        ds = DigitsDataset(split=split)
        labels = {ds.get_data_info(i)["gt_label"] for i in range(len(ds))}
        assert labels == set(range(10))
        assert ds.metainfo["classes"] == tuple("0123456789")


def test_plain_dataloader_gives_imgs_and_labels() -> None:
    loader = DataLoader(DigitsDataset(split="train"), batch_size=32, shuffle=True)
    batch = next(iter(loader))
    assert isinstance(batch, list)
    imgs, labels = batch
    assert imgs.shape == (32, 1, 8, 8)
    assert labels.dtype == torch.int64
    assert labels.shape == (32,)


def test_built_from_config_with_sampler_and_collate() -> None:
    ds = DATASETS.build({"type": "DigitsDataset", "split": "val", "indices": 10})
    loader = DataLoader(
        ds, batch_size=4, sampler=DefaultSampler(ds, seed=0), collate_fn=default_collate
    )
    sizes = [len(labels) for _, labels in loader]
    assert sizes == [4, 4, 2]


def test_pipeline_and_return_dict() -> None:
    def invert(data: dict) -> dict:
        data["img"] = 1 - data["img"]
        return data

    plain = DigitsDataset(split="val")[0][0]
    inverted, _ = DigitsDataset(split="val", pipeline=[invert])[0]
    assert torch.allclose(inverted, 1 - plain)
    sample = DigitsDataset(split="val", return_dict=True)[0]
    assert set(sample) == {"img", "gt_label", "sample_idx"}


def test_a_linear_model_learns_it() -> None:
    torch.manual_seed(0)
    imgs, labels = next(iter(DataLoader(DigitsDataset(split="train"), batch_size=1500)))
    model = torch.nn.Linear(64, 10)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny ops: threads only add contention on a shared machine
    try:
        for _ in range(150):  # full-batch gradient descent
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(imgs.flatten(1)), labels).backward()
            with torch.no_grad():
                for param in model.parameters():
                    param -= 1.0 * param.grad
        val_imgs, val_labels = next(iter(DataLoader(DigitsDataset(split="val"), batch_size=297)))
        accuracy = (model(val_imgs.flatten(1)).argmax(1) == val_labels).float().mean()
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 0.85, accuracy


def test_bad_split_and_custom_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="test"):
        DigitsDataset(split="test")
    import numpy as np

    path = tmp_path / "bad.npz"
    np.savez(path, images=np.zeros((4, 5, 5), np.uint8), labels=np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"\(4, 5, 5\)"):
        DigitsDataset(ann_file=str(path))
