"""The seed example (``examples/train_cifar10.py``) end to end, CIFAR-10 replaced by a stand-in.

The stand-in has CIFAR-10's type: a ``torch.utils.data.Dataset`` of ``(PIL.Image, int)`` pairs
run through the example's own torchvision transforms. ResNet-50 is swapped for a tiny network
so the five epochs run in seconds on a CPU; everything else is the example's code.
"""

from __future__ import annotations

import json
import os
import re
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_cifar10.py"
NUM_TRAIN, NUM_VAL = 320, 64  # 10 train iterations (one log line each epoch), 2 val batches


class FakeCIFAR10(torch.utils.data.Dataset):
    """In-memory CIFAR-10 look-alike: 32x32 RGB PIL images with int labels."""

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        from PIL import Image

        rng = np.random.default_rng(0 if train else 1)
        size = NUM_TRAIN if train else NUM_VAL
        self.targets = [int(t) for t in rng.integers(0, 10, size)]
        pixels = rng.integers(0, 256, (size, 32, 32, 3), dtype=np.uint8)
        for i, target in enumerate(self.targets):  # make the classes learnable
            pixels[i, :, :, target % 3] = 40 + 20 * target
        self.images = [Image.fromarray(p) for p in pixels]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx):
        img = self.images[idx]
        if self.transform is not None:
            img = self.transform(img)
        return img, self.targets[idx]


def _tiny_resnet(*args, **kwargs) -> nn.Module:
    return nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(48, 1000))


def _run_example(monkeypatch) -> dict:
    import torchvision

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    monkeypatch.setattr(torchvision.models, "resnet50", _tiny_resnet)
    return runpy.run_path(str(EXAMPLE), run_name="__main__")


TRAIN_LINE = re.compile(
    r"^\d{2}/\d{2} \d{2}:\d{2}:\d{2} - piston - INFO - Epoch\(train\) \[(\d)\]\[10/10\]  "
    r"lr: 1\.0000e-03  eta: \d+:\d{2}:\d{2}  time: \d+\.\d{4}  data_time: \d+\.\d{4}  "
    r"loss: \d+\.\d{4}(  \w+: [\d.]+)*$"  # other items (e.g. throughput) may follow
)
VAL_LINE = re.compile(
    r"^\d{2}/\d{2} \d{2}:\d{2}:\d{2} - piston - INFO - Epoch\(val\) \[(\d)\]\[2/2\]    "
    r"accuracy: \d+\.\d{4}  data_time: \d+\.\d{4}  time: \d+\.\d{4}$"
)


@pytest.mark.slow
def test_seed_example_end_to_end_then_resume(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = _run_example(monkeypatch)
    runner = namespace["runner"]
    work_dir = tmp_path / "work_dir"

    # checkpoints and last_checkpoint
    for epoch in range(1, 6):
        assert (work_dir / f"epoch_{epoch}.pth").is_file()
    assert (work_dir / "last_checkpoint").read_text() == str(work_dir / "epoch_5.pth")
    ckpt = torch.load(work_dir / "epoch_5.pth", weights_only=True)
    assert list(ckpt)[:4] == ["meta", "state_dict", "message_hub", "optimizer"]
    assert ckpt["meta"]["epoch"] == 5
    assert ckpt["meta"]["iter"] == 50
    assert "piston_version" in ckpt["meta"]
    assert "dataset_meta" not in ckpt["meta"]

    # work_dir layout: dumped (empty) config, log and scalar files in <timestamp>/
    stamp = runner.timestamp
    assert (work_dir / f"{stamp}.py").read_text().strip() == ""
    log_file = work_dir / stamp / f"{stamp}.log"
    assert log_file.is_file()
    scalars = [
        json.loads(line)
        for line in (work_dir / stamp / "vis_data" / "scalars.json").read_text().splitlines()
    ]
    train_records = [r for r in scalars if "loss" in r]
    val_records = [r for r in scalars if "accuracy" in r]
    assert [r["step"] for r in train_records] == [10, 20, 30, 40, 50]
    assert [r["step"] for r in val_records] == [1, 2, 3, 4, 5]
    assert train_records[0]["lr"] == pytest.approx(1e-3)
    assert (work_dir / stamp / "vis_data" / f"{stamp}.json").is_file()

    # console lines in the exact format of logging.md
    out = capsys.readouterr().out.splitlines()
    train_epochs = [int(m.group(1)) for line in out if (m := TRAIN_LINE.match(line))]
    val_epochs = [int(m.group(1)) for line in out if (m := VAL_LINE.match(line))]
    assert train_epochs == [1, 2, 3, 4, 5], "\n".join(line for line in out if "Epoch(" in line)
    assert val_epochs == [1, 2, 3, 4, 5]
    file_text = log_file.read_text()
    assert re.search(
        r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - piston - INFO - Epoch\(train\)", file_text, re.M
    )

    # resume: a new runner on the same work_dir continues at epoch 6
    from piston.runner import Runner

    resumed = Runner(
        model=namespace["MMResNet50"](),
        work_dir=str(work_dir),
        train_dataloader=namespace["train_dataloader"],
        optim_wrapper={"optimizer": {"type": torch.optim.SGD, "lr": 0.001, "momentum": 0.9}},
        train_cfg={"by_epoch": True, "max_epochs": 6, "val_interval": 1},
        val_dataloader=namespace["val_dataloader"],
        val_cfg={},
        val_evaluator={"type": namespace["Accuracy"]},
        resume=True,
    )
    resumed.train()
    out = capsys.readouterr().out
    assert f"Auto resumed from the latest checkpoint {work_dir / 'epoch_5.pth'}." in out
    assert "resumed epoch: 5, iter: 50" in out
    assert "Epoch(train) [6][10/10]" in out
    assert "Epoch(train) [5]" not in out
    assert resumed.epoch == 6
    assert resumed.iter == 60
    assert (work_dir / "last_checkpoint").read_text() == str(work_dir / "epoch_6.pth")
    assert os.path.isfile(work_dir / "epoch_6.pth")
