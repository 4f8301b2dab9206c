"""``set_multi_processing``: process start method and thread counts (``env_cfg.mp_cfg``)."""

from __future__ import annotations

import importlib.util
import os
import platform
import warnings

__all__ = ["set_multi_processing"]


def set_multi_processing(
    mp_start_method: str = "fork", opencv_num_threads: int = 0, distributed: bool = False
) -> None:
    """Configure multi-processing for data loading workers.

    Args:
        mp_start_method: Start method forced on non-Windows systems (a warning is emitted when
            this changes a previous setting).
        opencv_num_threads: Threads for OpenCV (when installed); 0 disables its threading.
        distributed: In distributed runs, default ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``
            to 1 when unset, with a warning.
    """
    if platform.system() != "Windows":
        import multiprocessing as mp

        current_method = mp.get_start_method(allow_none=True)
        if current_method is not None and current_method != mp_start_method:
            warnings.warn(
                f"Multi-processing start method `{mp_start_method}` is different from the "
                f"previous setting `{current_method}`. It will be force set to "
                f"`{mp_start_method}`. You can change this behavior by changing "
                f"`mp_start_method` in your config.",
                stacklevel=2,
            )
        mp.set_start_method(mp_start_method, force=True)

    if importlib.util.find_spec("cv2") is not None:
        try:
            import cv2

            cv2.setNumThreads(opencv_num_threads)
        except ImportError:
            pass

    if distributed:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            if var not in os.environ:
                warnings.warn(
                    f"Setting {var} environment variable for each process to be 1 in default, "
                    f"to avoid your system being overloaded, please further tune the variable "
                    f"for optimal performance in your application as needed.",
                    stacklevel=2,
                )
                os.environ[var] = "1"
