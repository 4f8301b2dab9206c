"""FSDPStrategy (strategy.md §5, §8): argument checking, ``skip_init_weights``, and
FlexibleRunner training with torch FSDP in 2 real ``gloo`` processes on the CPU, saving and
resuming both per-rank (``'local'``) and rank-0 full (``'full'``) checkpoints."""

from __future__ import annotations

import inspect
import os

import pytest
import torch
from _dist import run_in_processes
from test_runner._toy import ToyModel

from piston._strategy import DDPStrategy, FSDPStrategy
from piston.registry import STRATEGIES

# strategy.md §8, with a small min_num_params so the toy model really gets wrapped
AUTO_WRAP = {
    "type": "torch.distributed.fsdp.wrap.size_based_auto_wrap_policy",
    "min_num_params": 1,
}


def test_signature_and_registration() -> None:
    params = inspect.signature(FSDPStrategy.__init__).parameters
    expected = {
        "model_wrapper": None,
        "skip_init_weights": False,
        "state_dict_cfg": "local",
        "activation_checkpointing": None,
    }
    for name, default in expected.items():
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default == default
    assert STRATEGIES.get("FSDPStrategy") is FSDPStrategy
    assert issubclass(FSDPStrategy, DDPStrategy)


def test_state_dict_cfg_resolution_and_errors(tmp_path) -> None:
    from torch.distributed import fsdp

    local = FSDPStrategy(work_dir=str(tmp_path))
    assert local.model_wrapper == {"type": "MMFullyShardedDataParallel"}
    assert local._state_dict_type == fsdp.StateDictType.LOCAL_STATE_DICT
    full = FSDPStrategy(work_dir=str(tmp_path), state_dict_cfg="full")
    assert full._state_dict_type == fsdp.StateDictType.FULL_STATE_DICT
    assert full._state_dict_config.rank0_only
    assert full._optim_state_dict_config.rank0_only
    offload = torch.cuda.is_available()  # the CPU offload only applies to GPU runs
    assert full._state_dict_config.offload_to_cpu is offload
    assert full._optim_state_dict_config.offload_to_cpu is offload
    custom = FSDPStrategy(
        work_dir=str(tmp_path),
        state_dict_cfg={
            "state_dict_type": "SHARDED_STATE_DICT",
            "state_dict_config": {"type": "ShardedStateDictConfig", "offload_to_cpu": True},
            "optim_state_dict_config": {"type": fsdp.ShardedOptimStateDictConfig},
        },
    )
    assert custom._state_dict_type == fsdp.StateDictType.SHARDED_STATE_DICT
    assert isinstance(custom._state_dict_config, fsdp.ShardedStateDictConfig)
    assert custom._state_dict_config.offload_to_cpu
    assert isinstance(custom._optim_state_dict_config, fsdp.ShardedOptimStateDictConfig)

    cases = [
        ("sharded", ValueError, "'local', 'full' or a dict"),
        (3, TypeError, "state_dict_cfg should be"),
        ({"state_dict_type": "NOPE"}, ValueError, "is not one of"),
        ({"state_dict_type": 1}, TypeError, "str or StateDictType"),
        ({}, ValueError, "needs a `state_dict_type`"),
        ({"state_dict_type": "FULL_STATE_DICT", "x": 1}, ValueError, "unknown keys"),
        (
            {"state_dict_type": "FULL_STATE_DICT", "state_dict_config": {"type": "Bad"}},
            ValueError,
            "is not one of",
        ),
        (
            {"state_dict_type": "FULL_STATE_DICT", "state_dict_config": [1]},
            TypeError,
            "should be a dict with `type`",
        ),
    ]
    for value, error, message in cases:
        with pytest.raises(error, match=message):
            FSDPStrategy(work_dir=str(tmp_path), state_dict_cfg=value)
    with pytest.raises(ValueError, match="needs `check_fn`"):
        FSDPStrategy(work_dir=str(tmp_path), activation_checkpointing={})
    with pytest.raises(ValueError, match="not registered in FUNCTIONS"):
        FSDPStrategy(work_dir=str(tmp_path), activation_checkpointing={"check_fn": "nope_fn"})
    with pytest.raises(TypeError, match="should be a str, dict or callable"):
        FSDPStrategy(work_dir=str(tmp_path), activation_checkpointing={"check_fn": 3})
    with pytest.raises(RuntimeError, match="needs an initialised process group"):
        local.prepare(ToyModel())


def test_skip_init_weights_builds_on_meta_and_skips_init(tmp_path) -> None:
    calls = []

    class Counting(ToyModel):
        def init_weights(self) -> None:
            calls.append(1)

    strategy = FSDPStrategy(work_dir=str(tmp_path), skip_init_weights=True)
    model = strategy.build_model({"type": Counting})
    assert model.linear.weight.device.type == "cpu"  # materialised from the meta device
    assert strategy._init_model_weights(model) is model
    assert calls == []
    plain = FSDPStrategy(work_dir=str(tmp_path), experiment_name="plain")
    plain._init_model_weights(plain.build_model({"type": Counting}))
    assert calls == [1]


def _is_dense_layer(module: torch.nn.Module) -> bool:
    return isinstance(module, torch.nn.Linear)


def _runner(work_dir: str, state_dict_cfg: str, max_epochs: int, **kwargs):
    from test_runner._toy import ToyMetric, loader_cfg

    from piston.runner import FlexibleRunner

    strategy = {
        "type": "FSDPStrategy",
        "model_wrapper": {"auto_wrap_policy": AUTO_WRAP},
        "state_dict_cfg": state_dict_cfg,
    }
    if state_dict_cfg == "full":
        strategy["activation_checkpointing"] = {"check_fn": _is_dense_layer}
    return FlexibleRunner(
        {"type": ToyModel},
        work_dir=work_dir,
        experiment_name=state_dict_cfg,
        strategy=strategy,
        train_dataloader=loader_cfg(batch_size=2, size=8),
        val_dataloader=loader_cfg(batch_size=2, size=8, shuffle=False),
        train_cfg={"by_epoch": True, "max_epochs": max_epochs},
        val_cfg={},
        val_evaluator={"type": ToyMetric},
        # strategy.md §8; on the CPU, AMP must ask for bfloat16 explicitly
        optim_wrapper={
            "type": "AmpOptimWrapper",
            "dtype": "bfloat16",
            "use_fsdp": True,
            "optimizer": {"type": "AdamW", "lr": 1e-2},
        },
        default_hooks={"checkpoint": {"type": "CheckpointHook", "interval": 1}},
        randomness={"seed": 2},
        **kwargs,
    )


def _train_and_resume(rank: int, world_size: int, root: str) -> None:
    from piston.model import MMFullyShardedDataParallel

    for state in ("local", "full"):
        work_dir = os.path.join(root, state)
        runner = _runner(work_dir, state, max_epochs=1)
        runner.train()
        assert isinstance(runner.model, MMFullyShardedDataParallel)
        wrapped = [type(m).__name__ for m in runner.model.modules()]  # root is the MM class
        assert ("CheckpointWrapper" in wrapped) is (state == "full")  # activation_checkpointing
        assert wrapped.count("FullyShardedDataParallel") == 1  # + the auto-wrapped Linear
        assert (runner.epoch, runner.iter) == (1, 2)
        params = [p.detach().clone() for p in runner.model.parameters()]
        optim_state = runner.optim_wrapper.optimizer.state_dict()["state"]

        # max_epochs=1: resuming restores the states and trains no further
        resumed = _runner(work_dir, state, max_epochs=1, resume=True)
        resumed.train()
        assert resumed.epoch == 1
        for before, after in zip(params, resumed.model.parameters()):
            assert torch.equal(before, after.detach())
        resumed_state = resumed.optim_wrapper.optimizer.state_dict()["state"]
        assert optim_state.keys() == resumed_state.keys()
        for key, value in optim_state.items():
            for name in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(value[name], resumed_state[key][name]), (key, name)

        further = _runner(work_dir, state, max_epochs=2, resume=True)
        further.train()
        assert (further.epoch, further.iter) == (2, 4)


@pytest.mark.distributed
def test_flexible_runner_fsdp_two_processes(tmp_path) -> None:
    root = str(tmp_path)
    run_in_processes(_train_and_resume, 2, root, timeout_s=90)
    local_dir = os.path.join(root, "local")
    for epoch in (1, 2):  # per-rank files inside a checkpoint directory
        assert sorted(os.listdir(os.path.join(local_dir, f"epoch_{epoch}.pth"))) == [
            "rank0.pth",
            "rank1.pth",
        ]
    with open(os.path.join(local_dir, "last_checkpoint")) as f:
        assert f.read() == os.path.join(local_dir, "epoch_2.pth")
    full = torch.load(os.path.join(root, "full", "epoch_2.pth"), weights_only=True)
    assert full["state_dict"]["linear.weight"].shape == (2, 2)  # gathered, unsharded
    assert full["meta"]["epoch"] == 2
    assert "optimizer" in full
