"""Process set-up for a run: distributed init, shared timestamp, file limits, banner text."""

from __future__ import annotations

import sys
import time
from typing import Any

import torch

__all__ = ["broadcast_timestamp", "env_banner", "raise_file_limit", "setup_env"]


def broadcast_timestamp() -> str:
    """Rank 0's start time, shared with every rank, as ``'%Y%m%d_%H%M%S'``."""
    from piston.dist import broadcast, is_distributed

    stamp = torch.tensor(time.time(), dtype=torch.float64)
    if is_distributed():
        from piston.dist import get_comm_device

        device_stamp = stamp.to(get_comm_device())
        broadcast(device_stamp, src=0)
        stamp = device_stamp.cpu()
    return time.strftime("%Y%m%d_%H%M%S", time.localtime(stamp.item()))


def raise_file_limit(resource_limit: int = 4096) -> None:
    """Raise the open-file soft limit to ``min(max(resource_limit, soft), hard)``."""
    if sys.platform.startswith("win"):
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(resource_limit, soft)
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target != soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # pragma: no cover - sandboxed environments
            pass


def setup_env(env_cfg: dict, launcher: str, distributed: bool) -> None:
    """cuDNN benchmark, multiprocessing settings and the process group (runner.md §1 step 3)."""
    from piston.utils.dl_utils import set_multi_processing

    if env_cfg.get("cudnn_benchmark"):
        torch.backends.cudnn.benchmark = True
    mp_cfg: dict = dict(env_cfg.get("mp_cfg", {}) or {})
    set_multi_processing(**mp_cfg, distributed=distributed)
    if distributed:
        import torch.distributed as torch_dist

        if not torch_dist.is_initialized():
            from piston.dist import init_dist

            dist_cfg: dict = dict(env_cfg.get("dist_cfg", {}) or {})
            init_dist(launcher, **dist_cfg)
    raise_file_limit(env_cfg.get("resource_limit", 4096))


def env_banner(
    env_cfg: dict, randomness: dict, seed: int, launcher: str, distributed: bool, world_size: int
) -> str:
    """The environment banner logged by the Runner constructor (logging.md §5)."""
    from piston.utils.dl_utils import collect_env

    system = collect_env()
    runtime: dict[str, Any] = dict(env_cfg)
    runtime.update(randomness)
    runtime["seed"] = seed
    runtime["Distributed launcher"] = launcher
    runtime["Distributed training"] = distributed
    runtime["GPU number"] = world_size
    dash = "-" * 60
    sys_text = "\n".join(f"    {k}: {v}" for k, v in system.items())
    run_text = "\n".join(f"    {k}: {v}" for k, v in runtime.items())
    return (
        f"\n{dash}\nSystem environment:\n{sys_text}\n\nRuntime environment:\n{run_text}\n{dash}\n"
    )
