from __future__ import annotations

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _dist import run_in_processes
from torch.nn.parallel import DataParallel, DistributedDataParallel

from piston.model import (
    BaseModel,
    MMDistributedDataParallel,
    MMSeparateDistributedDataParallel,
    convert_sync_batchnorm,
    detect_anomalous_params,
    is_model_wrapper,
    revert_sync_batchnorm,
)
from piston.registry import MODEL_WRAPPERS, Registry


class Regressor(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)
        self.unused = nn.Linear(1, 1)

    def forward(self, x, y, mode="tensor"):
        pred = self.fc(x)
        if mode == "loss":
            return {"loss": F.mse_loss(pred, y)}
        return [pred]


def _data(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 3, generator=gen)
    return x, x.sum(1, keepdim=True) * 0.5


def _train_ddp(rank: int, world_size: int) -> None:
    import torch.distributed as dist
    from torch.optim import SGD

    from piston.optim import OptimWrapper

    torch.manual_seed(0)
    model = Regressor()
    reference = Regressor()
    reference.load_state_dict(model.state_dict())
    ddp = MMDistributedDataParallel(module=model, find_unused_parameters=True)
    assert is_model_wrapper(ddp)
    wrapper = OptimWrapper(SGD(ddp.parameters(), lr=0.1))
    ref_wrapper = OptimWrapper(SGD(reference.parameters(), lr=0.1))
    for step in range(4):
        x, y = _data(step)
        shard = [x[rank::world_size], y[rank::world_size]]
        log_vars = ddp.train_step(shard, wrapper)
        assert isinstance(log_vars["loss"], torch.Tensor)
        reference.train_step([x, y], ref_wrapper)  # full batch on one process
    weights = torch.cat([p.detach().flatten() for p in model.parameters()])
    gathered = [torch.empty_like(weights) for _ in range(world_size)]
    dist.all_gather(gathered, weights)
    assert torch.equal(gathered[0], gathered[1])
    ref_weights = torch.cat([p.detach().flatten() for p in reference.parameters()])
    assert torch.allclose(weights, ref_weights, atol=1e-6)
    preds = ddp.val_step([x, y])
    assert torch.allclose(preds[0], model.fc(x))
    assert torch.allclose(ddp.test_step([x, y])[0], preds[0])


def _anomalous(rank: int, world_size: int, log_file: str) -> None:
    from torch.optim import SGD

    from piston.logging import MMLogger
    from piston.optim import OptimWrapper

    MMLogger.get_instance("anomalous", log_file=log_file if rank == 0 else None)
    ddp = MMDistributedDataParallel(
        module=Regressor(), detect_anomalous_params=True, find_unused_parameters=True
    )
    ddp.train_step(list(_data()), OptimWrapper(SGD(ddp.parameters(), lr=0.1)))


class GAN(BaseModel):
    def __init__(self):
        super().__init__()
        self.generator = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)
        self.frozen = nn.Linear(2, 2).requires_grad_(False)
        self.act = nn.ReLU()

    def forward(self, x, mode="tensor"):
        return [self.discriminator(self.generator(x))]

    def train_step(self, data, optim_wrapper):
        loss = self.discriminator(self.generator(data[0])).sum()
        optim_wrapper.update_params(loss)
        return {"loss": loss.detach()}


def _separate(rank: int, world_size: int) -> None:
    from torch.optim import SGD

    from piston.optim import OptimWrapper

    torch.manual_seed(0)
    gan = GAN()
    wrapped = MMSeparateDistributedDataParallel(gan)
    assert isinstance(gan.generator, MMDistributedDataParallel)
    assert isinstance(gan.discriminator, MMDistributedDataParallel)
    assert isinstance(gan.frozen, nn.Linear)
    assert isinstance(gan.act, nn.ReLU)
    assert is_model_wrapper(wrapped)
    assert wrapped.module is gan
    wrapped.train(False)
    assert not gan.training
    assert not gan.generator.training
    wrapped.train()
    x = torch.full((2, 2), float(rank + 1))
    wrapper = OptimWrapper(SGD(gan.parameters(), lr=0.1))
    with wrapped.no_sync():
        wrapped.train_step([x], wrapper)
    assert len(wrapped.val_step([x])) == 1
    assert len(wrapped.test_step([x])) == 1


def _train_fsdp(rank: int, world_size: int) -> None:
    from torch.distributed.fsdp import BackwardPrefetch, ShardingStrategy
    from torch.optim import SGD

    from piston.model import MMFullyShardedDataParallel
    from piston.optim import OptimWrapper

    torch.manual_seed(0)
    model = Regressor()
    reference = Regressor()
    reference.load_state_dict(model.state_dict())
    fsdp = MODEL_WRAPPERS.build(
        {
            "type": "MMFullyShardedDataParallel",
            "module": model,
            "sharding_strategy": "FULL_SHARD",
            "backward_prefetch": "BACKWARD_PRE",
            "auto_wrap_policy": {"type": "size_based_auto_wrap_policy", "min_num_params": 1},
        }
    )
    assert isinstance(fsdp, MMFullyShardedDataParallel)
    assert is_model_wrapper(fsdp)
    assert fsdp.sharding_strategy == ShardingStrategy.FULL_SHARD
    assert fsdp.backward_prefetch == BackwardPrefetch.BACKWARD_PRE
    wrapper = OptimWrapper(SGD(fsdp.parameters(), lr=0.1))
    ref_wrapper = OptimWrapper(SGD(reference.parameters(), lr=0.1))
    for step in range(3):
        x, y = _data(step)
        log_vars = fsdp.train_step([x[rank::world_size], y[rank::world_size]], wrapper)
        assert isinstance(log_vars["loss"], torch.Tensor)
        reference.train_step([x, y], ref_wrapper)
    preds = fsdp.val_step([x, y])
    assert torch.allclose(preds[0], reference.fc(x), atol=1e-6)
    assert torch.allclose(fsdp.test_step([x, y])[0], preds[0])


def _all_wrapper_checks(rank: int, world_size: int, log_file: str) -> None:
    # one spawn for every multi-process wrapper check: starting processes dominates the cost
    _train_ddp(rank, world_size)
    _separate(rank, world_size)
    _anomalous(rank, world_size, log_file)
    _train_fsdp(rank, world_size)


@pytest.mark.distributed
def test_mmddp_and_separate_ddp_in_two_processes(tmp_path):
    """MMDDP and MMFSDP train 2 processes to the same weights as one full-batch process;
    MMSeparateDDP wraps only trainable children; detect_anomalous_params logs unused params."""
    log_file = tmp_path / "anomalous.log"
    run_in_processes(_all_wrapper_checks, 2, str(log_file))
    text = log_file.read_text()
    assert (
        "module.unused.weight with shape torch.Size([1, 1]) is not in the computational graph"
        in text
    )
    assert "module.fc.weight" not in text


def test_is_model_wrapper_covers_torch_wrappers_and_child_registries():
    assert MODEL_WRAPPERS.get("DistributedDataParallel") is DistributedDataParallel
    assert MODEL_WRAPPERS.get("DataParallel") is DataParallel
    assert MODEL_WRAPPERS.get("MMDistributedDataParallel") is MMDistributedDataParallel
    model = nn.Linear(1, 1)
    assert not is_model_wrapper(model)
    assert is_model_wrapper(DataParallel(model))

    class DownstreamWrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    child = Registry("model_wrapper", parent=MODEL_WRAPPERS, scope="test_g_wrappers")
    try:
        child.register_module(module=DownstreamWrapper)
        assert is_model_wrapper(DownstreamWrapper(model))
    finally:
        MODEL_WRAPPERS.children.pop("test_g_wrappers", None)


def test_init_weights_unwraps_wrappers_without_init_weights():
    from piston.model import BaseModule

    class Leaf(BaseModule):
        def __init__(self):
            super().__init__({"type": "Constant", "layer": "Linear", "val": 3})
            self.fc = nn.Linear(1, 1)

    class Top(BaseModule):
        def __init__(self):
            super().__init__()
            self.wrapped = DataParallel(Leaf())

    top = Top()
    top.init_weights()
    assert torch.all(top.wrapped.module.fc.weight == 3)


def test_revert_and_convert_sync_batchnorm():
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(2)))
    with torch.no_grad():
        model[1].weight.fill_(3)
        model[1].running_mean.fill_(0.5)
    model.eval()
    synced = convert_sync_batchnorm(model)
    assert isinstance(synced[1], nn.SyncBatchNorm)
    assert isinstance(synced[2][0], nn.SyncBatchNorm)
    assert torch.all(synced[1].weight == 3)
    assert torch.all(synced[1].running_mean == 0.5)
    assert not synced[1].training
    reverted = revert_sync_batchnorm(synced)
    assert not isinstance(reverted[1], nn.SyncBatchNorm)
    assert isinstance(reverted[1], nn.modules.batchnorm._BatchNorm)
    assert torch.all(reverted[1].weight == 3)
    assert not reverted[1].training
    # the reverted BN accepts any input dimension and runs without a process group
    out = reverted(torch.randn(2, 1, 3, 3))
    assert out.shape == (2, 2, 3, 3)
    top_level = revert_sync_batchnorm(nn.SyncBatchNorm(4))
    assert top_level(torch.randn(3, 4)).shape == (3, 4)
    with pytest.raises(ValueError, match="torch"):
        convert_sync_batchnorm(model, implementation="apex")


def test_detect_anomalous_params_single_process(tmp_path):
    from piston.logging import MMLogger

    log_file = tmp_path / "a.log"
    MMLogger.get_instance("detect_single", log_file=str(log_file))
    model = Regressor()
    loss = model(*_data(), mode="loss")["loss"]
    detect_anomalous_params(loss, model)
    text = log_file.read_text()
    assert "unused.weight with shape" in text
    assert "unused.bias" in text
    assert "fc.weight" not in text.replace("unused.", "")


def test_fsdp_argument_resolution():
    from torch.distributed.fsdp import BackwardPrefetch, MixedPrecision, ShardingStrategy

    from piston.model.wrappers import fully_sharded_distributed as fsd
    from piston.registry import FUNCTIONS

    assert (
        fsd._resolve_enum("shard_grad_op", ShardingStrategy, "s") == ShardingStrategy.SHARD_GRAD_OP
    )
    assert (
        fsd._resolve_enum(BackwardPrefetch.BACKWARD_POST, BackwardPrefetch, "b")
        is BackwardPrefetch.BACKWARD_POST
    )
    with pytest.raises(ValueError, match="FULL_SHARD"):
        fsd._resolve_enum("everything", ShardingStrategy, "sharding_strategy")
    policy = fsd._resolve_function(
        {"type": "size_based_auto_wrap_policy", "min_num_params": 5}, "auto_wrap_policy"
    )
    assert policy.func is FUNCTIONS.get("size_based_auto_wrap_policy")
    assert policy.keywords == {"min_num_params": 5}
    assert fsd._resolve_function(print, "param_init_fn") is print
    with pytest.raises(ValueError, match="FUNCTIONS"):
        fsd._resolve_function("no_such_policy", "auto_wrap_policy")
    mp = fsd._resolve_mixed_precision({"param_dtype": "float16", "reduce_dtype": "bfloat16"})
    assert isinstance(mp, MixedPrecision)
    assert mp.param_dtype is torch.float16
    assert mp.reduce_dtype is torch.bfloat16
    model = Regressor()
    kwargs = {"ignored_modules": ["unused"], "ignored_parameters": ["fc.bias"]}
    fsd._resolve_ignored(model, kwargs)
    assert kwargs == {"ignored_modules": [model.unused], "ignored_states": [model.fc.bias]}
