"""An mmpretrain-style classifier: a ``DataSample`` with ``LabelData``-style ``gt_label`` /
``gt_score`` set through ``set_field``, a ``ClsDataPreprocessor`` whose Mixup batch augment
turns hard labels into one-hot scores, and a top-k accuracy metric over ``pred_score``."""

from __future__ import annotations

import pickle

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from piston.evaluator import BaseMetric
from piston.model import BaseDataPreprocessor, BaseModel, stack_batch
from piston.registry import METRICS, MODELS
from piston.runner import Runner
from piston.structures import BaseDataElement, LabelData

NUM_CLASSES = 4


class ClsDataSample(BaseDataElement):
    def set_gt_label(self, value) -> ClsDataSample:
        self.set_field(torch.as_tensor(value).view(-1), "gt_label", dtype=torch.Tensor)
        return self

    def set_gt_score(self, value: torch.Tensor) -> ClsDataSample:
        self.set_field(value, "gt_score", dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: torch.Tensor) -> ClsDataSample:
        self.set_field(value, "pred_score", dtype=torch.Tensor)
        self.set_field(value.argmax(keepdim=True), "pred_label", dtype=torch.Tensor)
        return self


class Blobs(Dataset):
    METAINFO = dict(classes=("a", "b", "c", "d"))

    def __init__(self, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(12) % NUM_CLASSES
        centers = torch.eye(NUM_CLASSES, 6) * 3
        self.x = centers[self.labels] + 0.3 * torch.randn(12, 6, generator=gen)

    @property
    def metainfo(self) -> dict:
        return dict(self.METAINFO)

    def __len__(self) -> int:
        return 12

    def __getitem__(self, idx: int) -> dict:
        sample = ClsDataSample(metainfo=dict(sample_idx=idx)).set_gt_label(int(self.labels[idx]))
        return dict(inputs=self.x[idx], data_samples=sample)


@MODELS.register_module(force=True)
class ToyClsDataPreprocessor(BaseDataPreprocessor):
    def __init__(self, num_classes: int, mix_alpha: float | None = None) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.mix_alpha = mix_alpha

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = stack_batch(data["inputs"])
        samples = data["data_samples"]
        if training and self.mix_alpha is not None:
            scores = torch.stack(
                [LabelData.label_to_onehot(s.gt_label, self.num_classes) for s in samples]
            ).float()
            lam = self.mix_alpha
            inputs = lam * inputs + (1 - lam) * inputs.flip(0)
            scores = lam * scores + (1 - lam) * scores.flip(0)
            for s, sc in zip(samples, scores):
                s.set_gt_score(sc)
        return dict(inputs=inputs, data_samples=samples)


class LinearCls(BaseModel):
    mixed_scores: list = []

    def __init__(self, data_preprocessor=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.head = nn.Linear(6, NUM_CLASSES)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.head(inputs)
        if mode == "loss":
            if "gt_score" in data_samples[0]:
                target = torch.stack([s.gt_score for s in data_samples])
                LinearCls.mixed_scores.append(target)
            else:
                target = torch.cat([s.gt_label for s in data_samples])
            return dict(loss=F.cross_entropy(logits, target))
        return [s.set_pred_score(lg.softmax(0)) for s, lg in zip(data_samples, logits)]


@METRICS.register_module(force=True)
class ClsTopK(BaseMetric):
    default_prefix = "accuracy"

    def __init__(self, topk=(1,), **kwargs) -> None:
        super().__init__(**kwargs)
        self.topk = topk

    def process(self, data_batch, data_samples) -> None:
        for s in data_samples:
            self.results.append((s["pred_score"].clone(), s["gt_label"].clone()))

    def compute_metrics(self, results) -> dict:
        scores = torch.stack([r[0] for r in results])
        labels = torch.cat([r[1] for r in results])
        out = {}
        for k in self.topk:
            hit = (scores.topk(k, dim=1).indices == labels[:, None]).any(1)
            out[f"top{k}"] = round(hit.float().mean().item() * 100, 2)
        return out


def _loader(seed: int, shuffle: bool) -> dict:
    return dict(
        dataset=Blobs(seed),
        batch_size=4,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=shuffle),
        collate_fn=dict(type="pseudo_collate"),
    )


def test_classifier_with_mixup(tmp_path) -> None:
    LinearCls.mixed_scores = []
    runner = Runner(
        model=LinearCls(
            data_preprocessor=dict(type="ToyClsDataPreprocessor", num_classes=4, mix_alpha=0.75)
        ),
        work_dir=str(tmp_path),
        train_dataloader=_loader(0, shuffle=False),
        val_dataloader=_loader(1, shuffle=False),
        test_dataloader=_loader(1, shuffle=False),
        val_evaluator=dict(type="ClsTopK", topk=(1, 2)),
        test_evaluator=[
            dict(type="ClsTopK", topk=(1,)),
            dict(type="DumpResults", out_file_path=str(tmp_path / "preds.pkl")),
        ],
        train_cfg=dict(by_epoch=True, max_epochs=15, val_interval=15),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=3)),
        randomness=dict(seed=0),
    )
    runner.train()
    # first batch labels 0,1,2,3: mixed with the flipped batch 3,2,1,0
    first = LinearCls.mixed_scores[0]
    torch.testing.assert_close(first[0], torch.tensor([0.75, 0.0, 0.0, 0.25]))
    torch.testing.assert_close(first.sum(1), torch.ones(4))
    val = runner.val()
    assert set(val) == {"accuracy/top1", "accuracy/top2"}
    assert val["accuracy/top1"] == 100.0
    test = runner.test()
    assert test == {"accuracy/top1": 100.0}
    with open(tmp_path / "preds.pkl", "rb") as f:
        preds = pickle.load(f)
    assert len(preds) == 12
    assert [p["sample_idx"] for p in preds] == list(range(12))
    assert preds[5]["pred_label"].tolist() == [1]
    assert preds[5]["gt_label"].tolist() == [1]
    assert preds[5]["pred_score"].shape == (4,)
    assert "gt_score" not in preds[5]  # no mixup outside training
