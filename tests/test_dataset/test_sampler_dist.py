"""Samplers in two real ``gloo`` processes: sharding, synced seeds and per-rank resume."""

from __future__ import annotations

from itertools import islice

import pytest
import torch
from _dist import run_in_processes

from piston.dataset import DefaultSampler, InfiniteSampler
from piston.dist import all_gather_object


def _perm(n: int, seed: int) -> list[int]:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(n, generator=generator).tolist()


def _check_default_sharding(rank: int, world_size: int) -> None:
    dataset = list(range(10))
    sampler = DefaultSampler(dataset)  # seed=None: drawn on rank 0 and broadcast
    seeds = all_gather_object(sampler.seed)
    assert seeds[0] == seeds[1], seeds
    assert (sampler.rank, sampler.world_size, len(sampler)) == (rank, 2, 5)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        mine = list(sampler)
        per_rank = all_gather_object(mine)
        everything = per_rank[0] + per_rank[1]
        assert sorted(everything) == dataset, f"epoch {epoch}: {per_rank}"  # each index once
        order = _perm(10, sampler.seed + epoch)
        assert mine == order[rank::2]
        again = DefaultSampler(dataset, seed=sampler.seed)
        again.set_epoch(epoch)
        assert list(again) == mine  # same seed, same order


def _check_default_no_round_up(rank: int, world_size: int) -> None:
    sampler = DefaultSampler(list(range(11)), seed=3, round_up=False)
    per_rank = all_gather_object(list(sampler))
    assert sorted(per_rank[0] + per_rank[1]) == list(range(11))
    assert [len(part) for part in per_rank] == [6, 5]
    assert len(sampler) == (6 if rank == 0 else 5)


def _check_infinite_sharding(rank: int, world_size: int) -> None:
    sampler = InfiniteSampler(list(range(6)))
    seed = all_gather_object(sampler.seed)[0]
    assert sampler.seed == seed
    mine = list(islice(sampler, 9))  # 3 passes over 6 samples, shared by 2 ranks
    per_rank = all_gather_object(mine)
    for start in range(0, 9, 3):  # every pass: each index seen by exactly one rank
        one_pass = per_rank[0][start : start + 3] + per_rank[1][start : start + 3]
        assert sorted(one_pass) == list(range(6)), per_rank
    generator = torch.Generator()
    generator.manual_seed(seed)
    stream = [i for _ in range(3) for i in torch.randperm(6, generator=generator).tolist()]
    assert mine == stream[rank::2]


def _check_resume(rank: int, world_size: int) -> None:
    dataset = list(range(17))
    default_full = list(DefaultSampler(dataset, seed=8))
    sampler = DefaultSampler(dataset, seed=8)
    iterator = iter(sampler)
    seen = [next(iterator) for _ in range(4)]
    sampler.set_consumed(4)
    restored = DefaultSampler(dataset)
    restored.load_state_dict(sampler.state_dict())
    assert seen + list(restored) == default_full

    infinite_full = list(islice(InfiniteSampler(dataset, seed=8), 30))
    sampler = InfiniteSampler(dataset, seed=8)
    seen = list(islice(sampler, 11))
    sampler.set_consumed(11)
    restored = InfiniteSampler(dataset)
    restored.load_state_dict(sampler.state_dict())
    assert seen + list(islice(restored, 19)) == infinite_full


def _check_all(rank: int, world_size: int) -> None:
    # one pair of processes for every check: spawning costs seconds, the checks milliseconds
    _check_default_sharding(rank, world_size)
    _check_default_no_round_up(rank, world_size)
    _check_infinite_sharding(rank, world_size)
    _check_resume(rank, world_size)


@pytest.mark.distributed
@pytest.mark.slow  # spawning two interpreters that import torch takes ~10 s on a busy machine
def test_samplers_shard_sync_seed_and_resume_in_two_processes() -> None:
    run_in_processes(_check_all, world_size=2)
