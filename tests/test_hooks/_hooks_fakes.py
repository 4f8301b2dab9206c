"""A small stand-in for the runner, for unit tests of hooks in isolation.

It exposes the public runner surface the hooks use, backed by real parts: a real MessageHub,
MMLogger (with a log file), model, OptimWrapper, LogProcessor and a work_dir on disk. Its
``save_checkpoint`` writes a real file (and calls ``before_save_checkpoint``) so checkpoint
logic can be checked on disk. End-to-end behaviour with the real Runner lives in
``test_hooks_e2e.py``.
"""

from __future__ import annotations

import os
import os.path as osp
import uuid

import torch
from torch import nn

from piston.logging import MessageHub, MMLogger
from piston.optim import OptimWrapper
from piston.runner.log_processor import LogProcessor


class FakeLoop:
    def __init__(self, dataloader, max_epochs: int):
        self.dataloader = dataloader
        self._epoch = 0
        self._iter = 0
        self._max_epochs = max_epochs
        self.stop_training = False

    @property
    def max_iters(self) -> int:
        return getattr(self, "_max_iters", None) or self._max_epochs * len(self.dataloader)

    @max_iters.setter
    def max_iters(self, value: int) -> None:
        self._max_iters = value


class RecordingVisualizer:
    """Records what hooks send to the visualizer."""

    def __init__(self):
        self.scalars: list[tuple[dict, int, str | None]] = []
        self.closed = False
        self.graphs = []
        self.samples = []

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        self.scalars.append((dict(scalar_dict), step, file_path))

    def add_graph(self, model, data_batch, **kwargs):
        self.graphs.append(model)

    def add_datasample(self, name, image, data_sample=None, **kwargs):
        self.samples.append((name, image, data_sample, kwargs))

    def close(self):
        self.closed = True


class FakeRunner:
    def __init__(
        self,
        work_dir: str,
        *,
        train_len: int = 4,
        max_epochs: int = 3,
        val_len: int = 2,
        model: nn.Module | None = None,
        hooks=(),
        log_processor: LogProcessor | None = None,
        resume: bool = False,
    ):
        name = f"fake_{uuid.uuid4().hex[:8]}"
        self.experiment_name = name
        self.timestamp = "20260101_000000"
        self.work_dir = str(work_dir)
        self.log_dir = osp.join(self.work_dir, self.timestamp)
        os.makedirs(self.log_dir, exist_ok=True)
        self._log_dir = self.log_dir  # the semi-private name of runner.md
        self.cfg = None
        self.seed = 0
        self.rank, self.world_size = 0, 1
        self.model = model if model is not None else nn.Linear(2, 1)
        self.optim_wrapper = OptimWrapper(torch.optim.SGD(self.model.parameters(), lr=0.1))
        self.param_schedulers = None
        self.message_hub = MessageHub.get_instance(name)
        self.log_file = osp.join(self.log_dir, f"{self.timestamp}.log")
        self.logger = MMLogger.get_instance(name, log_file=self.log_file)
        self.visualizer = RecordingVisualizer()
        self.log_processor = log_processor or LogProcessor()
        self._train_loop = FakeLoop(list(range(train_len)), max_epochs)
        self.val_dataloader = list(range(val_len))
        self.test_dataloader = list(range(val_len))
        self._resume = resume
        self.hooks = list(hooks)
        self.saved: list[str] = []

    # --------------------------------------------------------------- public surface
    @property
    def train_loop(self):
        return self._train_loop

    @property
    def train_dataloader(self):
        return self._train_loop.dataloader

    @property
    def epoch(self) -> int:
        return self._train_loop._epoch

    @property
    def iter(self) -> int:
        return self._train_loop._iter

    @property
    def max_epochs(self) -> int:
        return self._train_loop._max_epochs

    @property
    def max_iters(self) -> int:
        return self._train_loop.max_iters

    def call_hook(self, stage: str, **kwargs) -> None:
        for hook in self.hooks:
            getattr(hook, stage)(self, **kwargs)

    def save_checkpoint(
        self,
        out_dir,
        filename,
        file_client_args=None,
        save_optimizer=True,
        save_param_scheduler=True,
        meta=None,
        by_epoch=True,
        backend_args=None,
    ):
        checkpoint = {
            "meta": dict(meta or {}),
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()},
            "message_hub": self.message_hub.state_dict(),
        }
        if save_optimizer:
            checkpoint["optimizer"] = self.optim_wrapper.state_dict()
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        path = osp.join(out_dir, filename)
        os.makedirs(out_dir, exist_ok=True)
        torch.save(checkpoint, path)
        self.saved.append(filename)

    def log_text(self) -> str:
        with open(self.log_file) as f:
            return f.read()

    # --------------------------------------------------------------- driving the stages
    def train_epoch(self, *, val_metrics: dict | None = None) -> None:
        """One epoch of stage calls (no real forward pass), then optional validation."""
        self.call_hook("before_train_epoch")
        for idx, batch in enumerate(self.train_dataloader):
            self.call_hook("before_train_iter", batch_idx=idx, data_batch=batch)
            self.call_hook(
                "after_train_iter", batch_idx=idx, data_batch=batch, outputs={"loss": 1.0}
            )
            self._train_loop._iter += 1
        self.call_hook("after_train_epoch")
        self._train_loop._epoch += 1
        if val_metrics is not None:
            self.validate(val_metrics)

    def validate(self, metrics: dict) -> None:
        self.call_hook("before_val")
        self.call_hook("before_val_epoch")
        for idx, batch in enumerate(self.val_dataloader):
            self.call_hook("before_val_iter", batch_idx=idx, data_batch=batch)
            self.call_hook("after_val_iter", batch_idx=idx, data_batch=batch, outputs=[])
        self.call_hook("after_val_epoch", metrics=metrics)
        self.call_hook("after_val")
