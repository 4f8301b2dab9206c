"""NPUProfilerHook: Ascend NPU profiling between two iterations (needs ``torch_npu``)."""

from __future__ import annotations

import os
import os.path as osp
import sys

from piston.registry import HOOKS

from .hook import DATA_BATCH, Hook

__all__ = ["NPUProfilerHook"]


@HOOKS.register_module()
class NPUProfilerHook(Hook):
    """Profile iterations ``[begin, end)`` on an Ascend NPU with ``torch_npu.npu.profile``.

    Args:
        begin: First profiled iteration.
        end: Iteration at which profiling stops.
        result_path: Folder of the CANN profiling results.
        exit_after_profiling: Exit the process once profiling ends.
        use_e2e_profiler: Use the end-to-end profiler.
        ge_profiling_to_std_out: Print graph-engine profiling to stdout.
    """

    priority = "VERY_LOW"

    def __init__(
        self,
        *,
        begin: int = 0,
        end: int = 1,
        result_path: str = "cann_profiling",
        exit_after_profiling: bool = True,
        use_e2e_profiler: bool = False,
        ge_profiling_to_std_out: bool = False,
    ) -> None:
        try:
            import torch_npu
        except ImportError as e:
            raise ImportError(
                "NPUProfilerHook needs an Ascend NPU and torch_npu (pip install torch-npu)."
            ) from e
        if begin >= end:
            raise ValueError(
                f"The iteration to start profiling ({begin}) must be less than the one to end "
                f"({end})."
            )
        self._npu = torch_npu.npu
        self.begin = begin
        self.end = end
        self.result_path = result_path
        self.exit_after_profiling = exit_after_profiling
        if ge_profiling_to_std_out:
            os.environ["GE_PROFILING_TO_STD_OUT"] = "1"
        if not osp.exists(result_path):
            os.makedirs(result_path, exist_ok=True)
        self.profiler = self._npu.profile(result_path, use_e2e_profiler=use_e2e_profiler)

    def before_run(self, runner) -> None:
        """Check the profiling range against the training length."""
        if self.end > runner.max_iters:
            raise ValueError(
                f"The profiling end iteration ({self.end}) must not exceed max_iters "
                f"({runner.max_iters})."
            )

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        """Start profiling at ``begin``."""
        if runner.iter == self.begin:
            self.profiler.__enter__()
            runner.logger.info("NPUProfiler starts profiling...")

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: DATA_BATCH = None, outputs: dict | None = None
    ) -> None:
        """Stop profiling at ``end`` (and exit if asked to)."""
        if runner.iter == self.end - 1:
            runner.logger.info("profiler may take a few minutes to save the profiling result.")
            self.profiler.__exit__(None, None, None)
            if self.exit_after_profiling:
                sys.exit()
