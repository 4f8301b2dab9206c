"""An mmdet-style detector config: ``ImgDataPreprocessor`` fed by ``pseudo_collate``.

Images of different sizes (CHW uint8, BGR as cv2 loads them) are flipped to RGB, normalised
with ImageNet mean/std, padded to a multiple of 32 and stacked; the model records what it
received so the program can check the batch value by value.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.model import BaseDataPreprocessor, BaseModel, ImgDataPreprocessor
from piston.registry import MODELS
from piston.runner import Runner
from piston.structures import BaseDataElement, InstanceData

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
SIZES = [(20, 30), (33, 17), (10, 40), (31, 31), (8, 8)]


class VariedImages(Dataset):
    def __len__(self) -> int:
        return len(SIZES)

    def __getitem__(self, idx: int) -> dict:
        h, w = SIZES[idx]
        gen = torch.Generator().manual_seed(idx)
        img = torch.randint(0, 256, (3, h, w), generator=gen, dtype=torch.uint8)
        sample = BaseDataElement(metainfo=dict(img_shape=(h, w), sample_idx=idx))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[0.0, 0.0, w / 2, h / 2]]), labels=torch.tensor([idx % 2])
        )
        return dict(inputs=img, data_samples=sample)


@MODELS.register_module(force=True)
class RecordingDetector(BaseModel):
    seen: list = []

    def __init__(self, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.conv = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, inputs, data_samples=None, mode: str = "tensor"):
        RecordingDetector.seen.append((mode, inputs.clone(), data_samples))
        feat = self.conv(inputs).mean((2, 3))
        if mode == "loss":
            labels = torch.cat([s.gt_instances.labels for s in data_samples])
            return dict(loss_cls=F.cross_entropy(feat, labels))
        if mode == "predict":
            for s, f in zip(data_samples, feat):
                s.pred_instances = InstanceData(scores=f.softmax(0)[None], labels=f.argmax()[None])
            return data_samples
        return feat


def _expected(idx: int, pad_h: int, pad_w: int) -> torch.Tensor:
    h, w = SIZES[idx]
    img = VariedImages()[idx]["inputs"].float()[[2, 1, 0]]
    img = (img - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(3, 1, 1)
    out = torch.zeros(3, pad_h, pad_w)
    out[:, :h, :w] = img
    return out


def test_img_preprocessor_in_runner(tmp_path) -> None:
    RecordingDetector.seen = []
    runner = Runner(
        model=dict(
            type="RecordingDetector",
            data_preprocessor=dict(
                type="ImgDataPreprocessor",
                mean=MEAN,
                std=STD,
                bgr_to_rgb=True,
                pad_size_divisor=32,
                pad_value=0,
                non_blocking=False,
            ),
        ),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=VariedImages(),
            batch_size=2,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        val_dataloader=dict(
            dataset=VariedImages(),
            batch_size=3,
            num_workers=0,
            sampler=dict(type="DefaultSampler", shuffle=False),
            collate_fn=dict(type="pseudo_collate"),
        ),
        val_evaluator=dict(type="DumpResults", out_file_path=str(tmp_path / "preds.pkl")),
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.0)),
    )
    assert isinstance(runner.model.data_preprocessor, ImgDataPreprocessor)
    # mean/std are non-persistent buffers: not in the checkpoint's state dict
    assert not any(k.startswith("data_preprocessor") for k in runner.model.state_dict())
    runner.train()
    modes = [m for m, _, _ in RecordingDetector.seen]
    assert modes == ["loss"] * 3 + ["predict"] * 2
    # first train batch: (20,30) and (33,17) -> max (33,30) -> padded to (64,32)
    _, batch, samples = RecordingDetector.seen[0]
    assert batch.shape == (2, 3, 64, 32)
    assert batch.dtype == torch.float32
    torch.testing.assert_close(batch[0], _expected(0, 64, 32))
    torch.testing.assert_close(batch[1], _expected(1, 64, 32))
    assert [s.img_shape for s in samples] == [(20, 30), (33, 17)]
    # last train batch holds one 8x8 image -> 32x32
    _, batch, _ = RecordingDetector.seen[2]
    assert batch.shape == (1, 3, 32, 32)
    torch.testing.assert_close(batch[0], _expected(4, 32, 32))
    # val batch of 3: max (33, 40) -> (64, 64)
    _, batch, _ = RecordingDetector.seen[3]
    assert batch.shape == (3, 3, 64, 64)
    for i in range(3):
        torch.testing.assert_close(batch[i], _expected(i, 64, 64))
    # DumpResults stored the predicted data samples (converted to dicts, on cpu)
    import pickle

    with open(tmp_path / "preds.pkl", "rb") as f:
        preds = pickle.load(f)
    assert len(preds) == 5
    assert preds[0]["sample_idx"] == 0
    assert preds[0]["img_shape"] == (20, 30)
    assert preds[4]["pred_instances"]["labels"].shape == (1,)


def test_img_preprocessor_nchw_and_single_channel() -> None:
    pre = ImgDataPreprocessor(mean=[127.5], std=[127.5], pad_size_divisor=8, pad_value=255)
    imgs = torch.full((2, 1, 5, 9), 255, dtype=torch.uint8)
    out = pre(dict(inputs=imgs), training=True)
    assert out["data_samples"] is None
    assert out["inputs"].shape == (2, 1, 8, 16)
    # the image area is normalised to 1, the padding keeps pad_value raw
    assert torch.all(out["inputs"][:, :, :5, :9] == 1.0)
    assert torch.all(out["inputs"][:, :, 5:, :] == 255)
    # without mean/std nothing is normalised, only cast to float
    raw = ImgDataPreprocessor(rgb_to_bgr=True)
    img = torch.arange(12, dtype=torch.uint8).view(3, 2, 2)
    out = raw(dict(inputs=[img]))
    torch.testing.assert_close(out["inputs"][0], img.float()[[2, 1, 0]])


@MODELS.register_module(force=True)
class MixupPreprocessor(BaseDataPreprocessor):
    """``batch_augments``-style: mixes the batch in training only, after casting."""

    def __init__(self, alpha: float = 0.5, non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        self.alpha = alpha

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs = torch.stack(data["inputs"]).float()
        if training:
            inputs = self.alpha * inputs + (1 - self.alpha) * inputs.flip(0)
        return dict(inputs=inputs, data_samples=data["data_samples"])


class Points(Dataset):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=torch.full((2,), float(idx)), data_samples=BaseDataElement(label=idx))


class MeanModel(BaseModel):
    seen: list = []

    def __init__(self, data_preprocessor=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.w = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode="tensor"):
        MeanModel.seen.append((mode, inputs.clone()))
        if mode == "loss":
            return dict(loss=(inputs.sum() * self.w).abs() + self.w.sum() ** 2)
        return [BaseDataElement(pred=x.sum()) for x in inputs]


def test_custom_preprocessor_registered(tmp_path) -> None:
    MeanModel.seen = []
    model = MeanModel(data_preprocessor=dict(type="MixupPreprocessor", alpha=0.75))
    assert isinstance(model.data_preprocessor, MixupPreprocessor)
    loader = dict(
        dataset=Points(),
        batch_size=2,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="pseudo_collate"),
    )
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
    )
    runner.train()
    torch.testing.assert_close(MeanModel.seen[0][1], torch.tensor([[0.25, 0.25], [0.75, 0.75]]))
    torch.testing.assert_close(MeanModel.seen[1][1], torch.tensor([[2.25, 2.25], [2.75, 2.75]]))
    out = runner.model.val_step(dict(inputs=[torch.ones(2), torch.zeros(2)], data_samples=None))
    assert [float(o.pred) for o in out] == [2.0, 0.0]
    # a BaseModel without a preprocessor gets BaseDataPreprocessor that only casts
    plain = MeanModel()
    assert type(plain.data_preprocessor) is BaseDataPreprocessor
    data = dict(inputs=[torch.ones(2)], data_samples=[BaseDataElement(label=1)])
    cast = plain.data_preprocessor(data)
    assert isinstance(cast["data_samples"], list)
    assert cast["data_samples"][0].label == 1
