"""Hooks inside real training runs with ``piston.runner.Runner`` and a tiny model."""

from __future__ import annotations

import glob
import itertools
import json
import os
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from piston.evaluator import BaseMetric
from piston.hooks import EMAHook, Hook
from piston.model import BaseModel
from piston.runner import Runner


class TinyNet(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x, y, mode="tensor"):
        out = self.fc(x)
        if mode == "loss":
            return {"loss": F.cross_entropy(out, y)}
        return out, y


class Accuracy(BaseMetric):
    def process(self, data_batch, data_samples):
        out, y = data_samples
        self.results.append({"n": len(y), "hit": (out.argmax(1) == y).sum().item()})

    def compute_metrics(self, results):
        return {"accuracy": 100 * sum(r["hit"] for r in results) / sum(r["n"] for r in results)}


class Scripted(BaseMetric):
    """Returns the next entry of ``values`` at each evaluation."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = list(values)
        self.calls = 0

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return dict(value)


def _data(n=40, batch_size=4, shuffle=True):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    y = (x[:, 0] > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


_RUN_IDS = itertools.count()


def _runner(work_dir, *, metric=None, max_epochs=3, train_cfg=None, shuffle=True, **kwargs):
    torch.manual_seed(0)
    # runners built within the same second would otherwise share the timestamped name
    kwargs.setdefault("experiment_name", f"e2e_{next(_RUN_IDS)}")
    return Runner(
        model=TinyNet(),
        work_dir=str(work_dir),
        train_dataloader=_data(shuffle=shuffle),
        val_dataloader=_data(shuffle=False, batch_size=8),
        optim_wrapper={"optimizer": {"type": torch.optim.SGD, "lr": 0.1}},
        train_cfg=train_cfg or {"by_epoch": True, "max_epochs": max_epochs, "val_interval": 1},
        val_cfg={},
        val_evaluator=[metric] if metric is not None else {"type": Accuracy},
        **kwargs,
    )


def _log_lines(runner):
    with open(osp.join(runner.log_dir, f"{runner.timestamp}.log")) as f:
        return [line.rstrip("\n") for line in f]


_PREFIX = r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} - piston - INFO - "
_NUM = r"\d+\.\d{4}"


def test_default_hooks_checkpoints_logs_and_scalars(tmp_path):
    runner = _runner(tmp_path, default_hooks={"logger": {"type": "LoggerHook", "interval": 5}})
    runner.train()
    names = sorted(os.listdir(tmp_path))
    assert [n for n in names if n.endswith(".pth")] == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    with open(tmp_path / "last_checkpoint") as f:
        assert f.read() == osp.join(str(tmp_path), "epoch_3.pth")
    lines = _log_lines(runner)
    train = [line for line in lines if "Epoch(train)" in line]
    assert len(train) == 6
    pattern = (
        _PREFIX + r"Epoch\(train\) \[2\]\[ 5/10\]  lr: 1\.0000e-01  eta: 0:00:\d\d  "
        rf"time: {_NUM}  data_time: {_NUM}  loss: {_NUM}  throughput: {_NUM}  data_wait: {_NUM}$"
    )
    assert re.match(pattern, train[2]), train[2]
    val = [line for line in lines if "Epoch(val) [" in line and "/5]" in line]
    assert re.match(
        _PREFIX
        + rf"Epoch\(val\) \[3\]\[5/5\]    accuracy: {_NUM}  data_time: {_NUM}  time: {_NUM}$",
        val[-1],
    ), val[-1]
    assert any(line.endswith("Saving checkpoint at 3 epochs") for line in lines)
    with open(osp.join(runner.log_dir, "vis_data", "scalars.json")) as f:
        records = [json.loads(line) for line in f]
    train_records = [r for r in records if "loss" in r]
    assert [r["step"] for r in train_records] == [5, 10, 15, 20, 25, 30]
    assert set(train_records[0]) == {"lr", "data_time", "loss", "time", "epoch", "iter", "step"}
    val_records = [r for r in records if "accuracy" in r]
    assert [r["step"] for r in val_records] == [1, 2, 3]
    assert set(val_records[0]) == {"accuracy", "data_time", "time", "step"}


def test_iteration_based_training_logs_and_checkpoints(tmp_path):
    runner = _runner(
        tmp_path,
        train_cfg={"by_epoch": False, "max_iters": 12, "val_interval": 6},
        default_hooks={
            "logger": {"type": "LoggerHook", "interval": 4},
            "checkpoint": {"type": "CheckpointHook", "interval": 6, "by_epoch": False},
        },
        log_processor={"by_epoch": False},
    )
    runner.train()
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".pth")) == [
        "iter_12.pth",
        "iter_6.pth",
    ]
    lines = _log_lines(runner)
    train = [line for line in lines if "Iter(train)" in line]
    assert [re.search(r"\[(.*?)\]", line).group(1) for line in train] == [" 4/12", " 8/12", "12/12"]
    assert re.search(rf"Iter\(val\) \[5/5\]    accuracy: {_NUM}", "\n".join(lines))


def test_save_best_with_two_metrics(tmp_path):
    metric = Scripted(
        [
            {"accuracy": 50.0, "err_loss": 1.0},
            {"accuracy": 40.0, "err_loss": 0.5},
            {"accuracy": 60.0, "err_loss": 0.7},
        ]
    )
    runner = _runner(
        tmp_path,
        metric=metric,
        default_hooks={
            "checkpoint": {
                "type": "CheckpointHook",
                "interval": 1,
                "save_best": ["accuracy", "err_loss"],
            }
        },
    )
    runner.train()
    best = sorted(n for n in os.listdir(tmp_path) if n.startswith("best"))
    assert best == ["best_accuracy_epoch_3.pth", "best_err_loss_epoch_2.pth"]
    ckpt = torch.load(tmp_path / "epoch_3.pth", map_location="cpu", weights_only=False)
    info = ckpt["message_hub"]["runtime_info"]
    assert info["best_score_accuracy"] == 60.0
    assert info["best_score_err_loss"] == 0.5
    assert info["best_ckpt_err_loss"].endswith("best_err_loss_epoch_2.pth")
    text = "\n".join(_log_lines(runner))
    assert "The best checkpoint with 0.5000 err_loss at 2 epoch is saved to " in text


def test_early_stopping_ends_training(tmp_path):
    metric = Scripted([{"accuracy": 50.0}])
    runner = _runner(
        tmp_path,
        metric=metric,
        max_epochs=6,
        custom_hooks=[{"type": "EarlyStoppingHook", "monitor": "accuracy", "patience": 2}],
    )
    runner.train()
    assert runner.epoch == 3  # best at 1, two stalls, stop
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".pth"))[-1] == "epoch_3.pth"
    assert any("did not improve in the last 2 records" in line for line in _log_lines(runner))


class _RecordValWeights(Hook):
    priority = "LOW"  # after EMAHook (NORMAL) swapped the weights in

    def __init__(self):
        self.seen = []

    def before_val_epoch(self, runner):
        self.seen.append(runner.model.fc.weight.detach().clone())


def test_ema_weights_used_for_validation_and_saved(tmp_path):
    recorder = _RecordValWeights()
    ema = EMAHook(momentum=0.1)
    runner = _runner(tmp_path, max_epochs=2, custom_hooks=[ema, recorder])
    runner.train()
    raw = runner.model.fc.weight.detach()
    ema_weight = ema.ema_model.module.fc.weight.detach()
    assert not torch.allclose(raw, ema_weight)
    assert torch.equal(recorder.seen[-1], ema_weight)  # validation ran with EMA weights
    ckpt = torch.load(tmp_path / "epoch_2.pth", map_location="cpu", weights_only=False)
    assert torch.equal(ckpt["state_dict"]["fc.weight"], ema_weight)
    assert torch.equal(ckpt["ema_state_dict"]["module.fc.weight"], raw)


def test_resume_restores_checkpoint_hook_state(tmp_path):
    hooks = {
        "checkpoint": {
            "type": "CheckpointHook",
            "interval": 1,
            "max_keep_ckpts": 2,
            "save_best": "accuracy",
        }
    }
    metric = Scripted([{"accuracy": 70.0}, {"accuracy": 60.0}, {"accuracy": 80.0}])
    runner = _runner(tmp_path, metric=metric, max_epochs=2, default_hooks=hooks)
    runner.train()
    assert sorted(glob.glob(str(tmp_path / "best_*"))) == [
        str(tmp_path / "best_accuracy_epoch_1.pth")
    ]
    metric = Scripted([{"accuracy": 80.0}])
    resumed = _runner(tmp_path, metric=metric, max_epochs=3, default_hooks=hooks, resume=True)
    resumed.train()
    names = sorted(n for n in os.listdir(tmp_path) if n.endswith(".pth"))
    # the old best was replaced and max_keep_ckpts spans both sessions
    assert names == ["best_accuracy_epoch_3.pth", "epoch_2.pth", "epoch_3.pth"]


def test_param_scheduler_hook_steps_real_schedulers(tmp_path):
    runner = _runner(
        tmp_path,
        max_epochs=3,
        param_scheduler={
            "type": "MultiStepLR",
            "milestones": [1, 2],
            "gamma": 0.1,
            "by_epoch": True,
        },
    )
    runner.train()
    lrs = [
        re.search(r"lr: (\S+)", line).group(1)
        for line in _log_lines(runner)
        if "Epoch(train)" in line
    ]
    assert lrs == ["1.0000e-01", "1.0000e-02", "1.0000e-03"]


@pytest.mark.parametrize("interval", [3])
def test_logger_hook_val_iteration_lines(tmp_path, interval):
    runner = _runner(
        tmp_path,
        max_epochs=1,
        default_hooks={"logger": {"type": "LoggerHook", "interval": interval}},
    )
    runner.train()
    val_iter = [line for line in _log_lines(runner) if "Epoch(val) [1][3/5]" in line]
    assert len(val_iter) == 1
    assert re.search(
        rf"Epoch\(val\) \[1\]\[3/5\]    eta: 0:00:00  time: {_NUM}  data_time: {_NUM}  $",
        val_iter[0],
    )


def test_ema_state_survives_resume(tmp_path):
    full_ema = EMAHook(momentum=0.1)
    full = _runner(tmp_path / "full", max_epochs=3, custom_hooks=[full_ema], shuffle=False)
    full.train()

    _runner(
        tmp_path / "part", max_epochs=2, custom_hooks=[EMAHook(momentum=0.1)], shuffle=False
    ).train()
    resumed_ema = EMAHook(momentum=0.1)
    resumed = _runner(
        tmp_path / "part", max_epochs=3, custom_hooks=[resumed_ema], resume=True, shuffle=False
    )
    resumed.train()
    assert int(resumed_ema.ema_model.steps) == 30
    assert torch.equal(resumed.model.fc.weight, full.model.fc.weight)
    assert torch.equal(resumed_ema.ema_model.module.fc.weight, full_ema.ema_model.module.fc.weight)


def test_iteration_scheduler_warmup_through_real_runner(tmp_path):
    runner = _runner(
        tmp_path,
        max_epochs=1,
        param_scheduler={"type": "LinearLR", "start_factor": 0.1, "by_epoch": False, "end": 10},
        default_hooks={"logger": {"type": "LoggerHook", "interval": 2}},
    )
    runner.train()
    lrs = [
        float(re.search(r"lr: (\S+)", line).group(1))
        for line in _log_lines(runner)
        if "Epoch(train)" in line
    ]
    assert len(lrs) == 5
    assert lrs == sorted(lrs)
    assert lrs[0] < 0.05 < lrs[-1] <= 0.1


# ---------------------------------------------------------------------- test-time augmentation
_TTA_PREDICTIONS: list = []


def _register_tta_components():
    from piston.model import BaseTTAModel
    from piston.registry import DATASETS, METRICS, MODELS

    @DATASETS.register_module(name="_TTAListDataset", force=True)
    class ListDataset(torch.utils.data.Dataset):
        def __init__(self, pipeline=None, n=4):
            self.pipeline = list(pipeline or [])
            self.n = n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            x = torch.full((2,), float(i + 1))
            if "flip" in self.pipeline:  # two augmentations: x and -x
                return {"inputs": [x, -x], "data_samples": [i, i]}
            return {"inputs": x, "data_samples": i}

    @MODELS.register_module(name="_TTASumNet", force=True)
    class SumNet(BaseModel):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, inputs, data_samples=None, mode="tensor"):
            return [float((x * self.scale).sum()) for x in inputs]

    @MODELS.register_module(name="_TTAMean", force=True)
    class MeanTTA(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [sum(preds) / len(preds) for preds in data_samples_list]

    @METRICS.register_module(name="_TTARecord", force=True)
    class Record(BaseMetric):
        def process(self, data_batch, data_samples):
            _TTA_PREDICTIONS.extend(data_samples)

        def compute_metrics(self, results):
            return {"n": len(_TTA_PREDICTIONS)}


def test_build_runner_with_tta_runs_merged_predictions(tmp_path):
    from piston.config import Config
    from piston.hooks import PrepareTTAHook
    from piston.hooks.test_time_aug_hook import build_runner_with_tta

    _register_tta_components()
    cfg = Config(
        {
            "model": {"type": "_TTASumNet"},
            "work_dir": str(tmp_path),
            "test_dataloader": {
                "dataset": {"type": "_TTAListDataset", "pipeline": []},
                "batch_size": 2,
                "sampler": {"type": "DefaultSampler", "shuffle": False},
                "collate_fn": {"type": "pseudo_collate"},
            },
            "test_cfg": {},
            "test_evaluator": {"type": "_TTARecord"},
            "tta_model": {"type": "_TTAMean"},
            "tta_pipeline": ["flip"],
        }
    )
    _TTA_PREDICTIONS.clear()
    runner = build_runner_with_tta(cfg)
    assert any(isinstance(h, PrepareTTAHook) for h in runner.hooks)
    runner.test()
    assert type(runner.model).__name__ == "MeanTTA"
    assert _TTA_PREDICTIONS == [0.0, 0.0, 0.0, 0.0]  # x and -x averaged
    assert cfg.test_dataloader.dataset.pipeline == []  # the caller's config is untouched


def test_mmengine_style_config_through_from_cfg(tmp_path):
    """A downstream "default runtime" config (string types, priorities, custom_cfg) end to end."""
    from piston.config import Config
    from piston.registry import HOOKS, METRICS, MODELS

    seen = []

    @HOOKS.register_module(name="_CfgRecordHook", force=True)
    class _CfgRecordHook(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen.append((batch_idx, sorted(outputs)))

    @HOOKS.register_module(name="_CfgVisHook", force=True)
    class _CfgVisHook(Hook):
        def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            seen.append(("vis", batch_idx))

    MODELS.register_module(name="_CfgTinyNet", module=TinyNet, force=True)
    METRICS.register_module(name="_CfgAcc", module=Accuracy, force=True)
    torch.manual_seed(0)
    cfg = Config(
        dict(
            model=dict(type="_CfgTinyNet"),
            work_dir=str(tmp_path),
            experiment_name="cfg_e2e",
            train_dataloader=dict(
                dataset=_data().dataset,
                batch_size=4,
                sampler=dict(type="DefaultSampler"),
                collate_fn=dict(type="default_collate"),
            ),
            val_dataloader=dict(
                dataset=_data().dataset,
                batch_size=8,
                sampler=dict(type="DefaultSampler", shuffle=False),
                collate_fn=dict(type="default_collate"),
            ),
            val_evaluator=dict(type="_CfgAcc"),
            val_cfg=dict(type="ValLoop"),
            train_cfg=dict(type="EpochBasedTrainLoop", max_epochs=3, val_interval=1),
            optim_wrapper=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.02)),
            param_scheduler=[dict(type="MultiStepLR", by_epoch=True, milestones=[2], gamma=0.1)],
            default_hooks=dict(
                timer=dict(type="IterTimerHook"),
                logger=dict(type="LoggerHook", interval=5),
                param_scheduler=dict(type="ParamSchedulerHook"),
                checkpoint=dict(
                    type="CheckpointHook", interval=1, max_keep_ckpts=2, save_best="auto"
                ),
                sampler_seed=dict(type="DistSamplerSeedHook"),
                visualization=dict(type="_CfgVisHook"),
            ),
            custom_hooks=[
                dict(type="EMAHook", momentum=0.0002, priority=49),
                dict(type="EarlyStoppingHook", monitor="accuracy", patience=5),
                dict(type="_CfgRecordHook"),
            ],
            log_processor=dict(
                type="LogProcessor",
                window_size=50,
                by_epoch=True,
                custom_cfg=[dict(data_src="loss", method_name="mean", window_size="global")],
            ),
            randomness=dict(seed=0),
        )
    )
    runner = Runner.from_cfg(cfg)
    runner.train()

    names = [type(h).__name__ for h in runner.hooks]
    assert names == [
        "RuntimeInfoHook",
        "EMAHook",  # priority 49 runs just before the NORMAL (50) hooks
        "IterTimerHook",
        "DistSamplerSeedHook",
        "_CfgVisHook",  # extra default_hooks key -> extra default hook, in dict order
        "_CfgRecordHook",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
        "EarlyStoppingHook",
    ]
    assert "(49          ) EMAHook                            \n" in runner.get_hooks_info()
    assert seen[0] == (0, ["loss"])
    assert ("vis", 4) in seen
    assert len([s for s in seen if s[0] != "vis"]) == 30

    files = sorted(os.listdir(tmp_path))
    assert [f for f in files if f.startswith("epoch_")] == ["epoch_2.pth", "epoch_3.pth"]
    with open(tmp_path / "last_checkpoint") as f:
        assert f.read() == osp.join(str(tmp_path), "epoch_3.pth")
    hub = runner.message_hub
    best = hub.get_info("best_ckpt")
    assert osp.basename(best).startswith("best_accuracy_epoch_")
    assert osp.isfile(best)
    assert hub.get_info("best_score") == pytest.approx(max(hub.get_scalar("val/accuracy").data[0]))
    assert hub.get_info("keep_ckpt_ids") == [2, 3]
    assert hub.get_scalar("train/lr").current() == pytest.approx(0.002)

    lines = _log_lines(runner)
    train = [line for line in lines if "Epoch(train)" in line]
    assert re.match(
        _PREFIX + r"Epoch\(train\) \[3\]\[10/10\]  lr: 2\.0000e-03  eta: 0:00:00  "
        rf"time: {_NUM}  data_time: {_NUM}  loss: ({_NUM})  throughput: {_NUM}  "
        rf"data_wait: {_NUM}$",
        train[-1],
    ), train[-1]
    # custom_cfg window_size='global': the loss item is the mean over all 30 iterations
    global_mean = float(hub.get_scalar("train/loss").mean())
    assert float(re.search(r"loss: (\S+)", train[-1]).group(1)) == pytest.approx(
        global_mean, abs=1e-4
    )
    with open(osp.join(runner.log_dir, "vis_data", "scalars.json")) as f:
        records = [json.loads(line) for line in f]
    assert records[-2]["loss"] == pytest.approx(global_mean)
    assert records[-1]["step"] == 3
    assert "accuracy" in records[-1]


def test_log_throughput_off_gives_mmengine_exact_lines(tmp_path):
    # The seed example's line shape, ending with the loss (no throughput/data_wait items).
    runner = _runner(
        tmp_path,
        max_epochs=2,
        default_hooks={"logger": {"type": "LoggerHook", "interval": 5}, "checkpoint": None},
        log_processor={"log_throughput": False},
    )
    runner.train()
    lines = _log_lines(runner)
    train = [line for line in lines if "Epoch(train)" in line]
    assert len(train) == 4
    for line, (epoch, batch) in zip(train, [(1, " 5"), (1, "10"), (2, " 5"), (2, "10")]):
        pattern = (
            _PREFIX + rf"Epoch\(train\) \[{epoch}\]\[{batch}/10\]  lr: 1\.0000e-01  "
            rf"eta: 0:00:\d\d  time: {_NUM}  data_time: {_NUM}  loss: {_NUM}$"
        )
        assert re.match(pattern, line), line
    val = [line for line in lines if "Epoch(val) [2][5/5]    accuracy" in line]
    assert re.match(
        _PREFIX + rf"Epoch\(val\) \[2\]\[5/5\]    accuracy: {_NUM}  data_time: {_NUM}  "
        rf"time: {_NUM}$",
        val[0],
    )
