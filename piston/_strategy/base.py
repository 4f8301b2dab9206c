"""``BaseStrategy``: process set-up, logging and the build/state helpers every strategy shares.

Design note: a strategy owns what depends on *how* the model is trained (one device, DDP,
FSDP, DeepSpeed...): the process group, the seed, the logger, and turning model/optimizer/
scheduler configs into objects in :meth:`prepare`. ``FlexibleRunner`` keeps everything else
(loops, hooks, logging of metrics). The helpers reuse the Runner's building blocks
(``piston.runner._build``, ``_env``, ``checkpoint``) so both runners build components the same
way. Nothing heavy is imported at module import: FSDP/DeepSpeed live in their own modules.
"""

from __future__ import annotations

import os.path as osp
import re
from abc import ABCMeta, abstractmethod
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
import torch.nn as nn

__all__ = ["BaseStrategy"]

_DEFAULT_REVISE_KEYS = [(r"^module.", "")]


class BaseStrategy(metaclass=ABCMeta):
    """Base class of the training strategies used by ``FlexibleRunner`` (strategy.md §2).

    Args:
        work_dir: Directory for logs and checkpoints (made absolute and created).
        experiment_name: Prefix of the experiment name; the timestamp is appended.
        env_kwargs: Keyword arguments of :meth:`_setup_env` (``launcher``, ``cudnn_benchmark``,
            ``mp_cfg``, ``dist_cfg``, ``resource_limit``, ``randomness``).
        log_kwargs: Keyword arguments of :meth:`build_logger` (e.g. ``log_level``).
        auto_scale_lr: ``dict(base_batch_size=int, enable=bool)`` for linear LR scaling.
    """

    model: nn.Module | None
    optim_wrapper: Any
    param_schedulers: Any

    def __init__(
        self,
        *,
        work_dir: str = "work_dirs",
        experiment_name: str | None = None,
        env_kwargs: dict | None = None,
        log_kwargs: dict | None = None,
        auto_scale_lr: dict | None = None,
    ) -> None:
        from piston.utils import mkdir_or_exist

        self._work_dir = osp.abspath(str(work_dir))
        mkdir_or_exist(self._work_dir)
        self._env_kwargs = dict(env_kwargs or {})
        self._setup_env(**self._env_kwargs)
        if experiment_name is not None:
            self._experiment_name = f"{experiment_name}_{self._timestamp}"
        else:
            self._experiment_name = self._timestamp
        from piston.runner._env import unique_instance_name

        # Global-instance name (logger, and the runner's hub/visualizer/scope): the experiment
        # name, suffixed when a run started earlier in the same second took it.
        self._instance_name = unique_instance_name(self._experiment_name)
        self._log_dir = osp.join(self._work_dir, self._timestamp)
        mkdir_or_exist(self._log_dir)
        self.logger = self.build_logger(**dict(log_kwargs or {}))
        self._auto_scale_lr = auto_scale_lr
        self.model = None
        self.optim_wrapper = None
        self.param_schedulers = None
        self.dispatch_kwargs: dict = {}
        self._prepared = False

    # ------------------------------------------------------------------ properties
    work_dir = property(lambda self: self._work_dir)
    log_dir = property(lambda self: self._log_dir)
    experiment_name = property(lambda self: self._experiment_name)
    launcher = property(lambda self: self._launcher)
    distributed = property(lambda self: self._distributed)
    seed = property(lambda self: self._seed)
    rank = property(lambda self: self._rank)
    world_size = property(lambda self: self._world_size)
    timestamp = property(lambda self: self._timestamp)
    randomness = property(lambda self: self._randomness)
    deterministic = property(lambda self: self._deterministic)

    # ------------------------------------------------------------------ environment
    def _setup_env(
        self,
        *,
        launcher: str | None = None,
        cudnn_benchmark: bool = False,
        mp_cfg: dict | None = None,
        dist_cfg: dict | None = None,
        resource_limit: int = 4096,
        randomness: dict | None = None,
    ) -> None:
        """cuDNN/multiprocessing settings, process group, shared timestamp, file limit, seed."""
        from piston.dist import get_dist_info, infer_launcher
        from piston.runner._env import broadcast_timestamp, raise_file_limit
        from piston.utils.dl_utils import set_multi_processing

        if launcher is None:
            launcher = infer_launcher()
        if launcher not in ("none", "pytorch", "slurm", "mpi"):
            raise ValueError(
                "launcher should be one of 'none', 'pytorch', 'slurm', 'mpi' (or None to infer "
                f"it from the environment), but got {launcher!r}"
            )
        self._launcher = launcher
        self._distributed = launcher != "none"
        if cudnn_benchmark:
            torch.backends.cudnn.benchmark = True
        set_multi_processing(**dict(mp_cfg or {}), distributed=self._distributed)
        if self._distributed:
            self._setup_distributed(launcher=launcher, **dict(dist_cfg or {}))
        self._rank, self._world_size = get_dist_info()
        self._timestamp = broadcast_timestamp()
        raise_file_limit(resource_limit)
        self._randomness = dict(randomness if randomness is not None else {"seed": None})
        self._set_randomness(**self._randomness)

    def _setup_distributed(self, *args: Any, **kwargs: Any) -> None:
        """Set up the process group; single-device strategies have nothing to do."""

    def _set_randomness(
        self, seed: int | None = None, diff_rank_seed: bool = False, deterministic: bool = False
    ) -> None:
        from piston.runner.utils import set_random_seed

        self._deterministic = deterministic
        self._seed = set_random_seed(
            seed=seed, deterministic=deterministic, diff_rank_seed=diff_rank_seed
        )

    def build_logger(
        self, log_level: int | str = "INFO", log_file: str | None = None, **kwargs: Any
    ) -> Any:
        """``MMLogger.get_instance(experiment_name, ...)`` writing ``log_dir/<timestamp>.log``."""
        from piston.logging import MMLogger

        if log_file is None:
            log_file = osp.join(self._log_dir, f"{self._timestamp}.log")
        kwargs.setdefault("name", self._instance_name)
        return MMLogger.get_instance(
            log_level=log_level, log_file=log_file, file_mode="a", **kwargs
        )

    def collect_env(self) -> tuple[dict, dict]:
        """``(system_env, runtime_env)`` for the environment banner."""
        from piston.utils.dl_utils import collect_env

        system_env = collect_env()
        runtime_env: dict[str, Any] = OrderedDict()
        runtime_env.update(
            {k: v for k, v in self._env_kwargs.items() if k not in ("launcher", "randomness")}
        )
        runtime_env.update(self._randomness)
        runtime_env["seed"] = self._seed
        runtime_env["Distributed launcher"] = self._launcher
        runtime_env["Distributed training"] = self._distributed
        runtime_env["GPU number"] = self._world_size
        return system_env, runtime_env

    # ------------------------------------------------------------------ prepare
    @abstractmethod
    def prepare(
        self,
        model: nn.Module | dict,
        *,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        compile: bool | dict = False,
        dispatch_kwargs: dict | None = None,
    ) -> Any:
        """Build and wrap the model (and optimizer/schedulers); idempotent.

        Returns:
            ``model``, or ``(model, optim_wrapper)``, or ``(model, optim_wrapper,
            param_schedulers)`` depending on what was prepared.
        """

    def _prepared_components(self) -> Any:
        if self.optim_wrapper is None:
            return self.model
        if self.param_schedulers is None:
            return self.model, self.optim_wrapper
        return self.model, self.optim_wrapper, self.param_schedulers

    def build_model(self, model: nn.Module | dict) -> nn.Module:
        """A Module as is; a dict through ``MODELS.build``; anything else is a TypeError."""
        if isinstance(model, nn.Module):
            return model
        if isinstance(model, dict):
            from piston.registry import MODELS

            return MODELS.build(model)
        raise TypeError(
            f"model should be a nn.Module object or dict, but got {type(model).__name__}: {model!r}"
        )

    def compile_model(self, model: nn.Module, compile: bool | dict = False) -> nn.Module:
        """``torch.compile`` ``model.<target>`` (``target`` popped, default ``'forward'``)."""
        if compile is False or compile is None:
            return model
        if compile is True:
            kwargs: dict = {}
        elif isinstance(compile, dict):
            kwargs = dict(compile)
        else:
            raise TypeError(
                f"compile should be a bool or a dict of torch.compile kwargs, but got "
                f"{type(compile).__name__}: {compile!r}"
            )
        if kwargs.get("disable", False):
            return model
        target = kwargs.pop("target", "forward")
        func = getattr(model, target)
        setattr(model, target, torch.compile(func, **kwargs))
        self.logger.info(
            f'Model has been "compiled" ({target}). The first few iterations will be slow.'
        )
        return model

    def build_optim_wrapper(self, optim_wrapper: Any, model: nn.Module | None = None) -> Any:
        """An OptimWrapper/OptimWrapperDict from an instance or config (as ``Runner``)."""
        from piston.runner._build import build_optim_wrapper

        return build_optim_wrapper(optim_wrapper, model if model is not None else self.model)

    def build_param_scheduler(
        self, scheduler: Any, optim_wrapper: Any, default_args: dict | None = None
    ) -> list | dict:
        """Schedulers for one wrapper (a list) or an ``OptimWrapperDict`` (a dict of lists).

        ``end`` defaults to ``max_epochs`` (``max_iters`` for ``by_epoch=False``) and
        ``epoch_length`` is passed from ``dispatch_kwargs`` (or ``default_args``).
        """
        from piston.runner._build import build_param_scheduler

        args = {
            k: self.dispatch_kwargs[k]
            for k in ("epoch_length", "max_epochs", "max_iters")
            if k in self.dispatch_kwargs
        }
        args.update(default_args or {})
        return build_param_scheduler(
            scheduler,
            optim_wrapper,
            max_epochs=args.get("max_epochs"),
            max_iters=args.get("max_iters"),
            epoch_length=args.get("epoch_length"),
        )

    def _scale_lr(self) -> None:
        """Linear LR scaling by ``world_size * train_micro_batch_size_per_gpu / base``."""
        from piston.runner._build import scale_lr

        auto_scale_lr = self._auto_scale_lr
        if auto_scale_lr is None or not auto_scale_lr.get("enable", False):
            return
        if self.param_schedulers is not None:
            raise RuntimeError(
                "`_scale_lr` should be called before building ParamScheduler because "
                "ParamScheduler will store initial lr from optimizer wrappers"
            )
        if "train_micro_batch_size_per_gpu" not in self.dispatch_kwargs:
            raise ValueError(
                "auto_scale_lr is enabled but dispatch_kwargs has no "
                "`train_micro_batch_size_per_gpu`; pass it to prepare(dispatch_kwargs=...)."
            )
        batch = {"batch_size": self.dispatch_kwargs["train_micro_batch_size_per_gpu"]}
        scale_lr(self.optim_wrapper, auto_scale_lr, self._world_size, batch, self.logger)

    # ------------------------------------------------------------------ state dicts
    def model_state_dict(self) -> dict:
        """The unwrapped model's state dict on the CPU."""
        from piston.runner.checkpoint import get_state_dict, weights_to_cpu

        return weights_to_cpu(get_state_dict(self.model))

    def optim_state_dict(self) -> dict:
        """The optimizer wrapper's state dict, tensors on the CPU."""
        from piston.runner._checkpointing import _optim_state_to_cpu

        return _optim_state_to_cpu(self.optim_wrapper.state_dict())

    def scheduler_state_dict(self) -> list | dict:
        """Scheduler states: a list, or a dict of lists per optimizer."""
        from piston.runner._checkpointing import _scheduler_states

        return _scheduler_states(self.param_schedulers)

    def load_model_state_dict(
        self,
        state_dict: dict,
        *,
        strict: bool = False,
        revise_keys: list = _DEFAULT_REVISE_KEYS,
    ) -> None:
        """Rename keys by each ``(regex, replacement)`` and load into the unwrapped model."""
        from piston.runner.checkpoint import load_state_dict

        load_state_dict(self.model, _revise(state_dict, revise_keys), strict, self.logger)

    def load_optim_state_dict(self, state_dict: dict) -> None:
        self.optim_wrapper.load_state_dict(state_dict)

    def load_scheduler_state_dict(self, state_dict: list | dict) -> None:
        from piston.runner._checkpointing import _load_scheduler_states

        _load_scheduler_states(self.param_schedulers, state_dict)

    # ------------------------------------------------------------------ checkpoints
    def load_or_resume(
        self, *, load_from: str | None = None, resume: bool | str = False
    ) -> dict | None:
        """Resume from ``resume`` (a path), the latest checkpoint or ``load_from``; or load."""
        from piston.runner.checkpoint import find_latest_checkpoint

        resume_from = None
        if isinstance(resume, str) and resume:
            resume_from = resume
        elif resume and load_from is None:
            resume_from = find_latest_checkpoint(self._work_dir)
            if resume_from is not None:
                self.logger.info(f"Auto resumed from the latest checkpoint {resume_from}.")
        elif resume and load_from is not None:
            resume_from = load_from
        if resume_from is not None:
            return self.resume(resume_from)
        if load_from is not None:
            return self.load_checkpoint(load_from)
        return None

    @abstractmethod
    def load_checkpoint(
        self,
        filename: str,
        *,
        map_location: str | Callable = "cpu",
        strict: bool = False,
        revise_keys: list = _DEFAULT_REVISE_KEYS,
        callback: Callable | None = None,
    ) -> dict:
        """Load the weights of ``filename``; return the rest of the checkpoint."""

    @abstractmethod
    def resume(
        self,
        filename: str,
        *,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: str | Callable = "default",
        callback: Callable | None = None,
    ) -> dict:
        """Load weights, optimizer and scheduler states; return the checkpoint."""

    @abstractmethod
    def save_checkpoint(
        self,
        filename: str,
        *,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        extra_ckpt: dict | None = None,
        callback: Callable | None = None,
    ) -> None:
        """Write the model (and optimizer/scheduler) states plus ``extra_ckpt``."""

    def _checkpoint_meta(self, extra_ckpt: dict | None) -> dict:
        """``extra_ckpt`` copied, its ``meta`` completed with ``seed``/``time``/``piston``."""
        import time

        from piston.runner._checkpointing import piston_version

        extra = dict(extra_ckpt or {})
        meta = dict(extra.get("meta") or {})
        meta.update(
            seed=self._seed,
            time=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
            piston=piston_version(),
        )
        extra["meta"] = meta
        return extra


def _revise(state_dict: dict, revise_keys: list | tuple) -> OrderedDict:
    metadata = getattr(state_dict, "_metadata", None)
    revised: OrderedDict = OrderedDict(state_dict)
    for pattern, replacement in revise_keys:
        regex = re.compile(pattern)
        revised = OrderedDict((regex.sub(replacement, k), v) for k, v in revised.items())
    if metadata is not None:
        revised._metadata = metadata  # type: ignore[attr-defined]
    return revised
