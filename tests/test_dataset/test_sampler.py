from __future__ import annotations

import io
import json
from itertools import islice

import pytest
import torch
from torch.utils.data import DataLoader

from piston.dataset import DefaultSampler, InfiniteSampler
from piston.registry import DATA_SAMPLERS


def _perm(n: int, seed: int) -> list[int]:
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.randperm(n, generator=generator).tolist()


def _fake_world(monkeypatch, rank: int, world_size: int) -> None:
    monkeypatch.setattr("piston.dataset.sampler.get_dist_info", lambda: (rank, world_size))


def _consume(sampler, batch_size: int, num_batches: int, num_workers: int = 0) -> list[int]:
    """Indices of the first ``num_batches`` batches a DataLoader draws through ``sampler``."""
    loader = DataLoader(
        list(range(1000)),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        multiprocessing_context="fork" if num_workers else None,
    )
    seen: list[int] = []
    for batch in islice(loader, num_batches):
        seen.extend(batch.tolist())
    return seen


# ---------------------------------------------------------------- DefaultSampler
def test_default_sampler_shuffles_with_seed_plus_epoch() -> None:
    sampler = DefaultSampler(list(range(10)), seed=3)
    assert list(sampler) == _perm(10, 3)
    sampler.set_epoch(2)
    assert list(sampler) == _perm(10, 5)
    assert len(sampler) == 10


def test_default_sampler_without_shuffle_is_range() -> None:
    assert list(DefaultSampler(list(range(5)), shuffle=False, seed=0)) == [0, 1, 2, 3, 4]


def test_default_sampler_round_up_pads_and_shards(monkeypatch) -> None:
    _fake_world(monkeypatch, rank=2, world_size=3)
    sampler = DefaultSampler(list(range(7)), shuffle=False, seed=0)
    assert (sampler.num_samples, sampler.total_size) == (3, 9)
    # padded order 0..6, 0, 1 -> rank 2 takes positions 2, 5, 8
    assert list(sampler) == [2, 5, 1]


def test_default_sampler_without_round_up(monkeypatch) -> None:
    _fake_world(monkeypatch, rank=2, world_size=3)
    sampler = DefaultSampler(list(range(7)), shuffle=False, seed=0, round_up=False)
    assert (sampler.num_samples, sampler.total_size) == (2, 7)
    assert list(sampler) == [2, 5]
    assert len(sampler) == 2


def test_sampler_seed_none_draws_synced_seed() -> None:
    sampler = DefaultSampler(list(range(4)))
    assert isinstance(sampler.seed, int)
    assert isinstance(InfiniteSampler(list(range(4))).seed, int)


def test_samplers_registered() -> None:
    sampler = DATA_SAMPLERS.build({"type": "DefaultSampler", "dataset": list(range(3)), "seed": 1})
    assert isinstance(sampler, DefaultSampler)
    assert DATA_SAMPLERS.get("InfiniteSampler") is InfiniteSampler


# ---------------------------------------------------------------- InfiniteSampler
def test_infinite_sampler_yields_successive_permutations() -> None:
    sampler = InfiniteSampler(list(range(5)), seed=7)
    generator = torch.Generator()
    generator.manual_seed(7)
    expected = [i for _ in range(3) for i in torch.randperm(5, generator=generator).tolist()]
    assert list(islice(sampler, 15)) == expected
    assert len(sampler) == 5


def test_infinite_sampler_without_shuffle_and_sharding(monkeypatch) -> None:
    _fake_world(monkeypatch, rank=1, world_size=2)
    sampler = InfiniteSampler(list(range(3)), shuffle=False, seed=0)
    assert list(islice(sampler, 6)) == [1, 0, 2, 1, 0, 2]


def test_infinite_sampler_continues_its_stream_and_ignores_epoch() -> None:
    sampler = InfiniteSampler(list(range(4)), shuffle=False, seed=0)
    assert list(islice(sampler, 3)) == [0, 1, 2]
    sampler.set_epoch(5)
    assert list(islice(sampler, 3)) == [3, 0, 1]


def test_infinite_sampler_empty_dataset_raises() -> None:
    with pytest.raises(ValueError, match="empty"):
        next(iter(InfiniteSampler([], seed=0)))


# ---------------------------------------------------------------- position state
@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("shuffle", [True, False])
def test_default_sampler_state_round_trip(shuffle: bool, num_workers: int) -> None:
    dataset, batch_size, stop_after = list(range(23)), 4, 3
    reference = DefaultSampler(dataset, shuffle=shuffle, seed=11)
    reference.set_epoch(1)
    full_epoch = list(reference)
    reference.set_epoch(2)
    next_epoch = list(reference)

    sampler = DefaultSampler(dataset, shuffle=shuffle, seed=11)
    sampler.set_epoch(1)
    seen = _consume(sampler, batch_size, stop_after, num_workers)  # the loader prefetches more
    sampler.set_consumed(len(seen))
    state = sampler.state_dict()
    assert state["epoch"] == 1
    assert state["consumed"] == batch_size * stop_after

    restored = DefaultSampler(dataset, shuffle=shuffle)  # other seed, drawn at random
    restored.load_state_dict(state)
    restored.set_epoch(1)  # the runner's seed hook sets the same epoch again
    assert seen + list(restored) == full_epoch
    assert len(restored) == len(full_epoch)
    restored.set_epoch(2)
    assert list(restored) == next_epoch


def test_default_sampler_restore_then_loader_yields_remaining_batches() -> None:
    dataset = list(range(20))
    sampler = DefaultSampler(dataset, seed=0)
    full = _consume(DefaultSampler(dataset, seed=0), 5, 4)
    seen = _consume(sampler, 5, 2)
    sampler.set_consumed(10)
    restored = DefaultSampler(dataset, seed=1)
    restored.load_state_dict(sampler.state_dict())
    assert seen + _consume(restored, 5, 100) == full


def test_default_sampler_state_is_plain_and_survives_weights_only_load() -> None:
    sampler = DefaultSampler(list(range(8)), seed=2)
    sampler.set_consumed(4)
    state = sampler.state_dict()
    json.dumps(state)
    buffer = io.BytesIO()
    torch.save({"sampler": state}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["sampler"] == state


def test_default_sampler_position_only_used_once() -> None:
    sampler = DefaultSampler(list(range(6)), shuffle=False, seed=0)
    sampler.set_consumed(4)
    restored = DefaultSampler(list(range(6)), shuffle=False, seed=0)
    restored.load_state_dict(sampler.state_dict())
    assert list(restored) == [4, 5]
    assert list(restored) == [0, 1, 2, 3, 4, 5]


def test_default_sampler_end_of_epoch_state_then_next_epoch_is_whole() -> None:
    sampler = DefaultSampler(list(range(6)), seed=0)
    sampler.set_epoch(3)
    sampler.set_consumed(6)
    restored = DefaultSampler(list(range(6)), seed=0)
    restored.load_state_dict(sampler.state_dict())
    restored.set_epoch(4)
    assert restored.state_dict()["consumed"] == 0
    assert list(restored) == _perm(6, 4)


def test_default_sampler_restore_with_other_world_size(monkeypatch) -> None:
    order = _perm(12, 5)
    saved = {"epoch": 0, "seed": 5, "shuffle": True, "round_up": True, "world_size": 2,
                 "dataset_length": 12, "consumed": 3}  # fmt: skip
    single = DefaultSampler(list(range(12)), seed=0)
    single.load_state_dict(saved)
    assert list(single) == order[6:]  # 3 per rank on 2 ranks = first 6 of the global order
    _fake_world(monkeypatch, rank=3, world_size=4)
    quarter = DefaultSampler(list(range(12)), seed=0)
    quarter.load_state_dict(saved)
    assert list(quarter) == order[7::4]  # rank 3 owns positions 3, 7, 11


def test_default_sampler_changed_dataset_restarts_epoch(piston_log) -> None:
    sampler = DefaultSampler(list(range(6)), seed=4)
    sampler.set_epoch(2)
    sampler.set_consumed(4)
    restored = DefaultSampler(list(range(8)), seed=0)
    restored.load_state_dict(sampler.state_dict())
    assert list(restored) == _perm(8, 6)
    assert "dataset_length" in piston_log.text


def test_sampler_state_errors() -> None:
    sampler = DefaultSampler(list(range(4)), seed=0)
    with pytest.raises(ValueError, match="-1"):
        sampler.set_consumed(-1)
    with pytest.raises(ValueError, match=r"2\.5"):
        sampler.set_consumed(2.5)
    with pytest.raises(TypeError, match="dict"):
        sampler.load_state_dict([1])
    with pytest.raises(KeyError, match="seed"):
        sampler.load_state_dict({"epoch": 0})
    with pytest.raises(KeyError, match="consumed"):
        InfiniteSampler(list(range(4)), seed=0).load_state_dict({"seed": 1, "world_size": 1})


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("stop_after", [1, 4, 9])  # 9 * 3 = 27 crosses two passes over 10
def test_infinite_sampler_state_round_trip(shuffle: bool, stop_after: int) -> None:
    dataset, batch_size = list(range(10)), 3
    uninterrupted = _consume(InfiniteSampler(dataset, shuffle=shuffle, seed=5), batch_size, 20)

    sampler = InfiniteSampler(dataset, shuffle=shuffle, seed=5)
    seen = _consume(sampler, batch_size, stop_after)
    sampler.set_consumed(len(seen))
    state = sampler.state_dict()
    assert state["consumed"] == stop_after * batch_size

    restored = InfiniteSampler(dataset, shuffle=shuffle)
    restored.load_state_dict(state)
    rest = _consume(restored, batch_size, 20 - stop_after)
    assert seen + rest == uninterrupted


def test_infinite_sampler_warns_when_restored_after_iteration_started(piston_log) -> None:
    sampler = InfiniteSampler(list(range(5)), seed=1)
    iter(sampler)
    sampler.load_state_dict({"seed": 1, "world_size": 1, "consumed": 2})
    assert "before calling iter()" in piston_log.text
    assert len(list(islice(sampler, 3))) == 3


def test_infinite_sampler_restore_with_other_world_size() -> None:
    stream = list(islice(InfiniteSampler(list(range(5)), seed=9), 20))
    saved = {"seed": 9, "shuffle": True, "world_size": 2, "dataset_length": 5, "consumed": 4}
    restored = InfiniteSampler(list(range(5)), seed=0)
    restored.load_state_dict(saved)
    assert list(islice(restored, 12)) == stream[8:]
