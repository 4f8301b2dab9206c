"""Runner construction, lazy building, hooks, loops and checkpoints on a tiny model."""

from __future__ import annotations

import json
import os
import re
from functools import partial

import pytest
import torch
from torch.utils.data import DataLoader

from piston.hooks import Hook
from piston.runner import (
    EpochBasedTrainLoop,
    IterBasedTrainLoop,
    Runner,
    TestLoop,
    ValLoop,
    autocast,
)

from ._toy import ToyMetric, ToyModel, loader_cfg, runner_kwargs


class Recorder(Hook):
    """Records when validation ran (train epoch/iter at the time) and the metrics."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.val_at: list[tuple[int, int]] = []
        self.metrics: list[dict] = []

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.val_at.append((runner.epoch, runner.iter))
        self.metrics.append(metrics)


# ---------------------------------------------------------------- construction and checks
@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"train_cfg": None}, "train_dataloader, train_cfg, optim_wrapper"),
        ({"val_evaluator": None}, "val_dataloader, val_cfg, val_evaluator"),
        ({"test_dataloader": loader_cfg()}, "test_dataloader, test_cfg, test_evaluator"),
    ],
)
def test_inconsistent_arguments_raise_value_error(tmp_path, overrides, match) -> None:
    with pytest.raises(ValueError, match=match):
        Runner(**runner_kwargs(tmp_path, **overrides))


def test_param_scheduler_checks(tmp_path) -> None:
    with pytest.raises(ValueError, match="param_scheduler should be None"):
        Runner(
            **runner_kwargs(
                tmp_path,
                train_dataloader=None,
                train_cfg=None,
                optim_wrapper=None,
                param_scheduler={"type": "MultiStepLR", "milestones": [1]},
            )
        )
    with pytest.raises(AssertionError, match="type"):
        Runner(**runner_kwargs(tmp_path, param_scheduler=[{"milestones": [1]}]))
    with pytest.raises(TypeError, match="param_scheduler"):
        Runner(**runner_kwargs(tmp_path, param_scheduler=3))


def test_work_dir_layout_and_lazy_building(tmp_path) -> None:
    runner = Runner(**runner_kwargs(tmp_path / "wd", cfg={"foo": 1}))
    assert runner.work_dir == str(tmp_path / "wd")
    assert re.fullmatch(r"\d{8}_\d{6}", runner.timestamp)
    assert runner.log_dir == os.path.join(runner.work_dir, runner.timestamp)
    assert runner.experiment_name == runner.timestamp
    assert os.path.isfile(os.path.join(runner.log_dir, f"{runner.timestamp}.log"))
    with open(os.path.join(runner.work_dir, f"{runner.timestamp}.py")) as fobj:
        assert "foo = 1" in fobj.read()
    assert runner.seed == 1
    assert runner.model_name == "ToyModel"
    # loops and dataloaders stay configs until needed
    assert isinstance(runner._train_loop, dict)
    assert isinstance(runner._val_loop, dict)
    assert runner.max_epochs == 2  # reading it builds the train loop
    assert isinstance(runner._train_loop, EpochBasedTrainLoop)
    assert isinstance(runner.train_dataloader, DataLoader)
    assert isinstance(runner._val_loop, dict)
    assert isinstance(runner.val_loop, ValLoop)
    assert isinstance(runner.val_evaluator.metrics[0], ToyMetric)


def test_experiment_name_prefix_and_from_cfg_requires_keys(tmp_path) -> None:
    runner = Runner(**runner_kwargs(tmp_path, experiment_name="exp"))
    assert runner.experiment_name == f"exp_{runner.timestamp}"
    with pytest.raises(KeyError, match="work_dir"):
        Runner.from_cfg({"model": {"type": "ToyModel"}})


def test_build_dataloader_defaults(tmp_path) -> None:
    from piston.dataset import pseudo_collate, worker_init_fn

    loader = Runner.build_dataloader(
        {
            "batch_size": 2,
            "dataset": list(range(10)),
            "sampler": {"type": "DefaultSampler"},
            "num_batch_per_epoch": 2,
        },
        seed=3,
    )
    assert loader.collate_fn.func is pseudo_collate
    assert isinstance(loader.worker_init_fn, partial)
    assert loader.worker_init_fn.func is worker_init_fn
    assert loader.worker_init_fn.keywords["seed"] == 3
    assert len(loader.dataset) == 4
    assert len(loader) == 2
    assert loader.pin_memory == torch.cuda.is_available()
    with pytest.raises(TypeError, match="collate_fn"):
        Runner.build_dataloader(
            {
                "batch_size": 2,
                "dataset": [1],
                "sampler": {"type": "DefaultSampler"},
                "collate_fn": 3,
            }
        )


# ------------------------------------------------------------------------------ hooks
def test_hook_order_priorities_and_info(tmp_path) -> None:
    class Early(Hook):
        priority = "HIGHEST"

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            pass

    runner = Runner(
        **runner_kwargs(tmp_path, custom_hooks=[{"type": Recorder, "priority": 55}, Early()])
    )
    names = [type(h).__name__ for h in runner.hooks]
    assert names == [
        "Early",
        "RuntimeInfoHook",
        "IterTimerHook",
        "DistSamplerSeedHook",
        "Recorder",
        "LoggerHook",
        "ParamSchedulerHook",
        "CheckpointHook",
    ]
    info = runner.get_hooks_info()
    assert "before_train_iter:\n(HIGHEST     ) Early                              \n" in info
    assert " -------------------- " in info
    # per-stage dispatch lists hold only the hooks overriding the stage
    stage = [type(h).__name__ for h in runner._stage_hooks["after_val_epoch"]]
    assert stage[0] == "RuntimeInfoHook"
    assert stage[-1] == "CheckpointHook"
    assert stage.index("Recorder") < stage.index("LoggerHook")
    assert "Early" not in stage
    assert next(type(h).__name__ for h in runner._stage_hooks["before_train_iter"]) == "Early"
    assert all(type(h).__name__ != "Recorder" for h in runner._stage_hooks["after_train_iter"])
    # equal priority keeps registration order; the dispatch lists are rebuilt
    runner.register_hook(Recorder(), priority="VERY_HIGH")
    assert type(runner.hooks[2]).__name__ == "Recorder"
    stage = [type(h).__name__ for h in runner._stage_hooks["after_val_epoch"]]
    assert stage[:2] == ["RuntimeInfoHook", "Recorder"]


def test_default_hooks_override_and_remove(tmp_path) -> None:
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            default_hooks={"checkpoint": None, "logger": {"type": "LoggerHook", "interval": 3}},
        )
    )
    names = [type(h).__name__ for h in runner.hooks]
    assert "CheckpointHook" not in names
    assert next(h for h in runner.hooks if type(h).__name__ == "LoggerHook").interval == 3
    with pytest.raises(AssertionError, match="unknown_hook should not be None"):
        Runner(**runner_kwargs(tmp_path, default_hooks={"unknown_hook": None}))
    with pytest.raises(TypeError, match="Hook or dict"):
        runner.register_hook(3)


def test_call_hook_custom_stage_and_type_error_names_hook(tmp_path) -> None:
    class Custom(Hook):
        called = 0

        def my_stage(self, runner, value) -> None:
            Custom.called += value

    runner = Runner(**runner_kwargs(tmp_path, custom_hooks=[Custom()]))
    runner.call_hook("my_stage", value=2)
    assert Custom.called == 2
    with pytest.raises(TypeError, match="in <"):
        runner.call_hook("my_stage", wrong=1)


# ------------------------------------------------------------------------------ loops
def test_epoch_training_validates_and_checkpoints(tmp_path) -> None:
    recorder = Recorder()
    runner = Runner(**runner_kwargs(tmp_path, custom_hooks=[recorder]))
    model = runner.train()
    assert model is runner.model
    assert runner.epoch == 2
    assert runner.iter == 6
    assert recorder.val_at == [(1, 3), (2, 6)]
    assert set(recorder.metrics[-1]) == {"toy/acc"}
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".pth")) == [
        "epoch_1.pth",
        "epoch_2.pth",
    ]
    ckpt = torch.load(tmp_path / "epoch_2.pth", weights_only=True)
    assert ckpt["meta"]["epoch"] == 2
    assert ckpt["meta"]["iter"] == 6
    assert ckpt["meta"]["dataset_meta"] == {"classes": ("a", "b")}
    assert ckpt["meta"]["seed"] == 1
    assert ckpt["meta"]["piston_version"].startswith("0.1.0")
    assert {"rng", "data_epoch", "batches", "sampler"} <= set(ckpt["train_state"])


def test_iteration_based_training_validates_every_n_iterations(tmp_path) -> None:
    recorder = Recorder()
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            train_cfg={"by_epoch": False, "max_iters": 10, "val_interval": 4},
            default_hooks={
                "checkpoint": {"type": "CheckpointHook", "interval": 5, "by_epoch": False}
            },
            log_processor={"by_epoch": False},
            custom_hooks=[recorder],
        )
    )
    runner.train()
    assert isinstance(runner.train_loop, IterBasedTrainLoop)
    assert runner.iter == 10
    assert runner.max_epochs == 1
    assert [it for _, it in recorder.val_at] == [4, 8, 10]
    assert os.path.isfile(tmp_path / "iter_5.pth")
    assert os.path.isfile(tmp_path / "iter_10.pth")


def test_dynamic_intervals_and_val_begin(tmp_path) -> None:
    recorder = Recorder()
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            train_cfg={"by_epoch": True, "max_epochs": 5, "dynamic_intervals": [(3, 2)]},
            default_hooks={"checkpoint": None},
            custom_hooks=[recorder],
        )
    )
    runner.train()
    assert [ep for ep, _ in recorder.val_at] == [1, 2, 4, 5]
    recorder2 = Recorder()
    runner = Runner(
        **runner_kwargs(
            tmp_path / "b",
            train_cfg={"by_epoch": True, "max_epochs": 3, "val_begin": 3},
            default_hooks={"checkpoint": None},
            custom_hooks=[recorder2],
        )
    )
    runner.train()
    assert [ep for ep, _ in recorder2.val_at] == [3]


def test_train_cfg_type_and_by_epoch_conflict(tmp_path) -> None:
    runner = Runner(
        **runner_kwargs(
            tmp_path, train_cfg={"type": "EpochBasedTrainLoop", "by_epoch": True, "max_epochs": 1}
        )
    )
    with pytest.raises(RuntimeError, match="Only one of `type` or `by_epoch`"):
        runner.train()
    with pytest.raises(AssertionError, match="integer"):
        EpochBasedTrainLoop(runner, loader_cfg(), max_epochs=1.5)


def test_val_and_test_return_metrics_and_write_results(tmp_path) -> None:
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            test_dataloader=loader_cfg(shuffle=False),
            test_cfg={},
            test_evaluator=[{"type": ToyMetric}],
        )
    )
    assert set(runner.val()) == {"toy/acc"}
    assert isinstance(runner.test_loop, TestLoop)
    metrics = runner.test()
    assert set(metrics) == {"toy/acc"}
    with open(os.path.join(runner.log_dir, f"{runner.timestamp}.json")) as fobj:
        result = json.load(fobj)
    assert result["toy/acc"] == pytest.approx(metrics["toy/acc"])


def test_missing_loops_raise_runtime_error(tmp_path) -> None:
    runner = Runner(model=ToyModel(), work_dir=str(tmp_path))
    for method in (runner.train, runner.val, runner.test):
        with pytest.raises(RuntimeError, match="should not be None"):
            method()


# ---------------------------------------------------------------------- bad input
def test_unknown_hook_type_is_a_clear_key_error(tmp_path) -> None:
    with pytest.raises(KeyError, match="NoSuchHook"):
        Runner(**runner_kwargs(tmp_path, custom_hooks=[{"type": "NoSuchHook"}]))


def test_unknown_loop_and_metric_types(tmp_path) -> None:
    runner = Runner(**runner_kwargs(tmp_path, train_cfg={"type": "NoSuchLoop"}))
    with pytest.raises(KeyError, match="NoSuchLoop"):
        runner.train()
    runner = Runner(**runner_kwargs(tmp_path / "m", val_evaluator={"type": "NoSuchMetric"}))
    with pytest.raises(KeyError, match="NoSuchMetric"):
        runner.val()


def test_load_from_missing_or_corrupt_checkpoint(tmp_path) -> None:
    runner = Runner(**runner_kwargs(tmp_path, load_from=str(tmp_path / "missing.pth")))
    with pytest.raises(FileNotFoundError, match=r"missing\.pth"):
        runner.val()
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"\x00garbage")
    runner = Runner(**runner_kwargs(tmp_path / "b", load_from=str(bad)))
    with pytest.raises(RuntimeError, match="corrupt"):
        runner.val()


# ---------------------------------------------------------------------- checkpoints
def test_load_from_and_resume_path(tmp_path) -> None:
    first = Runner(
        **runner_kwargs(
            tmp_path / "a",
            param_scheduler={"type": "MultiStepLR", "milestones": [1], "by_epoch": True},
        )
    )
    first.train()
    ckpt = str(tmp_path / "a" / "epoch_1.pth")
    loaded = Runner(**runner_kwargs(tmp_path / "b", load_from=ckpt))
    loaded.val()
    weights = torch.load(ckpt, weights_only=True)["state_dict"]
    assert torch.equal(loaded.model.linear.weight, weights["linear.weight"])
    resumed = Runner(
        **runner_kwargs(
            tmp_path / "c",
            resume=ckpt,
            train_cfg={"by_epoch": True, "max_epochs": 2},
            param_scheduler={"type": "MultiStepLR", "milestones": [1], "by_epoch": True},
        )
    )
    resumed.train()
    assert resumed.epoch == 2
    assert resumed.iter == 6
    assert resumed.param_schedulers[0].last_step == first.param_schedulers[0].last_step
    assert resumed.optim_wrapper.get_lr()["lr"] == first.optim_wrapper.get_lr()["lr"]
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


def test_save_checkpoint_meta_validation(tmp_path) -> None:
    runner = Runner(**runner_kwargs(tmp_path))
    runner.train()
    with pytest.raises(TypeError, match="meta should be a dict"):
        runner.save_checkpoint(str(tmp_path), "x.pth", meta=[1])
    runner.save_checkpoint(str(tmp_path), "x.pth", save_optimizer=False, by_epoch=False)
    ckpt = torch.load(tmp_path / "x.pth", weights_only=True)
    assert "optimizer" not in ckpt
    assert ckpt["meta"]["iter"] == 7


def test_auto_scale_lr(tmp_path) -> None:
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            auto_scale_lr={"enable": True, "base_batch_size": 2},
            train_cfg={"by_epoch": True, "max_epochs": 0},
        )
    )
    runner.train()
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(0.2)


def test_compile_cfg_wraps_train_step(tmp_path) -> None:
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            train_cfg={"by_epoch": True, "max_epochs": 1},
            cfg={"compile": {"backend": "eager"}},
        )
    )
    runner.train()
    assert runner.iter == 3
    assert "compile" in type(runner.model.__dict__["train_step"]).__module__ or hasattr(
        runner.model.__dict__["train_step"], "_torchdynamo_orig_callable"
    )


# ------------------------------------------------------------------------------ amp
def test_autocast_cpu_and_unknown_devices() -> None:
    with autocast(device_type="cpu"):
        out = torch.mm(torch.randn(2, 2), torch.randn(2, 2))
    assert out.dtype == torch.bfloat16
    with (
        pytest.raises(ValueError, match="bfloat16"),
        autocast(device_type="cpu", dtype=torch.float16),
    ):
        pass
    with pytest.raises(ValueError, match="device_type"), autocast(device_type="tpu"):
        pass
    with autocast(device_type="tpu", enabled=False):
        pass


# ------------------------------------------------------------------ env and fast path
def test_env_cfg_randomness_and_launcher_checks(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    runner = Runner(
        **runner_kwargs(
            tmp_path,
            env_cfg={"cudnn_benchmark": True},
            randomness={"seed": 5, "diff_rank_seed": True},
        )
    )
    assert torch.backends.cudnn.benchmark is True
    assert runner.seed == 5  # rank 0 adds 0
    assert runner.distributed is False
    assert runner.rank == 0
    assert runner.world_size == 1
    assert runner.launcher == "none"
    with pytest.raises(ValueError, match="launcher"):
        Runner(**runner_kwargs(tmp_path / "x", launcher="kubernetes"))


def test_fast_path_config_and_cpu_run(tmp_path) -> None:
    from piston.runner._fast import apply_fast_cfg

    cfg = {
        "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1}},
        "train_dataloader": {**loader_cfg(), "num_workers": 2},
        "val_dataloader": loader_cfg(),
    }
    apply_fast_cfg(cfg)
    assert cfg["train_dataloader"]["persistent_workers"] is True
    assert cfg["train_dataloader"]["prefetch_factor"] == 4
    assert cfg["train_dataloader"]["pin_memory"] == torch.cuda.is_available()
    assert "persistent_workers" not in cfg["val_dataloader"]  # no workers, nothing to keep
    expected_type = "AmpOptimWrapper" if torch.cuda.is_available() else None
    assert cfg["optim_wrapper"].get("type") == expected_type
    runner = Runner(**runner_kwargs(tmp_path, cfg={"fast": True}))
    runner.train()  # on CPU the fast path leaves the model and loop as they are
    assert runner.iter == 6


def test_resume_checks_gpu_count_without_executing_the_config(tmp_path) -> None:
    first = Runner(**runner_kwargs(tmp_path / "a", cfg={"gpu_ids": [0, 1]}))
    first.train()
    ckpt = str(tmp_path / "a" / "epoch_2.pth")
    resumed = Runner(**runner_kwargs(tmp_path / "b", resume=ckpt))
    with pytest.raises(RuntimeError, match="Number of GPUs"):
        resumed.train()
    scaled = Runner(
        **runner_kwargs(
            tmp_path / "c",
            resume=ckpt,
            auto_scale_lr={"enable": True, "base_batch_size": 4},
            train_cfg={"by_epoch": True, "max_epochs": 3},
        )
    )
    scaled.train()
    assert scaled.epoch == 3
