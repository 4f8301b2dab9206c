"""Two-process training with the evaluation-side hooks a detection config enables.

``save_best`` + ``EarlyStoppingHook`` + ``ReduceOnPlateauLR`` all judge the gathered metrics, so
every rank must take the same decisions; ``EMAHook`` averages the unwrapped model;
``DumpResults`` writes the predictions of the whole (padded, odd-sized) test set once, in
dataset order; only rank 0 writes checkpoints and logs.
"""

from __future__ import annotations

import glob
import json
import os
import pickle

import pytest
from _dist import run_in_processes

from piston.evaluator import BaseMetric
from piston.registry import METRICS
from piston.runner import Runner

from ._common import PointsDataset, TinyNet

SCORES = [10.0, 30.0, 20.0, 25.0, 24.0, 23.0, 22.0, 21.0]


@METRICS.register_module(force=True)
class GatheredScore(BaseMetric):
    """A scripted score, plus the number of gathered samples (padding must be dropped)."""

    default_prefix = "coco"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(int(sample["gt_label"]) for sample in data_samples)

    def compute_metrics(self, results) -> dict:
        score = SCORES[self.calls]
        self.calls += 1
        return {"bbox_mAP": score, "count": len(results)}


class PerSampleNet(TinyNet):
    """Predicts a list with one dict per sample, like downstream data samples."""

    def forward(self, inputs, labels=None, mode: str = "tensor"):
        out = super().forward(inputs, labels, mode)
        if mode != "predict":
            return out
        logits, gt = out
        return [dict(pred_score=lg.softmax(0), gt_label=y) for lg, y in zip(logits, gt)]


def _loader(size: int, seed: int, shuffle: bool) -> dict:
    return dict(
        dataset=PointsDataset(size, seed=seed),
        batch_size=2,
        num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=shuffle),
        collate_fn=dict(type="default_collate"),
    )


def _worker(rank: int, world_size: int, work_dir: str) -> None:
    runner = Runner(
        model=dict(type=PerSampleNet),
        work_dir=work_dir,
        train_dataloader=_loader(8, 0, True),
        val_dataloader=_loader(5, 1, False),
        test_dataloader=_loader(7, 2, False),
        val_evaluator=dict(type="GatheredScore", collect_device="cpu"),
        test_evaluator=dict(type="DumpResults", out_file_path=os.path.join(work_dir, "out.pkl")),
        train_cfg=dict(by_epoch=True, max_epochs=8, val_interval=1),
        val_cfg=dict(),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.4)),
        param_scheduler=dict(
            type="ReduceOnPlateauLR", monitor="coco/bbox_mAP", rule="greater", patience=0
        ),
        custom_hooks=[
            dict(type="EMAHook", momentum=0.5),
            dict(type="EarlyStoppingHook", monitor="coco/bbox_mAP", patience=3, min_delta=0.0),
        ],
        default_hooks=dict(
            checkpoint=dict(type="CheckpointHook", interval=1, max_keep_ckpts=1, save_best="auto"),
            logger=dict(type="LoggerHook", interval=1),
        ),
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        randomness=dict(seed=0),
    )
    runner.train()
    ema = next(h for h in runner.hooks if type(h).__name__ == "EMAHook").ema_model
    assert type(ema.module).__name__ == "PerSampleNet"  # the unwrapped model, not the DDP wrapper
    assert runner.test() == {}
    with open(os.path.join(work_dir, f"rank{rank}.json"), "w") as fobj:
        json.dump(
            dict(
                epoch=runner.epoch,
                lr=runner.optim_wrapper.param_groups[0]["lr"],
                count=runner.message_hub.get_scalar("val/coco/count").current(),
                best=runner.message_hub.get_info("best_score"),
            ),
            fobj,
        )


@pytest.mark.distributed
def test_ddp_best_early_stop_plateau_dump(tmp_path) -> None:
    work_dir = str(tmp_path / "ddp")
    run_in_processes(_worker, 2, work_dir, init_group=False, timeout_s=120)
    results = []
    for rank in range(2):
        with open(os.path.join(work_dir, f"rank{rank}.json")) as fobj:
            results.append(json.load(fobj))
    # best 30 at epoch 2, then 20, 25, 24 do not improve: patience 3 stops after epoch 5;
    # the plateau scheduler (default factor 0.1) cut the lr at epochs 3, 4 and 5 on both ranks
    assert results[0] == results[1]
    assert results[0]["epoch"] == 5
    assert results[0]["best"] == 30.0
    assert results[0]["count"] == 5  # 3 + 3 samples seen, padding dropped
    assert abs(results[0]["lr"] - 0.4 * 0.1**3) < 1e-12

    names = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    assert names == ["best_coco_bbox_mAP_epoch_2.pth", "epoch_5.pth"]
    logs = glob.glob(os.path.join(work_dir, "*", "*.log"))
    assert len(logs) == 1  # rank 0 only
    with open(logs[0]) as fobj:
        text = fobj.read()
    assert "the monitored metric did not improve in the last 3 records. best score: 30.000." in (
        text
    )
    assert "Epoch(val) [5][2/2]    coco/bbox_mAP: 24.0000  coco/count: 5.0000" in text

    with open(os.path.join(work_dir, "out.pkl"), "rb") as fobj:
        dumped = pickle.load(fobj)
    # per-sample results of both ranks, back in dataset order, the padded duplicate dropped
    assert len(dumped) == 7
    labels = PointsDataset(7, seed=2).y
    assert [int(d["gt_label"]) for d in dumped] == labels.tolist()
    assert all(d["pred_score"].shape == (2,) for d in dumped)
