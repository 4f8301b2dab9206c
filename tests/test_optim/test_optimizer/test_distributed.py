"""Two real gloo processes: DDP no_sync during accumulation, and ZeroRedundancyOptimizer."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as torch_dist
from _dist import run_in_processes
from torch import nn


def _gather(tensor: torch.Tensor, world_size: int) -> list[torch.Tensor]:
    out = [torch.empty_like(tensor) for _ in range(world_size)]
    torch_dist.all_gather(out, tensor.contiguous())
    return out


def _check_ddp_accumulation(rank: int, world_size: int) -> None:
    from torch.nn.parallel import DistributedDataParallel

    from piston.optim import OptimWrapper

    torch.manual_seed(0)
    model = DistributedDataParallel(nn.Linear(3, 1))
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    wrapper.initialize_count_status(model, 0, 2)
    torch.manual_seed(100 + rank)
    xs, ys = torch.randn(2, 4, 3), torch.randn(2, 4, 1)

    with wrapper.optim_context(model):
        loss = nn.functional.mse_loss(model(xs[0]), ys[0])
    wrapper.update_params(loss)
    # Accumulation step inside no_sync: each rank still holds its own gradient.
    grads = _gather(model.module.weight.grad, world_size)
    assert not torch.allclose(grads[0], grads[1])

    with wrapper.optim_context(model):
        loss = nn.functional.mse_loss(model(xs[1]), ys[1])
    wrapper.update_params(loss)
    weights = _gather(model.module.weight.detach(), world_size)
    torch.testing.assert_close(weights[0], weights[1])

    # Reference: one step on the average gradient of every rank's two micro-batches.
    torch.manual_seed(0)
    reference = nn.Linear(3, 1)
    all_x = torch.cat([torch.cat(list(_gather(xs, world_size)[r])) for r in range(world_size)])
    all_y = torch.cat([torch.cat(list(_gather(ys, world_size)[r])) for r in range(world_size)])
    nn.functional.mse_loss(reference(all_x), all_y).backward()
    with torch.no_grad():
        reference.weight -= 0.1 * reference.weight.grad
    torch.testing.assert_close(model.module.weight.detach(), reference.weight.detach())
    # Release DDP's reducer while the process group still exists.
    del wrapper, model
    torch_dist.barrier()


def _check_zero(rank: int, world_size: int) -> None:
    from piston.optim import ZeroRedundancyOptimizer
    from piston.registry import OPTIMIZERS

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 1))
    optimizer = OPTIMIZERS.build(
        {
            "type": "ZeroRedundancyOptimizer",
            "optimizer_type": "AdamW",
            "params": model.parameters(),
            "lr": 0.01,
        }
    )
    assert isinstance(optimizer, ZeroRedundancyOptimizer)
    assert isinstance(optimizer.optim, torch.optim.AdamW)
    assert OPTIMIZERS.get("ZeroRedundancyOptimizer") is ZeroRedundancyOptimizer
    model(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    state = optimizer.state_dict()
    if rank == 0:
        assert len(state["state"]) == 4
    else:
        assert state == {}
    del optimizer
    torch_dist.barrier()


def _check_both(rank: int, world_size: int) -> None:
    _check_ddp_accumulation(rank, world_size)
    _check_zero(rank, world_size)


@pytest.mark.distributed
def test_ddp_no_sync_accumulation_and_zero_redundancy_optimizer() -> None:
    """One spawn (two processes start slowly) for two checks:

    * accumulating inside ``optim_context`` skips DDP's all-reduce on the first micro-batch and
      the final step equals one large-batch step over all ranks' data;
    * ``ZeroRedundancyOptimizer`` builds from the registry and consolidates its state on rank 0.
    """
    run_in_processes(_check_both, world_size=2)
