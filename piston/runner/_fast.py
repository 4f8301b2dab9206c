"""The fast path: one switch (``cfg.fast=True`` / ``piston train --fast``) for fast defaults.

Config side (:func:`apply_fast_cfg`, before building): bf16 ``AmpOptimWrapper`` and cuDNN
autotuning (``env_cfg.cudnn_benchmark``) on CUDA, and for dataloader configs pinned memory,
persistent workers and a prefetch factor of 4. Each is a default: a key the config sets wins. Runtime side
(:func:`apply_fast_model`, in ``train()``): the model goes ``channels_last`` on CUDA. Copying the
next batch to the device on a side stream is opt-in (``fast = dict(prefetch=True)``): on H100s
with ResNet-50 it measured 0.949x/0.913x the best-practice loop with it against 1.113x/1.008x
without it (two runs, each comparison in one run), since pinned ``non_blocking`` copies already
overlap the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

__all__ = ["DevicePrefetcher", "apply_fast_cfg", "apply_fast_model"]


def apply_fast_cfg(cfg: Any) -> None:
    """Rewrite a config in place for the fast path (no-op pieces on CPU)."""
    cuda = torch.cuda.is_available()
    wrapper = cfg.get("optim_wrapper")
    if cuda and isinstance(wrapper, dict) and wrapper.get("type", "OptimWrapper") == "OptimWrapper":
        wrapper["type"] = "AmpOptimWrapper"
        wrapper.setdefault("dtype", "bfloat16")
        # bf16 needs no loss scaling; a GradScaler would sync with the host every step.
        wrapper.setdefault("loss_scale", None)
    if cuda:
        env = cfg.get("env_cfg")
        if env is None:
            env = cfg["env_cfg"] = {"dist_cfg": {"backend": "nccl"}}  # the Runner's default
        if isinstance(env, dict):
            env.setdefault("cudnn_benchmark", True)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        loader.setdefault("pin_memory", cuda)
        if loader.get("num_workers", 0) > 0:
            loader.setdefault("persistent_workers", True)
            loader.setdefault("prefetch_factor", 4)


def apply_fast_model(runner: Any) -> None:
    """channels_last weights and, if asked for, device prefetching (CUDA only)."""
    if not torch.cuda.is_available():
        runner.logger.info("fast: no CUDA device, only the data loader settings apply.")
        return
    # nn.Module.to directly: BaseModel.to expects a device in its arguments.
    torch.nn.Module.to(runner.model, memory_format=torch.channels_last)
    fast = runner.cfg.get("fast")
    if not (isinstance(fast, dict) and fast.get("prefetch")):
        runner.logger.info("fast: channels_last model.")
        return
    loop = runner.train_loop
    loop.dataloader = _PrefetchingLoader(loop.dataloader)
    infinite = getattr(loop, "dataloader_iterator", None)
    if infinite is not None:  # IterBasedTrainLoop iterates through its own wrapper
        infinite._dataloader = loop.dataloader
    runner.logger.info("fast: channels_last model and batches prefetched to the device.")


def _to_device(data: Any, stream: Any) -> Any:
    if isinstance(data, torch.Tensor):
        out = data.to("cuda", non_blocking=True)
        if out.dim() == 4 and out.is_floating_point():
            out = out.contiguous(memory_format=torch.channels_last)
        return out
    if isinstance(data, dict):
        return {k: _to_device(v, stream) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and not hasattr(data, "_fields"):
        return type(data)(_to_device(v, stream) for v in data)
    return data


class DevicePrefetcher:
    """Iterate over a loader copying batch ``n + 1`` to the GPU while batch ``n`` trains."""

    def __init__(self, iterator: Iterator) -> None:
        self._iterator = iterator
        self._stream = torch.cuda.Stream()
        self._next: Any = None
        self._done = False
        self._started = False  # preload lazily: resume may still advance the inner iterator

    def _preload(self) -> None:
        try:
            batch = next(self._iterator)
        except StopIteration:
            self._done = True
            return
        with torch.cuda.stream(self._stream):
            self._next = _to_device(batch, self._stream)

    def __iter__(self) -> DevicePrefetcher:
        return self

    def __next__(self) -> Any:
        if not self._started:
            self._started = True
            self._preload()
        if self._done:
            raise StopIteration
        torch.cuda.current_stream().wait_stream(self._stream)
        batch = self._next
        _record(batch)
        self._preload()
        return batch

    def __getattr__(self, name: str) -> Any:  # e.g. ``_sampler_iter`` used by resume
        return getattr(self._iterator, name)


def _record(data: Any) -> None:
    if isinstance(data, torch.Tensor):
        data.record_stream(torch.cuda.current_stream())
    elif isinstance(data, dict):
        for value in data.values():
            _record(value)
    elif isinstance(data, (list, tuple)):
        for value in data:
            _record(value)


class _PrefetchingLoader:
    """A DataLoader look-alike whose iterators prefetch to the device."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def __iter__(self) -> DevicePrefetcher:
        return DevicePrefetcher(iter(self._loader))

    def __len__(self) -> int:
        return len(self._loader)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
