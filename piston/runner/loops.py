"""Training, validation and test loops.

The per-iteration path (DESIGN.md §3) is ``next(batch)`` → ``before_train_iter`` hooks →
``model.train_step`` → ``after_train_iter`` hooks → ``_iter += 1``; nothing on it reads a tensor
back from the device, builds configs or looks anything up in a registry. Validation inside
training runs under ``isolated_rng`` so that it never shifts the training RNG streams, which
is what makes a resumed run match an uninterrupted one.
"""

from __future__ import annotations

import bisect
import time
from abc import ABCMeta, abstractmethod
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader

from piston.registry import LOOPS

from ._resume import capture_train_state, isolated_rng, make_data_iterator, sampler_of
from ._sections import building
from .amp import autocast
from .utils import capture_rng_state

__all__ = ["BaseLoop", "EpochBasedTrainLoop", "IterBasedTrainLoop", "TestLoop", "ValLoop"]


def _warn(msg: str) -> None:
    from piston.logging import print_log

    print_log(msg, logger="current", level=30)


class BaseLoop(metaclass=ABCMeta):
    """Base of all loops: holds the runner and builds a dict ``dataloader`` through it."""

    def __init__(self, runner: Any, dataloader: DataLoader | dict) -> None:
        self._runner = runner
        if isinstance(dataloader, dict):
            diff_rank_seed = runner._randomness_cfg.get("diff_rank_seed", False)
            with building(_dataloader_section(runner, dataloader)):
                self.dataloader = runner.build_dataloader(
                    dataloader, seed=runner.seed, diff_rank_seed=diff_rank_seed
                )
        else:
            self.dataloader = dataloader

    @property
    def runner(self) -> Any:
        return self._runner

    @abstractmethod
    def run(self) -> Any:
        """Execute the loop."""


def _dataloader_section(runner: Any, dataloader: dict) -> str:
    """``train_dataloader``/``val_dataloader``/``test_dataloader``: the runner's config it is."""
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if getattr(runner, f"_{name}", None) is dataloader:
            return name
    return "dataloader"


def _calc_dynamic_intervals(
    start_interval: int, dynamic_interval_list: Sequence[tuple[int, int]] | None
) -> tuple[list[int], list[int]]:
    milestones, intervals = [0], [start_interval]
    if dynamic_interval_list:
        pairs = list(dynamic_interval_list)
        if any(len(p) != 2 for p in pairs):
            raise ValueError(
                f"dynamic_intervals must be (milestone, interval) pairs, got {dynamic_interval_list}"
            )
        milestones += [m for m, _ in pairs]
        intervals += [i for _, i in pairs]
        if milestones != sorted(milestones):
            raise ValueError(f"dynamic_intervals milestones must increase, got {milestones[1:]}")
    return milestones, intervals


def _set_dataset_meta(loop: BaseLoop, *targets: Any) -> None:
    dataset = loop.dataloader.dataset
    if hasattr(dataset, "metainfo"):
        for target in targets:
            target.dataset_meta = dataset.metainfo
    else:
        _warn(
            f"Dataset {dataset.__class__.__name__} has no metainfo. ``dataset_meta`` in "
            "visualizer will be None."
        )


class _TrainLoopMixin:
    """State shared by both training loops: counters, validation schedule, resume state."""

    _runner: Any
    dataloader: Any

    def _init_train_state(self, val_begin: int, val_interval: int, dynamic_intervals: Any) -> None:
        self._epoch = 0
        self._iter = 0
        self.val_begin = val_begin
        self.val_interval = val_interval
        self.stop_training = False
        self.dynamic_milestones, self.dynamic_intervals = _calc_dynamic_intervals(
            val_interval, dynamic_intervals
        )
        self._resume_train_state: dict | None = None
        self._pass_rng: dict | None = None
        # Seconds the last ``next(data iterator)`` took: the real data wait, which the
        # throughput report uses (``data_time`` also counts the hooks around it).
        self.fetch_time: float | None = None
        _set_dataset_meta(self, self._runner.visualizer)  # type: ignore[arg-type]

    @property
    def max_epochs(self) -> int:
        return self._max_epochs

    @property
    def max_iters(self) -> int:
        return self._max_iters

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    def _decide_current_val_interval(self, progress: int) -> None:
        step = bisect.bisect_right(self.dynamic_milestones, progress + 1)
        self.val_interval = self.dynamic_intervals[step - 1]

    def _validate(self, val_loop: Any) -> None:
        with isolated_rng():
            val_loop.run()
        self._runner.model.train()


@LOOPS.register_module()
class EpochBasedTrainLoop(_TrainLoopMixin, BaseLoop):
    """Train by epochs, validating every ``val_interval`` epochs from ``val_begin`` on.

    Args:
        runner: The runner.
        dataloader: A DataLoader or its config.
        max_epochs: Total epochs (an integer).
        val_begin: First epoch after which validation may run.
        val_interval: Validation period in epochs.
        dynamic_intervals: ``[(milestone_epoch, interval), ...]`` changing the period.
    """

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader | dict,
        max_epochs: int,
        val_begin: int = 1,
        val_interval: int = 1,
        dynamic_intervals: list[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(runner, dataloader)
        self._max_epochs = int(max_epochs)
        if self._max_epochs != max_epochs:
            raise AssertionError(f"`max_epochs` should be a integer number, but get {max_epochs}.")
        if self._max_epochs < 0:
            raise ValueError(
                f"train_cfg.max_epochs must be a number of epochs >= 0, but got {max_epochs}."
            )
        self._max_iters = self._max_epochs * len(self.dataloader)
        self._init_train_state(val_begin, val_interval, dynamic_intervals)

    def run(self) -> torch.nn.Module:
        """Run the whole training and return the model."""
        runner = self._runner
        runner.call_hook("before_train")
        val_loop = runner.val_loop
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval(self._epoch)
            if (
                val_loop is not None
                and self._epoch >= self.val_begin
                and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)
            ):
                self._validate(val_loop)
        runner.call_hook("after_train")
        return runner.model

    def _epoch_iterator(self) -> tuple[Any, int]:
        state, self._resume_train_state = self._resume_train_state, None
        if state is None:
            self._pass_rng = capture_rng_state()
            return iter(self.dataloader), 0
        length = len(self.dataloader)
        skip = min(max(self._iter - self._epoch * length, 0), length)
        if state.get("data_epoch") != self._epoch:
            state = {k: v for k, v in state.items() if k != "epoch_rng"}
        self._pass_rng = state.get("epoch_rng") if skip else state.get("rng")
        return make_data_iterator(self.dataloader, skip, state), skip

    def run_epoch(self) -> None:
        """Iterate over one epoch (the rest of it when resuming mid-epoch)."""
        runner = self._runner
        runner.call_hook("before_train_epoch")
        runner.model.train()
        iterator, idx = self._epoch_iterator()
        clock = time.perf_counter
        while True:
            fetch_start = clock()
            try:
                data_batch = next(iterator)
            except StopIteration:
                break
            self.fetch_time = clock() - fetch_start
            self.run_iter(idx, data_batch)
            idx += 1
        runner.call_hook("after_train_epoch")
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Any) -> None:
        """One training iteration."""
        runner = self._runner
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
        outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)
        self._iter += 1

    def state_for_checkpoint(self) -> dict:
        """``train_state`` for the checkpoint being written (see ``_resume``)."""
        length = len(self.dataloader)
        batches = min(max(self._iter - self._epoch * length, 0), length)
        return capture_train_state(self.dataloader, self._epoch, batches, self._pass_rng)


class _InfiniteDataloaderIterator:
    """Endless iterator over a DataLoader: restarts (and re-seeds the sampler) when exhausted."""

    def __init__(self, dataloader: DataLoader, epoch: int = 0) -> None:
        self._dataloader = dataloader
        self._epoch = epoch
        self._batches = 0
        self.pass_rng: dict | None = None
        self._iterator: Any = None

    def start(self, skip: int = 0, train_state: dict | None = None) -> None:
        self._set_sampler_epoch()
        if train_state is None:
            self.pass_rng = capture_rng_state()
            self._iterator = iter(self._dataloader)
        else:
            self.pass_rng = train_state.get("epoch_rng") if skip else train_state.get("rng")
            self._iterator = make_data_iterator(self._dataloader, skip, train_state)
        self._batches = skip

    def _set_sampler_epoch(self) -> None:
        sampler = sampler_of(self._dataloader)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(self._epoch)

    def __iter__(self) -> _InfiniteDataloaderIterator:
        return self

    def __next__(self) -> Any:
        try:
            data = next(self._iterator)
        except StopIteration:
            _warn(
                "Reach the end of the dataloader, it will be restarted and continue to "
                "iterate. It is recommended to use `piston.dataset.InfiniteSampler` to enable "
                "the dataloader to iterate infinitely."
            )
            self._epoch += 1
            self._set_sampler_epoch()
            if getattr(self._dataloader, "num_workers", 0) > 0:
                time.sleep(2)  # let worker processes shut down before new ones start
            self.pass_rng = capture_rng_state()
            self._iterator = iter(self._dataloader)
            self._batches = 0
            data = next(self._iterator)
        self._batches += 1
        return data


@LOOPS.register_module()
class IterBasedTrainLoop(_TrainLoopMixin, BaseLoop):
    """Train for ``max_iters`` iterations, validating every ``val_interval`` iterations.

    Args:
        runner: The runner.
        dataloader: A DataLoader or its config.
        max_iters: Total iterations (an integer).
        val_begin: First iteration after which validation may run.
        val_interval: Validation period in iterations.
        dynamic_intervals: ``[(milestone_iter, interval), ...]`` changing the period.
    """

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader | dict,
        max_iters: int,
        val_begin: int = 1,
        val_interval: int = 1000,
        dynamic_intervals: list[tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(runner, dataloader)
        self._max_iters = int(max_iters)
        if self._max_iters != max_iters:
            raise AssertionError(f"`max_iters` should be a integer number, but get {max_iters}")
        if self._max_iters < 0:
            raise ValueError(
                f"train_cfg.max_iters must be a number of iterations >= 0, but got {max_iters}."
            )
        self._max_epochs = 1
        self._init_train_state(val_begin, val_interval, dynamic_intervals)
        self.dataloader_iterator = _InfiniteDataloaderIterator(self.dataloader)

    def _start_iterator(self) -> None:
        state, self._resume_train_state = self._resume_train_state, None
        if self._iter > 0:
            _warn(
                f"Advance dataloader {self._iter} steps to skip data that has already been trained"
            )
        if state is None:
            self.dataloader_iterator.start()
            for _ in range(self._iter):  # a checkpoint without a recorded data position
                next(self.dataloader_iterator)
            return
        self.dataloader_iterator._epoch = int(state.get("data_epoch", 0))
        self.dataloader_iterator.start(int(state.get("batches", 0)), state)

    def run(self) -> torch.nn.Module:
        """Run the whole training and return the model."""
        runner = self._runner
        runner.call_hook("before_train")
        runner.call_hook("before_train_epoch")
        self._start_iterator()
        val_loop = runner.val_loop
        data_iter = self.dataloader_iterator
        runner.model.train()
        clock = time.perf_counter
        while self._iter < self._max_iters and not self.stop_training:
            fetch_start = clock()
            data_batch = next(data_iter)
            self.fetch_time = clock() - fetch_start
            self.run_iter(data_batch)
            self._decide_current_val_interval(self._iter)
            if (
                val_loop is not None
                and self._iter >= self.val_begin
                and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)
            ):
                self._validate(val_loop)
        runner.call_hook("after_train_epoch")
        runner.call_hook("after_train")
        return runner.model

    def run_iter(self, data_batch: Any) -> None:
        """One training iteration (``batch_idx`` is ``runner.iter``)."""
        runner = self._runner
        idx = self._iter
        runner.call_hook("before_train_iter", batch_idx=idx, data_batch=data_batch)
        outputs = runner.model.train_step(data_batch, optim_wrapper=runner.optim_wrapper)
        runner.call_hook("after_train_iter", batch_idx=idx, data_batch=data_batch, outputs=outputs)
        self._iter += 1

    def state_for_checkpoint(self) -> dict:
        it = self.dataloader_iterator
        return capture_train_state(self.dataloader, it._epoch, it._batches, it.pass_rng)


def _is_loss_element(item: Any) -> bool:
    from piston.structures import BaseDataElement

    return isinstance(item, BaseDataElement) and list(item.keys()) == ["loss"]


class _EvalLoop(BaseLoop):
    """Shared body of ValLoop and TestLoop; ``_mode`` picks the hook names."""

    _mode = "val"

    def __init__(
        self,
        runner: Any,
        dataloader: DataLoader | dict,
        evaluator: Any,
        fp16: bool = False,
    ) -> None:
        super().__init__(runner, dataloader)
        from piston.evaluator import Evaluator

        if isinstance(evaluator, (dict, list)):
            with building(f"{self._mode}_evaluator"):
                self.evaluator = runner.build_evaluator(evaluator)
        else:
            if not isinstance(evaluator, Evaluator):
                raise AssertionError(
                    "evaluator must be one of dict, list or Evaluator instance, but got "
                    f"{type(evaluator).__name__}."
                )
            self.evaluator = evaluator
        _set_dataset_meta(self, self.evaluator, runner.visualizer)
        self.fp16 = fp16
        self._losses: dict[str, list] = {}
        mode = self._mode
        self._stages = {
            "before": f"before_{mode}",
            "before_epoch": f"before_{mode}_epoch",
            "before_iter": f"before_{mode}_iter",
            "after_iter": f"after_{mode}_iter",
            "after_epoch": f"after_{mode}_epoch",
            "after": f"after_{mode}",
        }

    def run(self) -> dict:
        """Evaluate over the whole dataloader and return the metrics."""
        runner, stages = self._runner, self._stages
        runner.call_hook(stages["before"])
        runner.call_hook(stages["before_epoch"])
        runner.model.eval()
        self._losses.clear()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        if self._losses:
            metrics.update(self._merged_losses())
        runner.call_hook(stages["after_epoch"], metrics=metrics)
        runner.call_hook(stages["after"])
        return metrics

    @torch.no_grad()
    def run_iter(self, idx: int, data_batch: Any) -> None:
        """Predict one batch and feed the evaluator."""
        runner, stages = self._runner, self._stages
        runner.call_hook(stages["before_iter"], batch_idx=idx, data_batch=data_batch)
        with autocast(enabled=self.fp16):
            outputs = getattr(runner.model, f"{self._mode}_step")(data_batch)
        if isinstance(outputs, (list, tuple)) and outputs and _is_loss_element(outputs[-1]):
            loss = outputs[-1].loss
            outputs = outputs[:-1]
            for name, value in loss.items():
                if isinstance(value, (list, tuple)):
                    value = sum(v.detach().float().mean() for v in value) / max(len(value), 1)
                else:
                    value = value.detach().float().mean()
                self._losses.setdefault(name, []).append(value)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        runner.call_hook(
            stages["after_iter"], batch_idx=idx, data_batch=data_batch, outputs=outputs
        )

    def _merged_losses(self) -> dict[str, float]:
        means = {name: torch.stack(values).mean().item() for name, values in self._losses.items()}
        means[f"{self._mode}_loss"] = sum(v for k, v in means.items() if "loss" in k)
        return means


@LOOPS.register_module()
class ValLoop(_EvalLoop):
    """Validation loop: ``before_val`` … ``after_val`` around one pass over the dataloader.

    Args:
        runner: The runner.
        dataloader: A DataLoader or its config.
        evaluator: An Evaluator, a metric config, or a list of them.
        fp16: Run ``val_step`` under autocast.
    """

    _mode = "val"


@LOOPS.register_module()
class TestLoop(_EvalLoop):
    """Test loop: like :class:`ValLoop` with the ``*_test*`` hook stages."""

    _mode = "test"
