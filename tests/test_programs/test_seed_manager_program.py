"""Reproducibility and global-instance patterns from downstream training code.

A data pipeline seeded with ``set_random_seed`` and ``worker_init_fn`` (partial, as
``Runner.build_dataloader`` passes it) must give identical augmentations across runs and
different ones across workers and ranks; a downstream ``ManagerMixin`` subclass (like a
visualizer or a dataset cache) is fetched globally by name.
"""

from __future__ import annotations

import random
import threading
import warnings
from functools import partial

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from piston.dataset import worker_init_fn
from piston.registry import Registry
from piston.runner import set_random_seed
from piston.utils import ManagerMixin


class RandomAugDataset(Dataset):
    """Every item draws from python ``random``, numpy and torch, like an augmentation."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, idx: int) -> tuple:
        return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def _draw(seed: int, rank: int = 0) -> list:
    set_random_seed(seed)
    init_fn = partial(worker_init_fn, num_workers=2, rank=rank, seed=seed)
    loader = DataLoader(RandomAugDataset(), batch_size=1, num_workers=2, worker_init_fn=init_fn)
    return [tuple(float(v) for v in batch) for batch in loader]


def test_worker_seeding_is_reproducible() -> None:
    first, again = _draw(2024), _draw(2024)
    assert first == again
    # workers 0 and 1 produce batches 0,2 and 1,3: their numpy/random streams differ
    assert first[0][0] != first[1][0]
    assert first[0][1] != first[1][1]
    # MMEngine's formula: worker seed = num_workers * rank + worker_id + seed, applied to
    # random, numpy and torch; batch 1 is worker 1's first item, batch 3 its second
    worker_seed = 2 * 0 + 1 + 2024
    random.seed(worker_seed)
    np.random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    expected = [(random.random(), float(np.random.rand()), float(torch.rand(1))) for _ in range(2)]
    assert [first[1], first[3]] == expected
    rank1 = _draw(2024, rank=1)
    random.seed(2 * 1 + 0 + 2024)
    assert rank1[0][0] == random.random()
    assert rank1 != first
    assert _draw(7) != first


def test_set_random_seed_effects() -> None:
    assert set_random_seed(5) == 5
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_seed(5)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == a
    assert set_random_seed(5, diff_rank_seed=True) == 5  # rank 0
    seed = set_random_seed(None)
    assert isinstance(seed, int)
    assert 0 <= seed < 2**31
    try:
        set_random_seed(1, deterministic=True)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic
        assert not torch.backends.cudnn.benchmark
    finally:
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.deterministic = False


class FeatureCache(ManagerMixin):
    """A downstream global object: one cache per experiment name."""

    def __init__(self, name: str, capacity: int = 2, **kwargs) -> None:
        super().__init__(name, **kwargs)
        self.capacity = capacity
        self.items: dict = {}


def test_manager_mixin_subclass() -> None:
    with pytest.raises(RuntimeError):
        FeatureCache.get_current_instance()
    train = FeatureCache.get_instance("train", capacity=8)
    val = FeatureCache.get_instance("val")
    assert train.capacity == 8
    assert val.capacity == 2
    assert val.instance_name == "val"
    assert FeatureCache.get_current_instance() is val
    with pytest.warns(UserWarning, match="already been created"):
        assert FeatureCache.get_instance("train", capacity=1) is train
    assert train.capacity == 8
    assert FeatureCache.get_current_instance() is val
    assert FeatureCache.check_instance_created("train")
    assert not FeatureCache.check_instance_created("test")
    with pytest.raises(AssertionError):
        FeatureCache.get_instance("")

    class SubCache(FeatureCache):
        pass

    # every class keeps its own instances
    assert not SubCache.check_instance_created("train")
    sub = SubCache.get_instance("train")
    assert sub is not train
    assert FeatureCache.get_instance("train") is train

    got = []
    barrier = threading.Barrier(4)

    def fetch() -> None:
        barrier.wait()
        got.append(FeatureCache.get_instance("shared"))

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(x) for x in got}) == 1

    with pytest.raises(AssertionError):

        class NoName(ManagerMixin):
            def __init__(self, title: str) -> None:
                super().__init__(title)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FeatureCache.get_instance("val") is val  # no kwargs: no warning

    # built from a config through a registry: ManagerMixin classes go through get_instance
    caches = Registry("cache")
    caches.register_module(module=FeatureCache)
    built = caches.build(dict(type="FeatureCache", name="from_cfg", capacity=5))
    assert caches.build(dict(type="FeatureCache", name="from_cfg")) is built
    assert built.capacity == 5
    assert FeatureCache.get_current_instance() is built
