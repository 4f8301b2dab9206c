"""A config-driven run whose metrics return arrays, tensors and strings next to scalars.

Built with ``Runner.from_cfg``; evaluators written as ``dict(type='Evaluator', metrics=[...])``;
checkpoints by iteration inside an epoch loop without optimizer state; TensorBoard receives the
config text. Checks the val/test lines, the runtime info, the test JSON dump and the files.
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import torch

from piston.config import Config
from piston.evaluator import BaseMetric
from piston.registry import DATASETS, METRICS, MODELS
from piston.runner import Runner

from ._common import Acc, PointsDataset, TinyNet

MODELS.register_module(name="ProgTinyNet", module=TinyNet, force=True)
DATASETS.register_module(name="ProgPoints", module=PointsDataset, force=True)


@METRICS.register_module(force=True)
class PerClassMetric(BaseMetric):
    default_prefix = "det"

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        self.results.append((logits.argmax(1) == labels).float())

    def compute_metrics(self, results) -> dict:
        hits = torch.cat(results)
        return {
            "mAP": float(hits.mean()),
            "per_class": np.array([0.25, 0.75]),
            "cm": torch.tensor([[1, 2], [3, 4]]),
            "note": "ok",
        }


def _loader(seed: int) -> dict:
    return dict(
        batch_size=4,
        num_workers=0,
        dataset=dict(type="ProgPoints", size=8, seed=seed),
        sampler=dict(type="DefaultSampler", shuffle=False),
        collate_fn=dict(type="default_collate"),
    )


def test_nonscalar_metrics_from_cfg(tmp_path) -> None:
    work_dir = str(tmp_path)
    evaluator = dict(type="Evaluator", metrics=[dict(type="PerClassMetric"), dict(type=Acc)])
    cfg = Config(
        dict(
            model=dict(type="ProgTinyNet"),
            work_dir=work_dir,
            train_dataloader=_loader(0),
            val_dataloader=_loader(1),
            test_dataloader=_loader(2),
            val_evaluator=evaluator,
            test_evaluator=evaluator,
            train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
            val_cfg=dict(),
            test_cfg=dict(),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
            default_hooks=dict(
                checkpoint=dict(
                    type="CheckpointHook",
                    by_epoch=False,
                    interval=3,
                    save_best="det/mAP",
                    save_optimizer=False,
                    save_param_scheduler=False,
                )
            ),
            visualizer=dict(
                type="Visualizer",
                vis_backends=[dict(type="LocalVisBackend"), dict(type="TensorboardVisBackend")],
            ),
            randomness=dict(seed=0),
        )
    )
    runner = Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    np.testing.assert_array_equal(hub.get_info("val/det/per_class"), [0.25, 0.75])
    assert hub.get_info("val/det/note") == "ok"
    assert "val/det/per_class" not in hub.log_scalars
    assert "val/det/mAP" in hub.log_scalars

    metrics = runner.test()
    assert set(metrics) == {"det/mAP", "det/per_class", "det/cm", "det/note", "accuracy"}
    assert torch.equal(metrics["det/cm"], torch.tensor([[1, 2], [3, 4]]))

    files = sorted(n for n in os.listdir(work_dir) if not os.path.isdir(os.path.join(work_dir, n)))
    best = [n for n in files if n.startswith("best_")]
    assert best
    assert all(n.startswith("best_det_mAP_iter_") for n in best)
    assert len(best) == 1
    # by_epoch=False inside an epoch loop: iteration names; last iteration saved (save_last)
    assert {"iter_3.pth", "iter_4.pth", "last_checkpoint", f"{runner.timestamp}.py"} <= set(files)
    ckpt = torch.load(os.path.join(work_dir, "iter_4.pth"), map_location="cpu", weights_only=False)
    assert "optimizer" not in ckpt
    assert "param_schedulers" not in ckpt
    assert ckpt["meta"]["epoch"] == 2
    assert ckpt["meta"]["iter"] == 4

    log_dir = os.path.join(work_dir, runner.timestamp)
    with open(os.path.join(log_dir, f"{runner.timestamp}.log")) as fobj:
        text = fobj.read()
    assert "Saving checkpoint at 3 iterations" in text
    assert "Saving checkpoint at 4 iterations" in text
    assert " at 2 iter is saved to best_det_mAP_iter_2.pth." in text
    # non-scalar results are printed after the scalars, arrays and tensors on their own lines
    assert "det/note: ok  data_time: " in text
    assert "det/per_class: \n[0.25 0.75]\n  det/cm: \ntensor([[1, 2],\n        [3, 4]])\n" in text
    assert "Epoch(test) [2/2]    det/mAP: " in text

    # test results: JSON in the log dir, arrays and tensors as lists
    with open(os.path.join(log_dir, f"{runner.timestamp}.json")) as fobj:
        dumped = json.load(fobj)
    assert dumped["det/per_class"] == [0.25, 0.75]
    assert dumped["det/cm"] == [[1, 2], [3, 4]]
    assert dumped["det/note"] == "ok"
    assert dumped["det/mAP"] == metrics["det/mAP"]
    assert set(dumped) >= {"accuracy", "time", "data_time"}

    # scalars.json only carries the scalar results
    with open(os.path.join(log_dir, "vis_data", "scalars.json")) as fobj:
        records = [json.loads(line) for line in fobj]
    val_records = [r for r in records if "det/mAP" in r]
    assert [r["step"] for r in val_records] == [1, 2]
    assert all("det/per_class" not in r and "det/note" not in r for r in val_records)

    # the config went to both backends
    cfg_copy = Config.fromfile(os.path.join(log_dir, "vis_data", "config.py"))
    assert cfg_copy.default_hooks.checkpoint.save_best == "det/mAP"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(os.path.join(log_dir, "vis_data"), size_guidance={"tensors": 0})
    acc.Reload()
    assert "config/text_summary" in acc.Tags()["tensors"]
    (event,) = acc.Tensors("config/text_summary")
    assert "save_best='det/mAP'" in event.tensor_proto.string_val[0].decode()
    assert [e.step for e in acc.Scalars("det/mAP")] == [1, 2]
    assert glob.glob(os.path.join(log_dir, "vis_data", "events.out.tfevents.*"))
