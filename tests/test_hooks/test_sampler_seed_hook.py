from __future__ import annotations

from types import SimpleNamespace

from torch.utils.data import BatchSampler, DataLoader, SequentialSampler

from piston.dataset import DefaultSampler
from piston.hooks import DistSamplerSeedHook


def _runner(dataloader, epoch):
    return SimpleNamespace(train_loop=SimpleNamespace(dataloader=dataloader), epoch=epoch)


def test_sets_epoch_on_sampler():
    sampler = DefaultSampler(list(range(8)), shuffle=True, seed=0)
    loader = DataLoader(list(range(8)), sampler=sampler, batch_size=2)
    DistSamplerSeedHook().before_train_epoch(_runner(loader, 3))
    assert sampler.epoch == 3


def test_falls_back_to_batch_sampler_sampler():
    sampler = DefaultSampler(list(range(8)), shuffle=True, seed=0)
    loader = DataLoader(list(range(8)), batch_sampler=BatchSampler(sampler, 2, False))
    DistSamplerSeedHook().before_train_epoch(_runner(loader, 5))
    assert sampler.epoch == 5


def test_sampler_without_set_epoch_is_left_alone():
    loader = DataLoader(list(range(4)), sampler=SequentialSampler(range(4)))
    DistSamplerSeedHook().before_train_epoch(_runner(loader, 2))  # no error
    assert not hasattr(loader.sampler, "epoch")
