"""DistSamplerSeedHook: reseeds the training sampler every epoch so shuffling differs per epoch
(and agrees across ranks)."""

from __future__ import annotations

from piston.registry import HOOKS

from .hook import Hook

__all__ = ["DistSamplerSeedHook"]


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Call ``set_epoch(runner.epoch)`` on the training sampler before each epoch.

    The sampler is ``train_loop.dataloader.sampler`` if it has ``set_epoch``, else
    ``dataloader.batch_sampler.sampler``; samplers without ``set_epoch`` are left alone.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        """Set the sampler's epoch."""
        dataloader = runner.train_loop.dataloader
        sampler = getattr(dataloader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(runner.epoch)
            return
        batch_sampler = getattr(dataloader, "batch_sampler", None)
        inner = getattr(batch_sampler, "sampler", None)
        if hasattr(inner, "set_epoch"):
            inner.set_epoch(runner.epoch)
