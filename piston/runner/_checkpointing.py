"""What ``Runner.save_checkpoint`` / ``load_checkpoint`` / ``resume`` put in and take out.

Kept apart from the facade so the Runner stays a list of thin methods. Everything stored is a
plain container or tensor (DESIGN.md §4) so piston's own checkpoints load with
``weights_only=True``; ``train_state`` (see ``_resume``) makes the resume exact.
"""

from __future__ import annotations

import copy
import io
import time
import warnings
from collections import OrderedDict, deque
from typing import Any

import numpy as np
import torch

from piston.fileio import LocalBackend
from piston.logging import HistoryBuffer

from .checkpoint import (
    _load_checkpoint,
    _load_checkpoint_to_model,
    get_state_dict,
    save_checkpoint,
    weights_to_cpu,
)

__all__ = [
    "check_file_client_args",
    "checkpoint_meta",
    "checkpoint_path",
    "load_runner_checkpoint",
    "resume_runner",
    "save_runner_checkpoint",
    "train_state_of",
]

_VERSION: str | None = None


def piston_version() -> str:
    """``__version__`` plus the git hash suffix, computed once per process."""
    global _VERSION
    if _VERSION is None:
        import piston

        version = getattr(piston, "__version__", "0.0.0")
        try:
            from piston.utils import get_git_hash

            suffix = get_git_hash(fallback="", digits=7)
        except Exception:
            suffix = ""
        _VERSION = version + (f"+{suffix}" if suffix else "")
    return _VERSION


def to_plain(value: Any) -> Any:
    """Convert containers to ones ``torch.load(weights_only=True)`` accepts."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        cls = OrderedDict if isinstance(value, OrderedDict) else dict
        return cls((k, to_plain(v)) for k, v in value.items())
    if isinstance(value, (deque, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, HistoryBuffer):  # MessageHub.state_dict holds buffer copies
        values, counts = value.data
        return {"log_history": values.tolist(), "count_history": counts.tolist()}
    return value


def _optim_state_to_cpu(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach().cpu()
    if isinstance(state, dict):
        return type(state)((k, _optim_state_to_cpu(v)) for k, v in state.items())
    if isinstance(state, list):
        return [_optim_state_to_cpu(v) for v in state]
    if isinstance(state, tuple):
        return tuple(_optim_state_to_cpu(v) for v in state)
    return state


def _scheduler_states(schedulers: Any) -> Any:
    if isinstance(schedulers, dict):
        return {name: [s.state_dict() for s in items] for name, items in schedulers.items()}
    return [s.state_dict() for s in schedulers]


def save_runner_checkpoint(
    runner: Any,
    out_dir: str,
    filename: str,
    file_client_args: dict | None = None,
    save_optimizer: bool = True,
    save_param_scheduler: bool = True,
    meta: dict | None = None,
    by_epoch: bool = True,
    backend_args: dict | None = None,
) -> None:
    """Body of ``Runner.save_checkpoint`` (rank 0 only; the caller gates on rank)."""
    from piston.optim import OptimWrapper, OptimWrapperDict

    meta = checkpoint_meta(runner, meta, by_epoch)
    file_client = None
    if check_file_client_args(file_client_args, backend_args):
        file_client = _infer_file_client(file_client_args, out_dir)
    if file_client is None:
        filepath = checkpoint_path(out_dir, filename, backend_args)
    else:
        filepath = file_client.join_path(out_dir, filename)
    meta.update(
        seed=runner.seed,
        time=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
        piston_version=piston_version(),
    )
    model = runner.model
    checkpoint: dict[str, Any] = {
        "meta": to_plain(meta),
        "state_dict": weights_to_cpu(get_state_dict(model)),
        "message_hub": to_plain(runner.message_hub.state_dict()),
    }
    if save_optimizer:
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, (OptimWrapper, OptimWrapperDict)):
            checkpoint["optimizer"] = _optim_state_to_cpu(wrapper.state_dict())
        elif not isinstance(wrapper, dict) and wrapper is not None:
            raise TypeError(
                "runner.optim_wrapper should be an `OptimWrapper` or `OptimWrapperDict` "
                f"instance, but got {wrapper}"
            )
    if save_param_scheduler:
        schedulers = runner.param_schedulers
        if schedulers is None or (isinstance(schedulers, dict) and _is_cfg_dict(schedulers)):
            runner.logger.warning(
                "`save_param_scheduler` is True but `runner.param_schedulers` is None, so "
                "skip saving parameter schedulers"
            )
        else:
            checkpoint["param_schedulers"] = _scheduler_states(schedulers)
    train_state = train_state_of(runner)
    if train_state is not None:
        checkpoint["train_state"] = train_state
    runner.call_hook("before_save_checkpoint", checkpoint=checkpoint)
    if file_client is None:
        save_checkpoint(checkpoint, filepath, backend_args=backend_args)
    elif isinstance(file_client.client, LocalBackend):
        save_checkpoint(checkpoint, filepath)  # local disk: the atomic write
    else:
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        file_client.put(buffer.getvalue(), filepath)


def checkpoint_meta(
    runner: Any, meta: dict | None, by_epoch: bool, overwrite: bool = False
) -> dict:
    """``meta`` of a runner checkpoint: the caller's dict with ``epoch`` and ``iter`` where absent
    (updated in place, as Runner does; with ``overwrite``, a copy where they replace the caller's,
    as FlexibleRunner does), the config text, the experiment name and the dataset's metainfo."""
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        raise TypeError(f"meta should be a dict or None, but got {type(meta).__name__}")
    if by_epoch:
        position = {"epoch": runner.epoch + 1, "iter": runner.iter}
    else:
        position = {"epoch": runner.epoch, "iter": runner.iter + 1}
    if overwrite:  # on a copy: the caller's values are replaced
        meta = {**meta, **position}
    else:
        for key, value in position.items():
            meta.setdefault(key, value)
    meta.update(cfg=runner.cfg.pretty_text, experiment_name=runner.experiment_name)
    train_loop = _built_train_loop(runner)
    if train_loop is not None and hasattr(train_loop.dataloader.dataset, "metainfo"):
        meta["dataset_meta"] = to_plain(train_loop.dataloader.dataset.metainfo)
    return meta


def train_state_of(runner: Any) -> dict | None:
    """``train_state`` (exact resume) of the runner's built train loop, if it records one."""
    train_loop = _built_train_loop(runner)
    if train_loop is not None and hasattr(train_loop, "state_for_checkpoint"):
        return train_loop.state_for_checkpoint()
    return None


def _built_train_loop(runner: Any) -> Any:
    loop = runner._train_loop
    return None if loop is None or isinstance(loop, dict) else loop


def check_file_client_args(file_client_args: dict | None, backend_args: dict | None) -> bool:
    """Warn that ``file_client_args`` is deprecated and refuse it next to ``backend_args``;
    True when it is given."""
    if file_client_args is None:
        return False
    warnings.warn(
        '"file_client_args" will be deprecated in future. Please use "backend_args" instead',
        DeprecationWarning,
        stacklevel=4,
    )
    if backend_args is not None:
        raise ValueError(
            '"file_client_args" and "backend_args" cannot be set at the same time. '
            '"file_client_args" is deprecated; use "backend_args" only.'
        )
    return True


def checkpoint_path(out_dir: str, filename: str, backend_args: dict | None = None) -> str:
    """``out_dir`` joined with ``filename`` by its storage backend; ``pavi://`` model-cloud
    paths (no fileio backend) are joined with ``/``."""
    from piston.fileio import join_path

    if str(out_dir).startswith("pavi://"):
        return f"{str(out_dir).rstrip('/')}/{filename}"
    return join_path(out_dir, filename, backend_args=backend_args)


def _infer_file_client(file_client_args: dict, out_dir: str) -> Any:
    """The deprecated ``FileClient`` that ``file_client_args`` (and ``out_dir``'s prefix) select."""
    from piston.fileio import FileClient

    with warnings.catch_warnings():  # the caller already warned about file_client_args
        warnings.simplefilter("ignore", DeprecationWarning)
        return FileClient.infer_client(file_client_args, out_dir)


def _is_cfg_dict(schedulers: dict) -> bool:
    """A dict of unbuilt configs (per-optimizer or single) rather than built schedulers."""
    from piston.optim import _ParamScheduler

    for value in schedulers.values():
        items = value if isinstance(value, (list, tuple)) else [value]
        if any(not isinstance(v, _ParamScheduler) for v in items):
            return True
    return False


def load_runner_checkpoint(
    runner: Any,
    filename: str,
    map_location: Any = "cpu",
    strict: bool = False,
    revise_keys: list | tuple = ((r"^module.", ""),),
) -> dict:
    """Body of ``Runner.load_checkpoint``: load, run hooks, load the weights."""
    if map_location == "default":
        from piston.device import get_device

        map_location = get_device()
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    if not isinstance(checkpoint, dict):
        raise RuntimeError(
            f"No state_dict found in checkpoint file {filename}: it holds a "
            f"{type(checkpoint).__name__}, not a dict."
        )
    runner.call_hook("after_load_checkpoint", checkpoint=checkpoint)
    _load_checkpoint_to_model(runner.model, checkpoint, strict, revise_keys=revise_keys)
    runner.logger.info(f"Load checkpoint from {filename}")
    return checkpoint


def resume_runner(
    runner: Any,
    filename: str,
    resume_optimizer: bool = True,
    resume_param_scheduler: bool = True,
    map_location: Any = "default",
) -> None:
    """Body of ``Runner.resume`` (runner.md §5)."""
    checkpoint = load_runner_checkpoint(runner, filename, map_location=map_location)
    meta = checkpoint.get("meta", {})
    loop = restore_loop_position(runner, checkpoint)

    resumed_seed = meta.get("seed")
    current_seed = runner._randomness_cfg.get("seed")
    if resumed_seed is not None and resumed_seed != runner.seed:
        if current_seed is not None:
            runner.logger.warning(
                f"The value of random seed in the checkpoint ({resumed_seed}) is different "
                f"from the value in `randomness` config ({current_seed})"
            )
        runner._randomness_cfg.update(seed=resumed_seed)
        runner.set_randomness(**runner._randomness_cfg)

    if "message_hub" in checkpoint:
        runner.message_hub.load_state_dict(checkpoint["message_hub"])
    if resume_optimizer and "optimizer" in checkpoint:
        runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
        runner.optim_wrapper.load_state_dict(checkpoint["optimizer"])
    if resume_param_scheduler and "param_schedulers" in checkpoint:
        if runner.param_schedulers is None:
            runner.logger.warning(
                "`resume_param_scheduler` is True but `runner.param_schedulers` is None, so "
                "skip resuming parameter schedulers"
            )
        else:
            runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
            _load_scheduler_states(runner.param_schedulers, checkpoint["param_schedulers"])
    runner.logger.info(f"resumed epoch: {loop.epoch}, iter: {loop.iter}")


def restore_loop_position(runner: Any, checkpoint: dict) -> Any:
    """Shared by ``Runner.resume`` and ``FlexibleRunner.resume``: set the train loop's epoch,
    iteration and data position from ``checkpoint``, check the GPU count it was saved with
    (runner.md §5) and warn when its dataset meta differs. Returns the train loop."""
    meta = checkpoint.get("meta", {}) or {}
    loop = runner.train_loop
    loop._epoch = meta["epoch"]
    loop._iter = meta["iter"]
    if hasattr(loop, "_resume_train_state"):
        train_state = checkpoint.get("train_state")
        if (
            train_state is not None
            and runner.world_size > 1
            and runner._randomness_cfg.get("diff_rank_seed", False)
        ):
            # The checkpoint holds rank 0's RNG streams; ranks seeded differently keep theirs.
            train_state = {k: v for k, v in train_state.items() if k not in ("rng", "epoch_rng")}
        loop._resume_train_state = train_state

    # runner.md §5 names `meta["config"]` (older checkpoints); piston writes `meta["cfg"]`.
    previous_gpu_ids = _gpu_ids_from_cfg(meta.get("config", meta.get("cfg")))
    if previous_gpu_ids is not None and len(previous_gpu_ids) != runner.world_size:
        if (runner.auto_scale_lr or {}).get("enable", False):
            runner.logger.info(
                "Number of GPU used for current experiment is not consistent with the "
                "checkpoint being resumed; the learning rate is rescaled by auto_scale_lr."
            )
        else:
            raise RuntimeError(
                "Number of GPUs used for current experiment is not consistent with resuming "
                "from checkpoint. Enable auto_scale_lr or resume with the same number of GPUs."
            )

    resumed_meta = meta.get("dataset_meta")
    current_meta = getattr(loop.dataloader.dataset, "metainfo", None)
    if (
        resumed_meta is not None
        and current_meta is not None
        and _differs(resumed_meta, current_meta)
    ):
        runner.logger.warning(
            "The dataset metainfo from the resumed checkpoint is different from the current "
            "training dataset, please check the correctness of the checkpoint or the training "
            "dataset."
        )
    return loop


def _load_scheduler_states(schedulers: Any, states: Any) -> None:
    if isinstance(schedulers, dict):
        for name, items in schedulers.items():
            for scheduler, state in zip(items, states[name]):
                scheduler.load_state_dict(state)
    else:
        for scheduler, state in zip(schedulers, states):
            scheduler.load_state_dict(state)


def _gpu_ids_from_cfg(cfg_text: Any) -> list | None:
    """``gpu_ids`` of the config text stored in a checkpoint, read without executing it."""
    import ast

    if not isinstance(cfg_text, str) or "gpu_ids" not in cfg_text:
        return None
    try:
        tree = ast.parse(cfg_text)
    except SyntaxError:
        return None
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        if not any(isinstance(t, ast.Name) and t.id == "gpu_ids" for t in node.targets):
            continue
        value = node.value
        if (  # `gpu_ids = range(n)` as older launch scripts wrote it
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "range"
        ):
            return list(range(*[ast.literal_eval(arg) for arg in value.args]))
        try:
            return list(ast.literal_eval(value))
        except (ValueError, TypeError):
            return None
    return None


def _differs(a: Any, b: Any) -> bool:
    try:
        return (
            bool(a != b)
            if not isinstance(a, dict)
            else to_plain(copy.deepcopy(a)) != to_plain(copy.deepcopy(b))
        )
    except Exception:
        return False
