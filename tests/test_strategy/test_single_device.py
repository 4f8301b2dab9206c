"""BaseStrategy (strategy.md §2) and SingleDeviceStrategy (§3): environment, build helpers,
``prepare``, state getters/setters and checkpoint save/load/resume on real files."""

from __future__ import annotations

import inspect
import logging
import os
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from test_runner._toy import ToyModel

from piston._strategy import BaseStrategy, SingleDeviceStrategy
from piston.optim import OptimWrapper, OptimWrapperDict
from piston.registry import STRATEGIES

_MISSING = inspect.Parameter.empty


def _log_path(strategy) -> str:
    (path,) = [h.baseFilename for h in strategy.logger.handlers if hasattr(h, "baseFilename")]
    return path


def _log(strategy) -> str:
    with open(_log_path(strategy)) as f:
        return f.read()


def _defaults(func) -> dict:
    params = list(inspect.signature(func).parameters.values())[1:]
    return {p.name: (p.kind.name, p.default) for p in params}


def make(tmp_path, **kwargs) -> SingleDeviceStrategy:
    kwargs.setdefault("env_kwargs", {"randomness": {"seed": 1}})
    # loggers are named by experiment: one name per work dir keeps their files apart
    kwargs.setdefault("experiment_name", os.path.basename(str(tmp_path)))
    return SingleDeviceStrategy(work_dir=str(tmp_path), **kwargs)


# ---------------------------------------------------------------------------- signatures
def test_base_strategy_signatures() -> None:
    kw = "KEYWORD_ONLY"
    assert _defaults(BaseStrategy.__init__) == {
        "work_dir": (kw, "work_dirs"),
        "experiment_name": (kw, None),
        "env_kwargs": (kw, None),
        "log_kwargs": (kw, None),
        "auto_scale_lr": (kw, None),
    }
    assert _defaults(BaseStrategy._setup_env) == {
        "launcher": (kw, None),
        "cudnn_benchmark": (kw, False),
        "mp_cfg": (kw, None),
        "dist_cfg": (kw, None),
        "resource_limit": (kw, 4096),
        "randomness": (kw, None),  # None means dict(seed=None)
    }
    assert _defaults(BaseStrategy.prepare) == {
        "model": ("POSITIONAL_OR_KEYWORD", _MISSING),
        "optim_wrapper": (kw, None),
        "param_scheduler": (kw, None),
        "compile": (kw, False),
        "dispatch_kwargs": (kw, None),
    }
    revise = [(r"^module.", "")]
    assert _defaults(SingleDeviceStrategy.load_checkpoint) == {
        "filename": ("POSITIONAL_OR_KEYWORD", _MISSING),
        "map_location": (kw, "cpu"),
        "strict": (kw, False),
        "revise_keys": (kw, revise),
        "callback": (kw, None),
    }
    assert _defaults(SingleDeviceStrategy.resume) == {
        "filename": ("POSITIONAL_OR_KEYWORD", _MISSING),
        "resume_optimizer": (kw, True),
        "resume_param_scheduler": (kw, True),
        "map_location": (kw, "default"),
        "callback": (kw, None),
    }
    assert _defaults(SingleDeviceStrategy.save_checkpoint) == {
        "filename": ("POSITIONAL_OR_KEYWORD", _MISSING),
        "save_optimizer": (kw, True),
        "save_param_scheduler": (kw, True),
        "extra_ckpt": (kw, None),
        "callback": (kw, None),
    }
    assert _defaults(BaseStrategy.load_model_state_dict)["revise_keys"] == (kw, revise)
    assert _defaults(BaseStrategy.load_or_resume) == {
        "load_from": (kw, None),
        "resume": (kw, False),
    }
    assert _defaults(BaseStrategy.compile_model)["compile"] == ("POSITIONAL_OR_KEYWORD", False)
    assert STRATEGIES.get("SingleDeviceStrategy") is SingleDeviceStrategy
    with pytest.raises(TypeError, match="abstract"):
        BaseStrategy()


def test_strategy_import_stays_light() -> None:
    """``import piston.runner`` / ``piston._strategy`` load neither FSDP nor DeepSpeed."""
    code = (
        "import sys, piston, piston.runner, piston._strategy\n"
        "bad = [m for m in ('torch.distributed.fsdp', 'deepspeed', 'colossalai') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- environment
def test_environment_logger_and_properties(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    strategy = SingleDeviceStrategy(
        work_dir=str(tmp_path / "wd"),
        experiment_name="exp",
        env_kwargs={"randomness": {"seed": 5, "deterministic": False}, "resource_limit": 1024},
        log_kwargs={"log_level": "WARNING"},
    )
    assert os.path.isdir(strategy.work_dir)
    assert strategy.work_dir == str(tmp_path / "wd")
    assert len(strategy.timestamp) == 15
    assert strategy.experiment_name == f"exp_{strategy.timestamp}"
    assert strategy.log_dir == os.path.join(strategy.work_dir, strategy.timestamp)
    assert os.path.isdir(strategy.log_dir)
    assert strategy.launcher == "none"  # None -> infer_launcher()
    assert strategy.distributed is False
    assert (strategy.rank, strategy.world_size, strategy.seed) == (0, 1, 5)
    assert strategy.randomness == {"seed": 5, "deterministic": False}
    strategy.logger.warning("hello strategy")
    assert "hello strategy" in _log(strategy)
    assert _log_path(strategy) == os.path.join(strategy.log_dir, f"{strategy.timestamp}.log")
    assert {h.level for h in strategy.logger.handlers} == {logging.WARNING}
    system, runtime = strategy.collect_env()
    assert "PyTorch" in system
    assert runtime["seed"] == 5
    assert runtime["resource_limit"] == 1024
    assert runtime["Distributed launcher"] == "none"
    assert runtime["GPU number"] == 1

    plain = SingleDeviceStrategy(work_dir=str(tmp_path / "plain"))
    assert plain.experiment_name == plain.timestamp
    assert isinstance(plain.seed, int)  # seed=None draws one
    with pytest.raises(ValueError, match="launcher should be one of"):
        SingleDeviceStrategy(work_dir=str(tmp_path), env_kwargs={"launcher": "torchrun"})
    with pytest.raises(TypeError):
        SingleDeviceStrategy(work_dir=str(tmp_path), env_kwargs={"bogus": 1})


def test_cudnn_benchmark(tmp_path) -> None:
    saved = torch.backends.cudnn.benchmark
    try:
        torch.backends.cudnn.benchmark = False
        SingleDeviceStrategy(work_dir=str(tmp_path), env_kwargs={"cudnn_benchmark": True})
        assert torch.backends.cudnn.benchmark is True
    finally:
        torch.backends.cudnn.benchmark = saved


# ---------------------------------------------------------------------------- build helpers
def test_build_model_and_compile_model(tmp_path) -> None:
    strategy = make(tmp_path)
    model = ToyModel()
    assert strategy.build_model(model) is model
    assert isinstance(strategy.build_model({"type": ToyModel}), ToyModel)
    with pytest.raises(TypeError, match=r"model should be a nn\.Module object or dict"):
        strategy.build_model([model])

    forward = model.forward
    assert strategy.compile_model(model, compile=False) is model
    assert model.forward == forward
    strategy.compile_model(model, compile={"disable": True})
    assert model.forward == forward
    with pytest.raises(TypeError, match="compile should be a bool or a dict"):
        strategy.compile_model(model, compile="yes")
    strategy.compile_model(model, compile={"backend": "eager"})  # target defaults to forward
    assert model.forward != forward
    step = model.train_step
    strategy.compile_model(model, compile={"target": "train_step", "backend": "eager"})
    assert model.train_step != step
    log = _log(strategy)
    assert 'Model has been "compiled" (forward)' in log
    assert 'Model has been "compiled" (train_step)' in log


def test_build_optim_wrapper_and_param_scheduler_defaults(tmp_path) -> None:
    strategy = make(tmp_path)
    model = ToyModel()
    wrapper = strategy.build_optim_wrapper({"optimizer": {"type": "SGD", "lr": 0.1}}, model)
    assert isinstance(wrapper, OptimWrapper)
    assert strategy.build_optim_wrapper(wrapper) is wrapper
    strategy.dispatch_kwargs.update(max_epochs=4, max_iters=12, epoch_length=3)
    by_epoch, by_iter = strategy.build_param_scheduler(
        [{"type": "LinearLR"}, {"type": "ConstantLR", "by_epoch": False}], wrapper
    )
    assert by_epoch.end == 4
    assert by_iter.end == 12
    (converted,) = strategy.build_param_scheduler(
        {"type": "LinearLR", "convert_to_iter_based": True, "end": 2}, wrapper
    )
    assert (converted.by_epoch, converted.end) == (False, 6)  # epoch_length 3
    (explicit,) = strategy.build_param_scheduler(
        {"type": "LinearLR"}, wrapper, default_args={"max_epochs": 7}
    )
    assert explicit.end == 7

    wrappers = OptimWrapperDict(
        a=OptimWrapper(torch.optim.SGD(model.linear.parameters(), lr=0.1)),
        b=OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)),
    )
    per_name = strategy.build_param_scheduler({"a": [{"type": "LinearLR"}]}, wrappers)
    assert list(per_name) == ["a"]
    assert per_name["a"][0].end == 4
    shared = strategy.build_param_scheduler({"type": "LinearLR"}, wrappers)
    assert sorted(shared) == ["a", "b"]
    with pytest.raises(TypeError, match="called after build_optim_wrapper"):
        strategy.build_param_scheduler({"type": "LinearLR"}, {"optimizer": {}})
    with pytest.raises(TypeError, match="_ParamScheduler object or dict"):
        strategy.build_param_scheduler([1], wrapper)


# ---------------------------------------------------------------------------- prepare
def _optim(lr=0.1, **kwargs) -> dict:
    return {"optimizer": {"type": "SGD", "lr": lr, "momentum": 0.9}, **kwargs}


def test_prepare_builds_in_order_and_is_idempotent(tmp_path) -> None:
    from piston.model import BaseModel

    class BNModel(ToyModel):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.SyncBatchNorm(2)
            self.inits = 0

        def init_weights(self) -> None:
            self.inits += 1

    strategy = make(tmp_path, auto_scale_lr={"enable": True, "base_batch_size": 8})
    model, wrapper, schedulers = strategy.prepare(
        {"type": BNModel},
        optim_wrapper=_optim(),
        param_scheduler={"type": "MultiStepLR", "milestones": [1]},
        dispatch_kwargs={"max_epochs": 2, "max_iters": 6, "epoch_length": 3,
                         "train_micro_batch_size_per_gpu": 4},
    )  # fmt: skip
    assert isinstance(model, BaseModel)
    assert model.inits == 1
    assert not isinstance(model.bn, nn.SyncBatchNorm)  # reverted without distribution
    assert isinstance(model.bn, nn.modules.batchnorm._BatchNorm)
    assert wrapper.get_lr()["lr"] == [pytest.approx(0.05)]  # 0.1 * 1 * 4 / 8
    assert schedulers[0].end == 2
    again = strategy.prepare({"type": BNModel}, optim_wrapper=_optim())
    assert again[0] is model
    assert again[1] is wrapper
    assert again[2] is schedulers
    assert model.inits == 1

    strategy = make(tmp_path / "b")
    assert strategy.prepare(ToyModel()) is strategy.model  # only a model

    strategy = make(tmp_path / "c")
    with pytest.raises(ValueError, match="'max_iters' must be in dispatch_kwargs"):
        strategy.prepare(ToyModel(), optim_wrapper=_optim(accumulative_counts=2))
    strategy = make(tmp_path / "d")
    _, wrapper = strategy.prepare(
        ToyModel(), optim_wrapper=_optim(accumulative_counts=2), dispatch_kwargs={"max_iters": 5}
    )
    assert (wrapper._inner_count, wrapper._max_counts) == (0, 5)

    strategy = make(tmp_path / "e", auto_scale_lr={"enable": True, "base_batch_size": 8})
    with pytest.raises(ValueError, match="train_micro_batch_size_per_gpu"):
        strategy.prepare(ToyModel(), optim_wrapper=_optim())

    strategy = make(tmp_path / "f")
    calls = []

    class NoInit(ToyModel):
        def init_weights(self) -> None:
            calls.append(1)

    strategy.prepare({"type": NoInit}, dispatch_kwargs={"init_weights_for_test_or_val": False})
    assert calls == []


# ---------------------------------------------------------------------------- checkpoints
def _trained(tmp_path, seed=1):
    strategy = make(tmp_path, env_kwargs={"randomness": {"seed": seed}})
    model, wrapper, schedulers = strategy.prepare(
        ToyModel(),
        optim_wrapper=_optim(),
        param_scheduler={"type": "MultiStepLR", "milestones": [1], "by_epoch": False},
        dispatch_kwargs={"max_iters": 4},
    )
    data = {"inputs": torch.randn(4, 2), "labels": torch.tensor([0, 1, 0, 1])}
    for _ in range(2):
        model.train_step(data, optim_wrapper=wrapper)
        schedulers[0].step()
    return strategy


def test_save_and_load_checkpoint(tmp_path) -> None:
    strategy = _trained(tmp_path)
    seen = []

    def before_save(checkpoint: dict) -> None:
        seen.append(sorted(checkpoint))
        checkpoint["hook"] = "yes"

    path = str(tmp_path / "ckpt.pth")
    strategy.save_checkpoint(
        path, extra_ckpt={"meta": {"epoch": 1, "iter": 2}, "note": "x"}, callback=before_save
    )
    assert seen == [["meta", "note", "optimizer", "param_schedulers", "state_dict"]]
    ckpt = torch.load(path, weights_only=True)
    assert list(ckpt) == ["state_dict", "optimizer", "param_schedulers", "meta", "note", "hook"]
    meta = ckpt["meta"]
    assert (meta["epoch"], meta["iter"], meta["seed"]) == (1, 2, 1)
    assert len(meta["time"]) == 15
    assert meta["piston"].startswith("0.")
    assert strategy.model_state_dict().keys() == ckpt["state_dict"].keys()
    assert strategy.scheduler_state_dict()[0]["last_step"] == 2

    strategy.save_checkpoint(
        str(tmp_path / "bare.pth"), save_optimizer=False, save_param_scheduler=False
    )
    assert set(torch.load(tmp_path / "bare.pth", weights_only=True)) == {"state_dict", "meta"}

    fresh = make(tmp_path / "fresh")
    fresh.prepare(ToyModel())
    loaded = []
    rest = fresh.load_checkpoint(path, callback=lambda ckpt: loaded.append(sorted(ckpt)))
    assert "state_dict" in loaded[0]
    assert "state_dict" not in rest
    assert rest["note"] == "x"
    for key, value in strategy.model.state_dict().items():
        assert torch.equal(value, fresh.model.state_dict()[key])

    # revise_keys, strict, and a bare weights file (no `state_dict` key)
    prefixed = {f"module.{k}": v + 1 for k, v in strategy.model.state_dict().items()}
    torch.save(prefixed, tmp_path / "weights.pth")
    assert fresh.load_checkpoint(str(tmp_path / "weights.pth")) == {}
    assert torch.equal(fresh.model.linear.bias, strategy.model.linear.bias + 1)
    fresh.load_model_state_dict({"x.linear.bias": torch.zeros(2)}, revise_keys=[(r"^x\.", "")])
    assert torch.equal(fresh.model.linear.bias, torch.zeros(2))
    with pytest.raises(RuntimeError, match="do not match exactly"):
        fresh.load_model_state_dict({"other": torch.zeros(1)}, strict=True)


def test_resume_restores_states_and_adopts_seed(tmp_path) -> None:
    strategy = _trained(tmp_path / "a", seed=5)
    path = str(tmp_path / "ckpt.pth")
    strategy.save_checkpoint(path, extra_ckpt={"meta": {"epoch": 0, "iter": 3}})

    other = make(tmp_path / "b", env_kwargs={"randomness": {"seed": 1}})
    other.prepare(
        ToyModel(),
        optim_wrapper=_optim(accumulative_counts=2),
        param_scheduler={"type": "MultiStepLR", "milestones": [1], "by_epoch": False},
        dispatch_kwargs={"max_iters": 4},
    )
    ckpt = other.resume(path)
    assert "optimizer" not in ckpt
    assert "param_schedulers" not in ckpt
    saved = strategy.optim_wrapper.optimizer.state_dict()
    resumed = other.optim_wrapper.optimizer.state_dict()
    for idx, state in saved["state"].items():
        assert torch.equal(state["momentum_buffer"], resumed["state"][idx]["momentum_buffer"])
    assert other.param_schedulers[0].last_step == 2
    assert other.seed == 5
    assert other.randomness["seed"] == 5
    log = _log(other)
    assert "The value of random seed in the checkpoint (5) is different" in log
    assert f"Resume checkpoint from {path}" in log
    assert other.optim_wrapper._inner_count == 3  # counters at meta['iter']

    partial = make(tmp_path / "c", env_kwargs={"randomness": {"seed": 5}})
    partial.prepare(ToyModel(), optim_wrapper=_optim())
    partial.resume(path, resume_optimizer=False)
    assert partial.optim_wrapper.optimizer.state_dict()["state"] == {}
    assert "different" not in _log(partial)  # same seed: no warning


def test_load_or_resume_decision_table(tmp_path) -> None:
    source = _trained(tmp_path / "src")
    path = str(tmp_path / "ckpt.pth")
    source.save_checkpoint(path, extra_ckpt={"meta": {"epoch": 1, "iter": 2}})

    calls = []

    class Recording(SingleDeviceStrategy):
        def resume(self, filename, **kwargs):
            calls.append(("resume", filename))
            return {}

        def load_checkpoint(self, filename, **kwargs):
            calls.append(("load", filename))
            return {}

    strategy = Recording(work_dir=str(tmp_path / "wd"))
    assert strategy.load_or_resume() is None
    strategy.load_or_resume(resume=path)
    strategy.load_or_resume(resume=True, load_from=path)
    strategy.load_or_resume(load_from=path)
    strategy.load_or_resume(resume=True)  # no last_checkpoint yet: nothing
    with open(os.path.join(strategy.work_dir, "last_checkpoint"), "w") as f:
        f.write(path)
    strategy.load_or_resume(resume=True)
    assert calls == [("resume", path), ("resume", path), ("load", path), ("resume", path)]
