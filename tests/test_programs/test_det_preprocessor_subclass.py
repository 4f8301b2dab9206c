"""A ``DetDataPreprocessor`` written the way mmdet writes it: a subclass of
``ImgDataPreprocessor`` that calls ``super().forward``, reads the parent's private settings
(``_channel_conversion``, ``_enable_normalize``, ``pad_size_divisor``) to record each image's
pad shape in its metainfo, and runs ``batch_augments`` built from MODELS in training."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseModel, ImgDataPreprocessor
from piston.registry import MODELS
from piston.runner import Runner
from piston.structures import BaseDataElement, InstanceData


@MODELS.register_module(force=True)
class ToyBatchShift(nn.Module):
    """A batch augment: shifts every image right by ``shift`` pixels and moves the boxes."""

    def __init__(self, shift: int = 2) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, inputs, data_samples):
        inputs = torch.roll(inputs, self.shift, dims=-1)
        for s in data_samples:
            s.gt_instances.bboxes = s.gt_instances.bboxes + inputs.new_tensor(
                [self.shift, 0, self.shift, 0]
            )
        return inputs, data_samples


@MODELS.register_module(force=True)
class ToyDetDataPreprocessor(ImgDataPreprocessor):
    def __init__(
        self,
        mean=None,
        std=None,
        pad_size_divisor=1,
        pad_value=0,
        bgr_to_rgb=False,
        rgb_to_bgr=False,
        batch_augments=None,
    ) -> None:
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
        )
        if batch_augments is not None:
            self.batch_augments = nn.ModuleList([MODELS.build(aug) for aug in batch_augments])
        else:
            self.batch_augments = None

    def _get_pad_shape(self, data: dict) -> list[tuple]:
        shapes = []
        for img in data["inputs"]:
            h = math.ceil(img.shape[1] / self.pad_size_divisor) * self.pad_size_divisor
            w = math.ceil(img.shape[2] / self.pad_size_divisor) * self.pad_size_divisor
            shapes.append((h, w))
        return shapes

    def forward(self, data: dict, training: bool = False) -> dict:
        batch_pad_shape = self._get_pad_shape(data)
        data = super().forward(data=data, training=training)
        inputs, data_samples = data["inputs"], data["data_samples"]
        if data_samples is not None:
            batch_input_shape = tuple(inputs[0].size()[-2:])
            for sample, pad_shape in zip(data_samples, batch_pad_shape):
                sample.set_metainfo(dict(batch_input_shape=batch_input_shape, pad_shape=pad_shape))
        if training and self.batch_augments is not None:
            for aug in self.batch_augments:
                inputs, data_samples = aug(inputs, data_samples)
        return dict(inputs=inputs, data_samples=data_samples)


class Imgs(Dataset):
    SIZES = [(9, 12), (17, 5), (16, 16)]

    def __len__(self) -> int:
        return len(self.SIZES)

    def __getitem__(self, idx: int) -> dict:
        h, w = self.SIZES[idx]
        img = torch.full((3, h, w), 10 * (idx + 1), dtype=torch.uint8)
        img[0] = 0  # channel 0 (B in BGR) differs
        sample = BaseDataElement(metainfo=dict(img_shape=(h, w), img_id=idx))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[1.0, 1.0, 3.0, 3.0]]), labels=torch.tensor([idx % 2])
        )
        return dict(inputs=img, data_samples=sample)


class Detector(BaseModel):
    seen: list = []

    def __init__(self, data_preprocessor=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        Detector.seen.append((mode, inputs.clone(), [s.clone() for s in data_samples]))
        logits = self.conv(inputs).mean((2, 3))
        if mode == "loss":
            labels = torch.cat([s.gt_instances.labels for s in data_samples])
            return dict(loss_cls=F.cross_entropy(logits, labels))
        return data_samples


def test_det_preprocessor_subclass(tmp_path) -> None:
    Detector.seen = []
    pre_cfg = dict(
        type="ToyDetDataPreprocessor",
        mean=[0.0, 0.0, 0.0],
        std=[1.0, 2.0, 5.0],
        bgr_to_rgb=True,
        pad_size_divisor=8,
        batch_augments=[dict(type="ToyBatchShift", shift=2)],
    )
    loader = dict(
        dataset=Imgs(),
        batch_size=3,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="pseudo_collate"),
    )
    runner = Runner(
        model=Detector(data_preprocessor=pre_cfg),
        work_dir=str(tmp_path),
        train_dataloader=loader,
        test_dataloader=loader,
        test_evaluator=dict(type="DumpResults", out_file_path=str(tmp_path / "r.pkl")),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
    )
    pre = runner.model.data_preprocessor
    assert isinstance(pre.batch_augments[0], ToyBatchShift)
    runner.train()
    runner.test()
    (mode, train_in, train_samples), (_, test_in, test_samples) = Detector.seen
    assert mode == "loss"
    # max (17, 16) -> padded to (24, 16)
    assert train_in.shape == test_in.shape == (3, 3, 24, 16)
    assert [s.pad_shape for s in test_samples] == [(16, 16), (24, 8), (16, 16)]
    assert all(s.batch_input_shape == (24, 16) for s in test_samples)
    # RGB order after the flip: channel 2 (was B = 0) normalised by std 5
    img1 = test_in[1]
    assert torch.all(img1[0, :17, :5] == 20.0)
    assert torch.all(img1[1, :17, :5] == 10.0)
    assert torch.all(img1[2, :17, :5] == 0.0)
    assert torch.all(img1[:, 17:] == 0)
    # training also shifted the batch and the boxes; testing did not
    torch.testing.assert_close(train_in, torch.roll(test_in, 2, dims=-1))
    assert train_samples[0].gt_instances.bboxes.tolist() == [[3.0, 1.0, 5.0, 3.0]]
    assert test_samples[0].gt_instances.bboxes.tolist() == [[1.0, 1.0, 3.0, 3.0]]
    # the batch augment has no parameters: nothing new in the checkpoint
    assert not any(k.startswith("data_preprocessor") for k in runner.model.state_dict())
