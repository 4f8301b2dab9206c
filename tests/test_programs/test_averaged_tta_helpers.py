"""EMA/SWA models driven by hand (as mmpretrain's and mmdet's custom loops do), a
``BaseTTAModel`` called directly on flip-augmented batches, and the small model helpers."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from piston.logging import MMLogger
from piston.model import (
    BaseModel,
    BaseTTAModel,
    ExponentialMovingAverage,
    MomentumAnnealingEMA,
    StochasticWeightAverage,
    detect_anomalous_params,
    merge_dict,
    stack_batch,
)
from piston.registry import MODELS
from piston.structures import BaseDataElement


class WithBN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.fc(x))


def _set(model: WithBN, value: float) -> None:
    with torch.no_grad():
        model.fc.weight.fill_(value)
        model.fc.bias.fill_(value)
        model.bn.running_mean.fill_(value)


def test_ema_swa_by_hand() -> None:
    src = WithBN()
    _set(src, 0.0)
    ema = ExponentialMovingAverage(src, momentum=0.1)
    assert set(ema.state_dict()) >= {"steps", "module.fc.weight", "module.bn.running_mean"}
    assert not any(p.requires_grad for p in ema.module.parameters())
    for value in (1.0, 2.0, 3.0):
        _set(src, value)
        ema.update_parameters(src)
    # step 0 copies, then avg = avg*0.9 + src*0.1
    expected = 1.0
    for v in (2.0, 3.0):
        expected = expected * 0.9 + v * 0.1
    torch.testing.assert_close(ema.module.fc.weight, torch.full((2, 2), expected))
    # buffers are copied, not averaged, without update_buffers
    assert torch.all(ema.module.bn.running_mean == 3.0)
    assert int(ema.steps) == 3

    ema_buf = ExponentialMovingAverage(src, momentum=0.5, update_buffers=True, interval=2)
    for value in (4.0, 6.0, 8.0, 10.0):
        _set(src, value)
        ema_buf.update_parameters(src)
    # steps 0 (copy 4), 1 (skipped), 2 (avg with 8 -> 6), 3 (skipped)
    assert torch.all(ema_buf.module.fc.weight == 6.0)
    assert torch.all(ema_buf.module.bn.running_mean == 6.0)
    # num_batches_tracked is an integer buffer: copied, never averaged
    assert ema_buf.module.bn.num_batches_tracked.dtype == torch.long

    anneal = MomentumAnnealingEMA(src, momentum=0.01, gamma=2)
    _set(src, 0.0)
    anneal.update_parameters(src)
    _set(src, 10.0)
    anneal.update_parameters(src)  # steps=1: m = max(0.01, 2/3)
    torch.testing.assert_close(anneal.module.fc.weight, torch.full((2, 2), 20.0 / 3))

    swa = StochasticWeightAverage(src)
    for value in (1.0, 2.0, 6.0):
        _set(src, value)
        swa.update_parameters(src)
    torch.testing.assert_close(swa.module.fc.weight, torch.full((2, 2), 3.0))
    # the averaged model runs the wrapped module
    swa.eval()
    assert swa(torch.ones(1, 2)).shape == (1, 2)
    # built from the registry as EMAHook does
    built = MODELS.build(dict(type="ExponentialMovingAverage", model=src, momentum=0.2))
    assert isinstance(built, ExponentialMovingAverage)
    assert built.momentum == 0.2


@MODELS.register_module(force=True)
class FlipClassifier(BaseModel):
    def __init__(self, data_preprocessor=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.w = nn.Parameter(torch.tensor([1.0, -1.0, 0.5]))

    def forward(self, inputs, data_samples=None, mode="tensor"):
        # inputs: N x 1 x 1 x 3; the score depends on the horizontal order
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        scores = (inputs[:, 0, 0] * self.w).sum(-1)
        out = []
        for sample, score in zip(data_samples, scores):
            new = sample.new()
            new.score = score
            out.append(new)
        return out


@MODELS.register_module(force=True)
class MeanTTA(BaseTTAModel):
    def merge_preds(self, data_samples_list):
        merged = []
        for views in data_samples_list:
            sample = views[0].new()
            sample.score = sum(v.score for v in views) / len(views)
            sample.set_metainfo(dict(num_views=len(views), flips=[v.flip for v in views]))
            merged.append(sample)
        return merged


def test_tta_model_direct() -> None:
    img_pre = dict(type="ImgDataPreprocessor", mean=[0], std=[1])
    tta = MODELS.build(dict(type="MeanTTA", module=FlipClassifier(img_pre)))
    assert isinstance(tta.module, FlipClassifier)
    img = [torch.tensor([[[1.0, 2.0, 3.0]]]), torch.tensor([[[0.0, 4.0, 1.0]]])]
    flipped = [i.flip(-1) for i in img]
    # two samples, two views each: every key holds one entry per view
    data = dict(
        inputs=[img, flipped],
        data_samples=[
            [BaseDataElement(metainfo=dict(flip=False, idx=i)) for i in range(2)],
            [BaseDataElement(metainfo=dict(flip=True, idx=i)) for i in range(2)],
        ],
    )
    merged = tta.test_step(data)
    assert len(merged) == 2
    assert merged[0].num_views == 2
    assert merged[0].flips == [False, True]
    assert merged[1].idx == 1
    w = torch.tensor([1.0, -1.0, 0.5])
    for i in range(2):
        x = img[i][0, 0]
        expected = ((x * w).sum() + (x.flip(0) * w).sum()) / 2
        torch.testing.assert_close(merged[i].score, expected)
    # list form (positional args): every item holds one entry per view
    as_list = [[img, flipped], data["data_samples"]]
    merged_list = MeanTTA(module=FlipClassifier()).test_step(as_list)
    torch.testing.assert_close(merged_list[1].score, merged[1].score)
    with pytest.raises(TypeError):
        tta.test_step(torch.zeros(2))
    # a dict module is built with the TTA model's data_preprocessor put into it
    from_cfg = MODELS.build(
        dict(type="MeanTTA", module=dict(type="FlipClassifier"), data_preprocessor=img_pre)
    )
    assert type(from_cfg.module.data_preprocessor).__name__ == "ImgDataPreprocessor"
    torch.testing.assert_close(from_cfg.test_step(data)[0].score, merged[0].score)


def test_model_helpers(capsys) -> None:
    batch = stack_batch(
        [torch.ones(3, 5, 7), torch.ones(3, 9, 2)], pad_size_divisor=4, pad_value=-1
    )
    assert batch.shape == (2, 3, 12, 8)
    assert batch[0, :, 5:].eq(-1).all()
    assert batch[0, :, :5, 7:].eq(-1).all()
    assert batch[1, :, :9, :2].eq(1).all()
    assert batch[1, :, :, 2:].eq(-1).all()
    plain = stack_batch([torch.zeros(2, 4), torch.ones(2, 4)])
    assert plain.shape == (2, 2, 4)
    with pytest.raises(AssertionError):
        stack_batch([torch.zeros(2, 4), torch.zeros(4)])

    assert merge_dict(dict(loss_a=1), dict(loss_b=2), dict(acc=3)) == dict(
        loss_a=1, loss_b=2, acc=3
    )
    with pytest.raises(AssertionError):
        merge_dict(dict(a=1), [("b", 2)])

    MMLogger.get_instance("anomalous_helpers", logger_name="piston")
    model = nn.ModuleDict(dict(used=nn.Linear(2, 1), unused=nn.Linear(2, 1)))
    loss = model["used"](torch.ones(1, 2)).sum()
    capsys.readouterr()
    detect_anomalous_params(loss, model)
    out = capsys.readouterr().out
    assert "unused.weight with shape torch.Size([1, 2]) is not in the computational graph" in out
    assert "used.weight with shape" not in out.replace("unused.weight", "")
    assert "- ERROR -" in out  # the lines are logged at ERROR
