"""Process set-up for a run: distributed init, shared timestamp, file limits, banner text.

The timestamp has one-second resolution, so two Runners built in the same second of one process
share it, and with it their experiment name. ``unique_instance_name`` gives the second one fresh
names for its global ``MMLogger``/``MessageHub``/``Visualizer``/``DefaultScope`` instances, so it
never picks up the first Runner's logger (and log file), message hub or visualizer.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import torch

__all__ = [
    "broadcast_timestamp",
    "env_banner",
    "raise_file_limit",
    "setup_env",
    "unique_instance_name",
]


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


def unique_instance_name(name: str) -> str:
    """``name``, or ``name_1``, ``name_2``, ... when a Runner's global instances already use it.

    Checked against every ManagerMixin class a Runner creates an instance of, so that one name
    is free in all of them (each rank builds its Runners in the same order, so ranks agree).
    """
    from piston.logging import MessageHub, MMLogger
    from piston.registry import DefaultScope
    from piston.visualization import Visualizer

    managers = (MMLogger, MessageHub, Visualizer, DefaultScope)
    candidate, n = name, 0
    while any(m.check_instance_created(candidate) for m in managers):
        n += 1
        candidate = f"{name}_{n}"
    return candidate


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
    return format_env_banner(system, runtime)


def format_env_banner(system: dict, runtime: dict) -> str:
    """The banner text for ``system`` and ``runtime`` environment dicts (logging.md §5)."""
    dash = "-" * 60
    sys_text = "\n".join(f"    {k}: {v}" for k, v in system.items())
    run_text = "\n".join(f"    {k}: {v}" for k, v in runtime.items())
    return (
        f"\n{dash}\nSystem environment:\n{sys_text}\n\nRuntime environment:\n{run_text}\n{dash}\n"
    )
