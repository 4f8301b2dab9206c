"""runner.md / strategy.md items checked one by one that had no test of their own: exact
signature defaults, dataloader ``batch_sampler``/``worker_init_fn``/``collate_fn`` handling, and
launcher inference for FlexibleRunner."""

from __future__ import annotations

import inspect
from functools import partial

import pytest
import torch
from torch.utils.data import BatchSampler

from piston.dataset import DefaultSampler
from piston.registry import DATA_SAMPLERS
from piston.runner import FlexibleRunner, Runner, load_checkpoint
from test_runner._toy import ToyDataset, ToyModel, loader_cfg


def test_runner_env_cfg_and_randomness_defaults_are_the_spec_dicts(tmp_path) -> None:
    params = inspect.signature(Runner.__init__).parameters
    assert params["env_cfg"].default == {"dist_cfg": {"backend": "nccl"}}
    assert params["randomness"].default == {"seed": None}
    assert params["launcher"].default == "none"
    # The shared default is never mutated through a runner.
    runner = Runner(ToyModel(), work_dir=str(tmp_path))
    runner._env_cfg["dist_cfg"]["backend"] = "gloo"
    runner._randomness_cfg["seed"] = 5
    assert params["env_cfg"].default == {"dist_cfg": {"backend": "nccl"}}
    assert params["randomness"].default == {"seed": None}


def test_load_checkpoint_revise_keys_default_is_a_list() -> None:
    default = inspect.signature(load_checkpoint).parameters["revise_keys"].default
    assert default == [(r"^module\.", "")]


class _PairBatchSampler(BatchSampler):
    """A BatchSampler built from a config: gets ``sampler`` and ``batch_size`` as default args."""


DATA_SAMPLERS.register_module(name="_AuditPairBatchSampler", module=_PairBatchSampler, force=True)


def _init_fn(worker_id: int, scale: int = 1) -> None:  # a callable worker_init_fn type
    pass


def test_build_dataloader_batch_sampler_worker_init_and_collate() -> None:
    cfg = loader_cfg(batch_size=5, size=12, shuffle=False)
    cfg["batch_sampler"] = {"type": "_AuditPairBatchSampler", "drop_last": True}
    loader = Runner.build_dataloader(cfg, seed=3)
    assert type(loader.batch_sampler) is _PairBatchSampler
    assert isinstance(loader.batch_sampler.sampler, DefaultSampler)
    assert loader.batch_sampler.batch_size == 5  # popped from the loader cfg
    assert loader.batch_size is None  # DataLoader got batch_sampler, not batch_size
    assert [len(b["inputs"]) for b in loader] == [5, 5]  # drop_last reached the batch sampler

    cfg = loader_cfg()
    cfg["worker_init_fn"] = {"type": _init_fn, "scale": 2}
    loader = Runner.build_dataloader(cfg, seed=3)
    assert isinstance(loader.worker_init_fn, partial)
    assert loader.worker_init_fn.func is _init_fn
    assert loader.worker_init_fn.keywords == {"scale": 2}

    assert Runner.build_dataloader(loader_cfg()).worker_init_fn is None  # no seed, no default

    cfg = loader_cfg()
    cfg["collate_fn"] = torch.utils.data.default_collate
    assert Runner.build_dataloader(cfg).collate_fn is torch.utils.data.default_collate
    cfg["collate_fn"] = 3
    with pytest.raises(TypeError, match="collate_fn"):
        Runner.build_dataloader(cfg)
    cfg = loader_cfg()
    del cfg["collate_fn"]  # default: pseudo_collate keeps per-sample lists
    batch = next(iter(Runner.build_dataloader(cfg)))
    assert isinstance(batch["inputs"], list)
    assert len(batch["inputs"]) == 4

    loader = Runner.build_dataloader({**loader_cfg(), "num_batch_per_epoch": 1})
    assert len(loader.dataset) == 4  # 1 batch * batch_size 4 * world size 1
    assert isinstance(loader.dataset.metainfo, dict)  # other attributes reach the dataset
    assert len(ToyDataset()) == 12


def test_flexible_runner_infers_the_launcher_from_the_environment(tmp_path, monkeypatch) -> None:
    """launcher=None (the default) reads torchrun's WORLD_SIZE and picks DDPStrategy."""
    import torch.distributed as torch_dist
    from _dist import free_port

    for key, value in {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(free_port()),
        "WORLD_SIZE": "1",
        "RANK": "0",
        "LOCAL_RANK": "0",
    }.items():
        monkeypatch.setenv(key, value)
    torch_dist.init_process_group("gloo", rank=0, world_size=1)
    runner = FlexibleRunner(ToyModel(), work_dir=str(tmp_path))
    assert runner.launcher == "pytorch"
    assert type(runner.strategy).__name__ == "DDPStrategy"
    assert runner.distributed is True
