"""ProfilerHook: profiles the first epoch or the first iterations with ``torch.profiler``.

``NPUProfilerHook`` is re-exported here because MMEngine defines both hooks in this module
(``from mmengine.hooks.profiler_hook import NPUProfilerHook`` must port by renaming).
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Callable

import torch

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook
from .npu_profiler_hook import NPUProfilerHook

__all__ = ["NPUProfilerHook", "ProfilerHook"]


class _ArgTypeError(TypeError, AssertionError):
    """A bad argument type. Also an ``AssertionError``, which MMEngine raised for it."""


@HOOKS.register_module()
class ProfilerHook(Hook):
    """Run ``torch.profiler.profile`` over the start of training.

    Args:
        by_epoch: Profile ``profile_times`` epochs (only 1 allowed) or iterations.
        profile_times: Number of epochs/iterations to profile (>= 1).
        activity_with_cpu: Record CPU activity.
        activity_with_cuda: Record CUDA activity.
        schedule: Keyword arguments of ``torch.profiler.schedule``.
        on_trace_ready: A callable, or ``dict(type='log_trace', **table_kwargs)`` (print the
            key-averages table) or ``dict(type='tb_trace', dir_name=...)`` (tensorboard trace,
            needs ``torch_tb_profiler``).
        record_shapes: Record input shapes.
        profile_memory: Track tensor memory.
        with_stack: Record source locations.
        with_flops: Estimate FLOPs.
        json_trace_path: Export a chrome trace here when profiling ends.
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        *,
        by_epoch: bool = True,
        profile_times: int = 1,
        activity_with_cpu: bool = True,
        activity_with_cuda: bool = False,
        schedule: dict | None = None,
        on_trace_ready: Callable | dict | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        json_trace_path: str | None = None,
    ) -> None:
        if not isinstance(by_epoch, bool):
            raise _ArgTypeError(f"by_epoch must be a bool, but got {by_epoch!r}.")
        if profile_times < 1:
            raise ValueError(f"profile_iters should be greater than 0, but got {profile_times}.")
        if by_epoch and profile_times > 1:
            raise ValueError(
                f"Profiler will profile 0-{profile_times} epochs. Since the profiler slows "
                "training down, profile 1 epoch (profile_times=1) or use by_epoch=False."
            )
        for name, flag in (
            ("activity_with_cpu", activity_with_cpu),
            ("activity_with_cuda", activity_with_cuda),
        ):
            if not isinstance(flag, bool):
                raise _ArgTypeError(f"{name} must be a bool, but got {flag!r}.")
        if schedule is not None and not isinstance(schedule, dict):
            raise _ArgTypeError(
                f"schedule must be a dict of torch.profiler.schedule args: {schedule!r}"
            )
        self.by_epoch = by_epoch
        self.profile_times = profile_times
        self.activities = []
        if activity_with_cpu:
            self.activities.append(torch.profiler.ProfilerActivity.CPU)
        if activity_with_cuda:
            self.activities.append(torch.profiler.ProfilerActivity.CUDA)
        self.schedule = torch.profiler.schedule(**schedule) if schedule is not None else None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.json_trace_path = json_trace_path
        self.profiler = None
        self._closed = False

    def before_run(self, runner) -> None:
        """Check ``profile_times`` against the training length and start profiling."""
        max_times = runner.max_epochs if self.by_epoch else runner.max_iters
        if max_times < self.profile_times:
            raise ValueError(
                f"`profile_times` should not be greater than {max_times} (the training "
                f"length), but got {self.profile_times}."
            )
        self.profiler = torch.profiler.profile(
            activities=self.activities,
            schedule=self.schedule,
            on_trace_ready=self._parse_trace_config(runner),
            record_shapes=self.record_shapes,
            profile_memory=self.profile_memory,
            with_stack=self.with_stack,
            with_flops=self.with_flops,
        )
        self.profiler.__enter__()
        self._closed = False
        runner.logger.info("profiler is profiling...")

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Step the profiler; stop after ``profile_times`` iterations (iteration mode)."""
        if self._closed or self.profiler is None:
            return
        self.profiler.step()
        if not self.by_epoch and runner.iter == self.profile_times - 1:
            self._export_chrome_trace(runner)

    def after_train_epoch(self, runner) -> None:
        """Stop profiling at the end of the first epoch."""
        if not self._closed and self.profiler is not None:
            self._export_chrome_trace(runner)

    def _export_chrome_trace(self, runner) -> None:
        self._closed = True
        runner.logger.info("profiler may take a few minutes...")
        self.profiler.__exit__(None, None, None)
        if self.json_trace_path is not None:
            self.profiler.export_chrome_trace(self.json_trace_path)

    def _parse_trace_config(self, runner) -> Callable | None:
        handler = self.on_trace_ready
        if handler is None or callable(handler):
            return handler
        if not isinstance(handler, dict):
            raise ValueError(
                f"``on_trace_ready`` should be a handler, or dict, or None, but got {handler!r}."
            )
        trace_cfg = dict(handler)
        trace_type = trace_cfg.pop("type", None)
        if trace_type == "log_trace":

            def _log_handler(prof) -> None:
                print(prof.key_averages().table(**trace_cfg))

            return _log_handler
        if trace_type == "tb_trace":
            try:
                import torch_tb_profiler  # noqa: F401
            except ImportError as e:
                raise ImportError(
                    "on_trace_ready type 'tb_trace' needs torch-tb-profiler: "
                    "pip install torch-tb-profiler"
                ) from e
            dir_name = trace_cfg.get("dir_name", "tf_tracing_logs")
            if not osp.isabs(dir_name):
                dir_name = osp.join(runner.log_dir, dir_name)
            trace_cfg["dir_name"] = dir_name
            runner.logger.info(f"trace_files of ProfilerHook will be saved to {dir_name}.")
            if self.json_trace_path is not None:
                runner.logger.warning(
                    "When using tensorboard_trace, it is recommended to save json files by "
                    "setting ``worker_name`` instead of setting ``json_trace_path``"
                )
            return torch.profiler.tensorboard_trace_handler(**trace_cfg)
        raise ValueError(f'trace_type should be "log_trace" or "tb_trace", but got {trace_type!r}.')
