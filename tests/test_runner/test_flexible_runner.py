"""FlexibleRunner (strategy.md §1): signature, strategy selection, lazy model, train/val/test,
checkpoints through the strategy, exact resume, and a config-file run via ``from_cfg``."""

from __future__ import annotations

import inspect
import os
import textwrap

import pytest
import torch
import torch.nn as nn

from piston._strategy import BaseStrategy, DDPStrategy, SingleDeviceStrategy
from piston.config import Config
from piston.registry import RUNNERS, STRATEGIES
from piston.runner import FlexibleRunner, Runner
from test_runner._toy import ToyMetric, ToyModel, loader_cfg


class CountingModel(ToyModel):
    """Counts ``init_weights`` calls (class-level: the runner builds it from a config)."""

    init_calls = 0

    def init_weights(self) -> None:
        type(self).init_calls += 1


def flex_kwargs(work_dir, **overrides) -> dict:
    kwargs = {
        "model": ToyModel(),
        "work_dir": str(work_dir),
        "train_dataloader": loader_cfg(),
        "val_dataloader": loader_cfg(shuffle=False),
        "train_cfg": {"by_epoch": True, "max_epochs": 2},
        "val_cfg": {},
        "val_evaluator": {"type": ToyMetric},
        "optim_wrapper": {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}},
        "param_scheduler": {"type": "MultiStepLR", "milestones": [1], "gamma": 0.5},
        "default_hooks": {"checkpoint": {"type": "CheckpointHook", "interval": 1}},
        "randomness": {"seed": 1},
    }
    kwargs.update(overrides)
    return kwargs


def _log_text(runner) -> str:
    """The text of the runner logger's file (runners made within one second share a logger,
    as loggers are named by experiment, so read the file the logger really writes)."""
    (path,) = [h.baseFilename for h in runner.logger.handlers if hasattr(h, "baseFilename")]
    with open(path) as f:
        return f.read()


# ---------------------------------------------------------------------------- signature
def test_signature_defaults_registration_and_export() -> None:
    import piston.runner

    assert "FlexibleRunner" in piston.runner.__all__
    assert RUNNERS.get("FlexibleRunner") is FlexibleRunner
    params = inspect.signature(FlexibleRunner.__init__).parameters
    names = list(params)[1:]
    assert names[0] == "model"
    assert params["model"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in names[1:])
    expected = {
        "work_dir": "work_dirs",
        "experiment_name": None,
        "train_dataloader": None,
        "optim_wrapper": None,
        "param_scheduler": None,
        "train_cfg": None,
        "val_dataloader": None,
        "val_evaluator": None,
        "val_cfg": None,
        "test_dataloader": None,
        "test_evaluator": None,
        "test_cfg": None,
        "strategy": None,
        "auto_scale_lr": None,
        "default_hooks": None,
        "custom_hooks": None,
        "data_preprocessor": None,
        "load_from": None,
        "resume": False,
        "launcher": None,
        "env_cfg": {"dist_cfg": {"backend": "nccl"}},
        "log_processor": None,
        "log_level": "INFO",
        "visualizer": None,
        "default_scope": "piston",
        "randomness": {"seed": None},
        "compile": False,
        "cfg": None,
    }
    assert names[1:] == list(expected)
    for name, default in expected.items():
        assert params[name].default == default, name
    sig = inspect.signature(FlexibleRunner.load_checkpoint).parameters
    assert (sig["map_location"].default, sig["strict"].default) == ("cpu", False)
    assert sig["revise_keys"].default == [(r"^module.", "")]
    sig = inspect.signature(FlexibleRunner.resume).parameters
    assert [sig[n].default for n in list(sig)[2:]] == [True, True, "default"]
    sig = inspect.signature(FlexibleRunner.save_checkpoint).parameters
    assert list(sig)[1:] == [
        "out_dir",
        "filename",
        "file_client_args",
        "save_optimizer",
        "save_param_scheduler",
        "meta",
        "by_epoch",
        "backend_args",
    ]
    assert [sig[n].default for n in list(sig)[3:]] == [None, True, True, None, True, None]


def test_argument_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="load_from should be None"):
        FlexibleRunner(ToyModel(), work_dir=str(tmp_path), resume="a.pth", load_from="b.pth")
    with pytest.raises(TypeError, match="compile should be a bool or a dict"):
        FlexibleRunner(ToyModel(), work_dir=str(tmp_path), compile="yes")
    with pytest.raises(ValueError, match="should be either all None or not None"):
        FlexibleRunner(ToyModel(), work_dir=str(tmp_path), train_cfg={"by_epoch": True})
    with pytest.raises(TypeError, match="strategy should be a BaseStrategy"):
        FlexibleRunner(ToyModel(), work_dir=str(tmp_path), strategy="DDPStrategy")


# ---------------------------------------------------------------------------- strategy selection
class DeepSpeedStrategy(SingleDeviceStrategy):
    """Stand-in named like the real one: records what build_strategy fills in."""

    def __init__(self, *, train_micro_batch_size_per_gpu=None, **kwargs) -> None:
        self.micro_batch = train_micro_batch_size_per_gpu
        super().__init__(**kwargs)


def test_build_strategy_selection_and_defaults(tmp_path) -> None:
    runner = FlexibleRunner(ToyModel(), work_dir=str(tmp_path / "a"))
    assert type(runner.strategy) is SingleDeviceStrategy  # launcher None -> inferred 'none'
    assert runner.launcher == "none"
    assert runner.distributed is False
    assert (runner.rank, runner.world_size) == (0, 1)

    strategy = SingleDeviceStrategy(work_dir=str(tmp_path / "own"), experiment_name="mine")
    runner = FlexibleRunner(ToyModel(), work_dir=str(tmp_path / "b"), strategy=strategy)
    assert runner.strategy is strategy
    assert runner.work_dir == strategy.work_dir == str(tmp_path / "own")  # from the strategy
    assert runner.experiment_name == f"mine_{strategy.timestamp}"
    assert runner.logger is strategy.logger

    runner = FlexibleRunner(
        ToyModel(),
        work_dir=str(tmp_path / "c"),
        experiment_name="exp",
        strategy={"type": "SingleDeviceStrategy"},
        auto_scale_lr={"enable": False, "base_batch_size": 4},
        randomness={"seed": 7, "deterministic": False},
        log_level="DEBUG",
        env_cfg={"dist_cfg": {"backend": "gloo"}, "resource_limit": 1024},
    )
    strategy = runner.strategy
    assert strategy.work_dir == str(tmp_path / "c")
    assert runner.experiment_name == strategy.experiment_name == f"exp_{strategy.timestamp}"
    assert strategy._auto_scale_lr == {"enable": False, "base_batch_size": 4}
    assert runner.seed == strategy.seed == 7
    assert strategy.randomness == {"seed": 7, "deterministic": False}
    assert {h.level for h in strategy.logger.handlers} == {10}  # DEBUG from log_kwargs
    assert runner.log_dir == os.path.join(str(tmp_path / "c"), runner.timestamp)
    assert runner._log_dir == runner.log_dir  # semi-private copy hooks read
    runner.set_randomness(seed=11)
    assert runner.seed == strategy.seed == 11
    assert runner._randomness_cfg["seed"] == 11  # what the loops read (diff_rank_seed)

    runner = FlexibleRunner(
        ToyModel(),
        work_dir=str(tmp_path / "d"),
        strategy={"type": DeepSpeedStrategy},
        train_dataloader=loader_cfg(batch_size=3),
        train_cfg={"by_epoch": True, "max_epochs": 1},
        optim_wrapper={"optimizer": {"type": "SGD", "lr": 0.1}},
    )
    assert runner.strategy.micro_batch == 3
    runner = FlexibleRunner(
        ToyModel(), work_dir=str(tmp_path / "e"), strategy={"type": DeepSpeedStrategy}
    )
    assert runner.strategy.micro_batch == 1  # no train dataloader


def test_launcher_pytorch_selects_ddp(tmp_path, monkeypatch) -> None:
    """launcher='pytorch' without a strategy builds DDPStrategy (here on a 1-rank gloo group)."""
    import torch.distributed as torch_dist
    from _dist import free_port

    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    torch_dist.init_process_group("gloo", rank=0, world_size=1)
    runner = FlexibleRunner(ToyModel(), work_dir=str(tmp_path), launcher="pytorch")
    assert isinstance(runner.strategy, DDPStrategy)
    assert runner.distributed is True


# ---------------------------------------------------------------------------- end to end
def test_train_checkpoints_resume_val_test_single_device(tmp_path) -> None:
    """Train 2 epochs (model built lazily from a dict), checkpoint, resume to 3 epochs and
    match an uninterrupted 3-epoch run exactly; then val and test from the checkpoint."""
    work_dir = tmp_path / "run"
    runner = FlexibleRunner(**flex_kwargs(work_dir, model={"type": ToyModel}))
    assert isinstance(runner.model, dict)  # not built in __init__
    assert runner.model_name == "ToyModel"
    assert isinstance(runner, Runner)  # reuses the Runner's loops and hooks
    model = runner.train()
    assert isinstance(model, ToyModel)
    assert runner.model is model
    assert (runner.epoch, runner.iter) == (2, 6)
    assert runner.optim_wrapper.get_lr()["lr"] == [pytest.approx(0.05)]  # MultiStepLR stepped
    files = sorted(os.listdir(work_dir))
    assert {"epoch_1.pth", "epoch_2.pth", "last_checkpoint", f"{runner.timestamp}.py"} <= set(files)
    ckpt = torch.load(work_dir / "epoch_2.pth", weights_only=True)
    assert list(ckpt)[:3] == ["state_dict", "optimizer", "param_schedulers"]
    assert {"meta", "message_hub", "train_state"} <= set(ckpt)
    meta = ckpt["meta"]
    assert (meta["epoch"], meta["iter"], meta["seed"]) == (2, 6, 1)
    assert meta["experiment_name"] == runner.experiment_name
    assert meta["dataset_meta"] == {"classes": ("a", "b")}
    assert meta["piston"].startswith("0.")
    assert len(meta["time"]) == 15
    assert "cfg" in meta
    log = _log_text(runner)
    for line in (
        "Hooks will be executed in the following order:",
        "Epoch(train) [2][3/3]",
        "Epoch(val) [2][3/3]",
        "Saving checkpoint at 2 epochs",
        "System environment:",
    ):
        assert line in log, line

    resumed = FlexibleRunner(
        **flex_kwargs(work_dir, train_cfg={"by_epoch": True, "max_epochs": 3}, resume=True)
    )
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (3, 9)
    log = _log_text(resumed)
    assert "Auto resumed from the latest checkpoint" in log
    assert "resumed epoch: 2, iter: 6" in log
    assert "resumed key" not in log  # no noise about unsaved message hub keys

    straight = FlexibleRunner(
        **flex_kwargs(
            tmp_path / "straight",
            model={"type": ToyModel},
            train_cfg={"by_epoch": True, "max_epochs": 3},
        )
    )
    straight.train()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert resumed.optim_wrapper.get_lr() == straight.optim_wrapper.get_lr()

    tester = FlexibleRunner(
        ToyModel(),
        work_dir=str(tmp_path / "test"),
        test_dataloader=loader_cfg(shuffle=False),
        test_cfg={},
        test_evaluator={"type": ToyMetric},
        load_from=str(work_dir / "epoch_3.pth"),
    )
    metrics = tester.test()
    assert set(metrics) == {"toy/acc"}
    for key, value in resumed.model.state_dict().items():
        assert torch.equal(value, tester.model.state_dict()[key]), key
    log = _log_text(tester)
    assert f"Load checkpoint from {work_dir / 'epoch_3.pth'}" in log
    assert "Epoch(test) [3/3]" in log
    assert resumed.val() == {"toy/acc": pytest.approx(metrics["toy/acc"])}  # after train()


def test_val_then_train_and_init_weights_for_val(tmp_path) -> None:
    """val() prepares only the model; a later train() still gets an optimizer. With
    ``init_weights_for_test_or_val=False`` in the cfg, val() skips ``init_weights``."""
    CountingModel.init_calls = 0
    runner = FlexibleRunner(
        **flex_kwargs(
            tmp_path,
            model={"type": CountingModel},
            cfg={"init_weights_for_test_or_val": False},
            # a list: ParamSchedulerHook.after_val_epoch misreads a single unbuilt dict config
            param_scheduler=[{"type": "MultiStepLR", "milestones": [1]}],
        )
    )
    runner.val()
    assert CountingModel.init_calls == 0
    assert runner.optim_wrapper == {"optimizer": {"type": "SGD", "lr": 0.1, "momentum": 0.9}}
    runner.train()
    assert runner.iter == 6
    assert type(runner.optim_wrapper).__name__ == "OptimWrapper"

    runner = FlexibleRunner(
        **flex_kwargs(tmp_path / "b", model={"type": CountingModel}, param_scheduler=None)
    )
    runner.val()
    assert CountingModel.init_calls == 1  # default: initialise for val too


def test_resume_from_path_callbacks_and_save_meta(tmp_path) -> None:
    """resume=<path>; after_load/before_save hooks fire through the strategy callbacks; meta
    epoch/iter are overwritten (not setdefault)."""
    from piston.hooks import Hook

    class Recorder(Hook):
        def __init__(self) -> None:
            self.loaded, self.saved = [], []

        def after_load_checkpoint(self, runner, checkpoint) -> None:
            self.loaded.append(checkpoint["meta"]["epoch"])

        def before_save_checkpoint(self, runner, checkpoint) -> None:
            checkpoint["extra"] = "added"
            self.saved.append(checkpoint["meta"]["epoch"])

    runner = FlexibleRunner(
        **flex_kwargs(tmp_path / "a", train_cfg={"by_epoch": True, "max_epochs": 1})
    )
    runner.train()
    runner.save_checkpoint(str(tmp_path), "manual.pth", meta={"epoch": 99, "note": 1})
    ckpt = torch.load(tmp_path / "manual.pth", weights_only=True)
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"], ckpt["meta"]["note"]) == (2, 3, 1)
    runner.save_checkpoint(
        str(tmp_path), "noopt.pth", save_optimizer=False, save_param_scheduler=False, by_epoch=False
    )
    ckpt = torch.load(tmp_path / "noopt.pth", weights_only=True)
    assert "optimizer" not in ckpt
    assert "param_schedulers" not in ckpt
    assert (ckpt["meta"]["epoch"], ckpt["meta"]["iter"]) == (1, 4)
    with pytest.raises(TypeError, match="meta should be a dict"):
        runner.save_checkpoint(str(tmp_path), "x.pth", meta=[1])
    with (
        pytest.warns(DeprecationWarning, match="file_client_args"),
        pytest.raises(ValueError, match="cannot be set at the same time"),
    ):
        runner.save_checkpoint(str(tmp_path), "x.pth", file_client_args={}, backend_args={})
    with pytest.warns(DeprecationWarning, match="file_client_args"):  # as Runner warns
        runner.save_checkpoint(str(tmp_path), "y.pth", file_client_args=dict(backend="local"))
    assert (tmp_path / "y.pth").is_file()

    recorder = Recorder()
    resumed = FlexibleRunner(
        **flex_kwargs(
            tmp_path / "b",
            resume=str(tmp_path / "a" / "epoch_1.pth"),
            custom_hooks=[recorder],
            train_cfg={"by_epoch": True, "max_epochs": 2},
        )
    )
    resumed.train()
    assert recorder.loaded == [1]
    assert recorder.saved == [2]
    assert torch.load(tmp_path / "b" / "epoch_2.pth", weights_only=True)["extra"] == "added"
    assert "resumed epoch: 1, iter: 3" in _log_text(resumed)


def test_resume_checks_gpu_count_and_dataset_meta(tmp_path) -> None:
    runner = FlexibleRunner(
        **flex_kwargs(
            tmp_path / "a",
            train_cfg={"by_epoch": True, "max_epochs": 1},
            cfg={"gpu_ids": [0, 1]},
        )
    )
    runner.train()
    ckpt = str(tmp_path / "a" / "epoch_1.pth")
    with pytest.raises(RuntimeError, match="Number of GPUs used"):
        FlexibleRunner(**flex_kwargs(tmp_path / "b", resume=ckpt)).train()
    scaled = FlexibleRunner(
        **flex_kwargs(
            tmp_path / "c",
            resume=ckpt,
            auto_scale_lr={"enable": True, "base_batch_size": 4},
        )
    )
    scaled.train()
    assert "the learning rate is rescaled by auto_scale_lr" in _log_text(scaled)


def test_compile_argument_reaches_the_strategy(tmp_path) -> None:
    runner = FlexibleRunner(**flex_kwargs(tmp_path / "a", compile={"disable": True}))
    runner.train()  # disabled: trained uncompiled
    assert "compiled" not in _log_text(runner)
    runner = FlexibleRunner(**flex_kwargs(tmp_path / "b", compile=True))
    assert runner._compile == {"target": "train_step"}
    runner = FlexibleRunner(**flex_kwargs(tmp_path / "c", compile={"backend": "eager"}))
    assert runner._compile == {"target": "train_step", "backend": "eager"}


def test_wrap_model_points_to_strategy(tmp_path) -> None:
    runner = FlexibleRunner(nn.Linear(1, 1), work_dir=str(tmp_path))
    with pytest.raises(NotImplementedError, match="strategy"):
        runner.wrap_model(None, nn.Linear(1, 1))
    with pytest.raises(RuntimeError, match="_train_loop"):
        runner.train()
    with pytest.raises(RuntimeError, match="_val_loop"):
        runner.val()
    with pytest.raises(RuntimeError, match="_test_loop"):
        runner.test()


# ---------------------------------------------------------------------------- config file
USER_MODULE = """
from piston.registry import DATASETS, METRICS, MODELS
from test_runner._toy import ToyDataset, ToyMetric, ToyModel

MODELS.register_module(name="FlexCfgModel", module=ToyModel, force=True)
DATASETS.register_module(name="FlexCfgDataset", module=ToyDataset, force=True)
METRICS.register_module(name="FlexCfgMetric", module=ToyMetric, force=True)
"""

CONFIG = """
custom_imports = dict(imports=['flex_cfg_user_module'], allow_failed_imports=False)
runner_type = 'FlexibleRunner'
strategy = dict(type='SingleDeviceStrategy')
model = dict(type='FlexCfgModel')
train_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                        collate_fn=dict(type='default_collate'), dataset=dict(type='FlexCfgDataset', size=8))
val_dataloader = dict(batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                      collate_fn=dict(type='default_collate'), dataset=dict(type='FlexCfgDataset', size=8))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=1)
val_cfg = dict()
val_evaluator = dict(type='FlexCfgMetric')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[1], gamma=0.1)]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1))
randomness = dict(seed=3)
compile = False
"""


def test_config_file_run_via_from_cfg(tmp_path, monkeypatch) -> None:
    """A config file with ``runner_type='FlexibleRunner'`` and no ``work_dir``/``env_cfg``."""
    (tmp_path / "flex_cfg_user_module.py").write_text(textwrap.dedent(USER_MODULE))
    (tmp_path / "flex_exp.py").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile(str(tmp_path / "flex_exp.py"))
    runner = RUNNERS.build(cfg)
    assert type(runner) is FlexibleRunner
    assert runner.work_dir == str(tmp_path / "work_dirs")  # default work_dir
    assert runner.experiment_name == f"flex_exp_{runner.timestamp}"  # config stem
    assert runner.seed == 3
    assert isinstance(runner.strategy, SingleDeviceStrategy)
    runner.train()
    work_dir = tmp_path / "work_dirs"
    assert sorted(p for p in os.listdir(work_dir) if p.endswith(".pth")) == ["epoch_2.pth"]
    assert (work_dir / "flex_exp.py").is_file()  # dump_config
    assert "Epoch(val) [2][2/2]" in _log_text(runner)
    assert runner.optim_wrapper.get_lr()["lr"] == [pytest.approx(0.01)]

    with pytest.raises(KeyError, match="model"):
        FlexibleRunner.from_cfg({"work_dir": str(tmp_path)})


def test_strategies_are_base_strategies() -> None:
    for name in ("SingleDeviceStrategy", "DDPStrategy", "FSDPStrategy"):
        assert issubclass(STRATEGIES.get(name), BaseStrategy)


def test_ema_hook_resumes_under_flexible_runner(tmp_path) -> None:
    """FlexibleRunner loads the checkpoint before ``before_run`` (strategy.md): the EMAHook
    builds its averaged model on that load and restores the saved average, not a fresh copy."""
    ema = [{"type": "EMAHook", "momentum": 0.5}]
    first = FlexibleRunner(**flex_kwargs(tmp_path / "a", custom_hooks=ema))
    first.train()
    (hook,) = [h for h in first.hooks if type(h).__name__ == "EMAHook"]
    saved_average = {k: v.clone() for k, v in hook.ema_model.module.state_dict().items()}
    ckpt = str(tmp_path / "a" / "epoch_2.pth")
    resumed = FlexibleRunner(**flex_kwargs(tmp_path / "b", custom_hooks=ema, resume=ckpt))
    resumed.train()  # already at max_epochs: loads, runs no iteration
    (hook2,) = [h for h in resumed.hooks if type(h).__name__ == "EMAHook"]
    assert hook2.src_model is resumed.model
    for key, value in hook2.ema_model.module.state_dict().items():
        torch.testing.assert_close(value, saved_average[key])
    raw = resumed.model.state_dict()
    assert any(not torch.equal(raw[k], saved_average[k]) for k in saved_average)
