"""Programs written the way mmdet / mmpretrain / mmseg use the model API.

A downstream library keeps its own MODELS registry (a child of piston's, with its own scope),
registers its data preprocessor there and configures models with ``ImgDataPreprocessor``-style
dicts and ``init_cfg`` lists; these tests run such code end to end on tiny modules.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import SGD

from piston.dataset import pseudo_collate
from piston.model import BaseModel, BaseModule, ImgDataPreprocessor, bias_init_with_prob
from piston.optim import OptimWrapper
from piston.registry import MODELS, DefaultScope, Registry
from piston.structures import BaseDataElement

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


class ResNetLike(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(3, 64, 3, padding=1)
        self.bn = nn.BatchNorm2d(64)
        self.gn = nn.GroupNorm(8, 64)

    def forward(self, x):
        return F.relu(self.gn(self.bn(self.conv(x)))).mean((2, 3))


class RetinaLikeHead(BaseModule):
    def __init__(self):
        super().__init__(
            init_cfg=dict(
                type="Normal",
                layer="Conv2d",
                std=0.01,
                override=dict(type="Normal", name="cls", std=0.01, bias_prob=0.01),
            )
        )
        self.cls = nn.Linear(64, 3)

    def forward(self, feat):
        return self.cls(feat)


@pytest.fixture
def downstream_registry():
    child = Registry("model", parent=MODELS, scope="test_g_downstream")

    @child.register_module()
    class DetLikePreprocessor(ImgDataPreprocessor):
        """A downstream preprocessor: records the pad shape, as mmdet's does."""

        def forward(self, data, training=False):
            pad_shapes = [tuple(img.shape[-2:]) for img in data["inputs"]]
            data = super().forward(data=data, training=training)
            for sample, shape in zip(data["data_samples"], pad_shapes):
                sample.set_metainfo({"ori_pad_shape": shape})
            return data

    @child.register_module()
    class Classifier(BaseModel):
        def __init__(self, backbone_init=None, data_preprocessor=None, init_cfg=None):
            super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
            self.backbone = ResNetLike(backbone_init)
            self.head = RetinaLikeHead()

        def forward(self, inputs, data_samples=None, mode="tensor"):
            logits = self.head(self.backbone(inputs))
            if mode == "loss":
                labels = torch.stack([s.gt_label for s in data_samples])
                return dict(loss_cls=F.cross_entropy(logits, labels), acc=logits.sum() * 0)
            if mode == "predict":
                for sample, score in zip(data_samples, logits):
                    sample.pred_score = score.detach()
                return data_samples
            return logits

    try:
        with DefaultScope.overwrite_default_scope("test_g_downstream"):
            yield child
    finally:
        MODELS.children.pop("test_g_downstream", None)


def _batch(sizes):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for i, (h, w) in enumerate(sizes):
        img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen)
        sample = BaseDataElement(metainfo=dict(img_id=i), gt_label=torch.tensor(i % 3))
        samples.append(dict(inputs=img, data_samples=sample))
    return pseudo_collate(samples)


def test_child_registry_preprocessor_and_train_val_step(downstream_registry):
    cfg = dict(
        type="Classifier",
        data_preprocessor=dict(
            type="DetLikePreprocessor", mean=MEAN, std=STD, bgr_to_rgb=True, pad_size_divisor=4
        ),
    )
    model = MODELS.build(cfg)
    assert type(model.data_preprocessor).__name__ == "DetLikePreprocessor"
    batch = _batch([(5, 6), (7, 3)])
    raw = batch["inputs"][1].clone()
    data = model.data_preprocessor(batch, True)
    assert data["inputs"].shape == (2, 3, 8, 8)  # max (7, 6) rounded up to multiples of 4
    expected = (raw[[2, 1, 0]].float() - torch.tensor(MEAN).view(3, 1, 1)) / torch.tensor(STD).view(
        3, 1, 1
    )
    assert torch.allclose(data["inputs"][1, :, :7, :3], expected)
    assert torch.all(data["inputs"][1, :, 7:] == 0)
    assert data["data_samples"][1].ori_pad_shape == (7, 3)

    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1))
    log_vars = model.train_step(_batch([(5, 6), (7, 3)]), wrapper)
    assert list(log_vars) == ["loss", "loss_cls", "acc"]
    assert torch.equal(log_vars["loss"], log_vars["loss_cls"])  # 'acc' has no 'loss' in its key
    preds = model.val_step(_batch([(4, 4), (4, 4)]))
    assert [p.img_id for p in preds] == [0, 1]
    assert preds[0].pred_score.shape == (3,)


def test_mmdet_style_init_cfg_list_and_override(downstream_registry):
    torch.manual_seed(0)
    model = MODELS.build(
        dict(
            type="Classifier",
            backbone_init=[
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ],
        )
    )
    with torch.no_grad():  # move the norm layers away from their defaults first
        for norm in (model.backbone.bn, model.backbone.gn):
            norm.weight.fill_(5)
            norm.bias.fill_(5)
    model.init_weights()
    backbone = model.backbone
    for norm in (backbone.bn, backbone.gn):  # `_BatchNorm` is BatchNorm2d's direct base
        assert torch.all(norm.weight == 1)
        assert torch.all(norm.bias == 0)
    fan_out = 64 * 3 * 3  # Kaiming defaults: fan_out, relu, normal
    std = backbone.conv.weight.std().item()
    assert std == pytest.approx(math.sqrt(2 / fan_out), rel=0.1)
    assert torch.all(backbone.conv.bias == 0)
    head = model.head.cls  # the override applies to the whole named submodule
    assert head.weight.std().item() == pytest.approx(0.01, rel=0.2)
    assert torch.allclose(head.bias, torch.full((3,), bias_init_with_prob(0.01)))
    assert all(m.is_init for m in (model, backbone, model.head))


def test_pretrained_backbone_prefix_from_detector_checkpoint(downstream_registry, tmp_path):
    source = MODELS.build(dict(type="Classifier"))
    with torch.no_grad():
        source.backbone.conv.weight.fill_(0.25)
        source.backbone.bn.running_mean.fill_(0.5)
        source.head.cls.weight.fill_(7)
    path = str(tmp_path / "detector.pth")
    torch.save({"meta": {}, "state_dict": source.state_dict()}, path)

    model = MODELS.build(
        dict(
            type="Classifier",
            backbone_init=[
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Pretrained", checkpoint=path, prefix="backbone."),
            ],
        )
    )
    model.init_weights()
    # Pretrained runs after Kaiming and loads only the `backbone.` keys, prefix stripped
    assert torch.all(model.backbone.conv.weight == 0.25)
    assert torch.all(model.backbone.bn.running_mean == 0.5)
    assert not torch.any(model.head.cls.weight == 7)
