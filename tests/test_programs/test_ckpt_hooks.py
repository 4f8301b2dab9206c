"""Checkpoint hooks as mmdet/mmpretrain configs write them: files kept, best and published."""

from __future__ import annotations

import glob
import os
import re

import torch

from piston.evaluator import BaseMetric
from piston.registry import METRICS
from piston.runner import Runner

from ._common import TinyNet, loader


@METRICS.register_module(force=True)
class ScriptedTop1(BaseMetric):
    """Returns a scripted accuracy per evaluation so the best epoch is known in advance."""

    default_prefix = "accuracy"
    scores = [10.0, 30.0, 20.0, 25.0]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(1)

    def compute_metrics(self, results) -> dict:
        score = self.scores[self.calls % len(self.scores)]
        self.calls += 1
        return {"top1": score}


def _log_text(work_dir) -> str:
    (log,) = glob.glob(os.path.join(work_dir, "*", "*.log"))
    with open(log) as fobj:
        return fobj.read()


def test_epoch_checkpoints_best_and_published(tmp_path) -> None:
    work_dir = str(tmp_path / "exp")
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type="ScriptedTop1"),
        train_cfg=dict(by_epoch=True, max_epochs=4, val_interval=1),
        val_cfg=dict(),
        test_dataloader=loader(size=4, batch_size=4, shuffle=False),
        test_evaluator=dict(type="ScriptedTop1"),
        test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(
                type="CheckpointHook",
                interval=1,
                max_keep_ckpts=2,
                save_best="accuracy/top1",
                rule="greater",
                published_keys=["meta", "state_dict"],
            ),
            logger=dict(type="LoggerHook", interval=1),
        ),
        randomness=dict(seed=0),
    )
    runner.train()
    names = sorted(os.listdir(work_dir))
    pth = [n for n in names if n.endswith(".pth")]
    # periodic: only the last two kept; best: epoch 2 (30.0); published copies of both
    assert "epoch_1.pth" not in pth
    assert "epoch_2.pth" not in pth
    assert {"epoch_3.pth", "epoch_4.pth", "best_accuracy_top1_epoch_2.pth"} <= set(pth)
    published = [n for n in pth if re.fullmatch(r".+-[0-9a-f]{8}\.pth", n)]
    assert len(published) == 2, pth
    assert any(n.startswith("epoch_4-") for n in published)
    assert any(n.startswith("best_accuracy_top1_epoch_2-") for n in published)
    for name in published:
        ckpt = torch.load(os.path.join(work_dir, name), map_location="cpu", weights_only=False)
        assert set(ckpt) == {"meta", "state_dict"}
    with open(os.path.join(work_dir, "last_checkpoint")) as fobj:
        assert fobj.read().strip() == os.path.join(work_dir, "epoch_4.pth")

    best = torch.load(
        os.path.join(work_dir, "best_accuracy_top1_epoch_2.pth"),
        map_location="cpu",
        weights_only=False,
    )
    assert "optimizer" not in best
    assert "param_schedulers" not in best
    assert best["meta"]["epoch"] == 2
    last = torch.load(os.path.join(work_dir, "epoch_4.pth"), map_location="cpu", weights_only=False)
    assert "optimizer" in last
    info = last["message_hub"]["runtime_info"]
    assert info["best_score"] == 30.0
    assert info["best_ckpt"] == os.path.join(work_dir, "best_accuracy_top1_epoch_2.pth")

    text = _log_text(work_dir)
    assert f"Checkpoints will be saved to {work_dir}." in text
    for epoch in range(1, 5):
        assert f"Saving checkpoint at {epoch} epochs" in text
    assert (
        "The best checkpoint with 10.0000 accuracy/top1 at 1 epoch is saved to "
        "best_accuracy_top1_epoch_1.pth." in text
    )
    assert (
        "The best checkpoint with 30.0000 accuracy/top1 at 2 epoch is saved to "
        "best_accuracy_top1_epoch_2.pth." in text
    )
    assert "at 3 epoch is saved" not in text
    assert re.search(r"Epoch\(val\) \[4\]\[1/1\]\s+accuracy/top1: 25\.0000", text)


def test_iter_checkpoints_save_best_auto(tmp_path) -> None:
    work_dir = str(tmp_path / "iters")
    train = loader(size=8, batch_size=4)
    train["sampler"] = dict(type="InfiniteSampler", shuffle=True)
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=train,
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type="ScriptedTop1"),
        train_cfg=dict(type="IterBasedTrainLoop", max_iters=8, val_interval=2),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        log_processor=dict(by_epoch=False),
        default_hooks=dict(
            checkpoint=dict(
                type="CheckpointHook",
                by_epoch=False,
                interval=3,
                max_keep_ckpts=1,
                save_best="auto",
                save_last=True,
            ),
            logger=dict(type="LoggerHook", interval=2, log_metric_by_epoch=False),
        ),
    )
    runner.train()
    pth = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    # interval 3 -> iter_3, iter_6, and the last iteration (save_last); keep only 1
    assert pth == ["best_accuracy_top1_iter_4.pth", "iter_8.pth"], pth
    text = _log_text(work_dir)
    assert "Saving checkpoint at 3 iterations" in text
    assert "Saving checkpoint at 6 iterations" in text
    assert "Saving checkpoint at 8 iterations" in text
    assert "Saving checkpoint at 4 iterations" not in text
    assert (
        "The best checkpoint with 30.0000 accuracy/top1 at 4 iter is saved to "
        "best_accuracy_top1_iter_4.pth." in text
    )
    ckpt = torch.load(os.path.join(work_dir, "iter_8.pth"), map_location="cpu", weights_only=False)
    assert ckpt["meta"]["iter"] == 8
    assert ckpt["message_hub"]["runtime_info"]["keep_ckpt_ids"] == [8] or list(
        ckpt["message_hub"]["runtime_info"]["keep_ckpt_ids"]
    ) == [8]


@METRICS.register_module(force=True)
class AccAndErrorLoss(BaseMetric):
    """Accuracy plus a 'less is better' error whose name contains ``loss``."""

    def process(self, data_batch, data_samples) -> None:
        logits, labels = data_samples
        self.results.append(((logits.argmax(1) == labels).sum().item(), len(labels)))

    def compute_metrics(self, results) -> dict:
        acc = 100.0 * sum(c for c, _ in results) / sum(n for _, n in results)
        return {"accuracy": acc, "error_loss": 100.0 - acc}


def test_out_dir_keep_local_filename_tmpl_and_two_best_keys(tmp_path) -> None:
    work_dir = str(tmp_path / "exp1")
    remote = str(tmp_path / "remote")
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=12, batch_size=4),
        val_dataloader=loader(size=8, batch_size=4, shuffle=False, seed=1),
        val_evaluator=dict(type="AccAndErrorLoss"),
        train_cfg=dict(by_epoch=True, max_epochs=3, val_interval=1),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.5)),
        default_hooks=dict(
            logger=dict(
                type="LoggerHook",
                interval=2,
                ignore_last=False,
                log_metric_by_epoch=False,
                out_dir=remote,
                keep_local=False,
            ),
            checkpoint=dict(
                type="CheckpointHook",
                interval=1,
                out_dir=remote,
                filename_tmpl="ckpt_{:02d}.pth",
                save_best=["accuracy", "error_loss"],
                rule=["greater", "less"],
                max_keep_ckpts=1,
            ),
        ),
        randomness=dict(seed=0),
    )
    runner.train()
    target = os.path.join(remote, "exp1")
    accs = list(_val_metrics(runner))
    best_epoch = 1 + max(range(3), key=lambda i: (accs[i], -i))
    names = sorted(os.listdir(target))
    timestamp = runner.timestamp
    assert names == sorted(
        [
            f"{timestamp}.log",
            "ckpt_03.pth",
            f"best_accuracy_ckpt_{best_epoch:02d}.pth",
            f"best_error_loss_ckpt_{best_epoch:02d}.pth",
            "vis_data",
        ]
    ), names
    assert sorted(os.listdir(os.path.join(target, "vis_data"))) == [
        f"{timestamp}.json",
        "scalars.json",
    ]
    # local copies of the uploaded logs are gone; checkpoints never were in work_dir
    assert not glob.glob(os.path.join(work_dir, "*", "*.log"))
    assert not glob.glob(os.path.join(work_dir, "*", "vis_data", "*.json"))
    assert not glob.glob(os.path.join(work_dir, "*.pth"))
    with open(os.path.join(work_dir, "last_checkpoint")) as fobj:
        assert fobj.read().strip() == os.path.join(target, "ckpt_03.pth")
    with open(os.path.join(target, f"{timestamp}.log")) as fobj:
        text = fobj.read()
    assert f"Checkpoints will be saved to {target}." in text
    assert f"Text logs will be saved to {target} by " in text
    # ignore_last=False with interval 2 and 3 batches: batches 2 and 3 are logged
    assert re.findall(r"Epoch\(train\) \[1\]\[(\d)/3\]", text) == ["2", "3"]
    with open(os.path.join(target, "vis_data", "scalars.json")) as fobj:
        import json

        records = [json.loads(line) for line in fobj]
    assert [r["step"] for r in records if "accuracy" in r] == [3, 6, 9]  # by iteration


def _val_metrics(runner) -> list[float]:
    return list(runner.message_hub.get_scalar("val/accuracy").data[0])


@METRICS.register_module(force=True)
class RisingMIoU(BaseMetric):
    """mIoU that improves at every evaluation (1, 2, 3, ...)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    def process(self, data_batch, data_samples) -> None:
        self.results.append(1)

    def compute_metrics(self, results) -> dict:
        self.calls += 1
        return {"mIoU": float(self.calls)}


def test_save_begin_interval_and_best_recorded_in_periodic(tmp_path) -> None:
    work_dir = str(tmp_path)
    runner = Runner(
        model=TinyNet(),
        work_dir=work_dir,
        train_dataloader=loader(size=8, batch_size=4),
        val_dataloader=loader(size=4, batch_size=4, shuffle=False),
        val_evaluator=dict(type="RisingMIoU"),
        val_cfg=dict(),
        train_cfg=dict(by_epoch=True, max_epochs=7, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
        default_hooks=dict(
            checkpoint=dict(
                type="CheckpointHook",
                interval=2,
                save_begin=3,
                max_keep_ckpts=2,
                save_best="mIoU",  # rule inferred: greater
                filename_tmpl="epoch_{}_model.pth",
            )
        ),
        randomness=dict(seed=0),
    )
    runner.train()
    names = sorted(n for n in os.listdir(work_dir) if n.endswith(".pth"))
    assert names == ["best_mIoU_epoch_7_model.pth", "epoch_5_model.pth", "epoch_7_model.pth"]
    text = _log_text(work_dir)
    assert re.findall(r"Saving checkpoint at (\d) epochs", text) == ["3", "5", "7"]
    for epoch in range(2, 8):
        assert (
            f"The previous best checkpoint {work_dir}/best_mIoU_epoch_{epoch - 1}_model.pth "
            "is removed" in text
        )
    # each periodic checkpoint is saved before its validation, then saved again once the new
    # best is known, so that a resume knows (and can later remove) the newest best file
    for epoch in (5, 7):
        ckpt = torch.load(
            os.path.join(work_dir, f"epoch_{epoch}_model.pth"),
            map_location="cpu",
            weights_only=False,
        )
        info = ckpt["message_hub"]["runtime_info"]
        assert info["best_score"] == float(epoch)
        assert info["best_ckpt"] == os.path.join(work_dir, f"best_mIoU_epoch_{epoch}_model.pth")
        assert list(info["keep_ckpt_ids"]) == [epoch - 2, epoch]
