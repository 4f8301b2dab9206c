"""``Runner``: the facade that wires a model, data, optimisation, hooks and logging together.

The Runner holds state and lifecycle; the work lives beside it: components are built from
configs by the plain functions of ``_build``, the loops in ``loops``, checkpoint contents in
``_checkpointing`` and checkpoint I/O in ``checkpoint``. ``call_hook`` dispatches through
per-stage lists holding only the hooks that override a stage (DESIGN.md §3), rebuilt whenever a
hook is registered, so a stage nobody listens to costs one dict lookup.
"""

from __future__ import annotations

import copy
import os.path as osp
from typing import Any

import torch.nn as nn
from torch.utils.data import DataLoader

from piston.registry import RUNNERS

from . import _build
from ._checkpointing import load_runner_checkpoint, resume_runner, save_runner_checkpoint
from ._env import broadcast_timestamp, env_banner, setup_env, unique_instance_name
from ._hooks import (
    build_hook,
    default_hook_configs,
    hooks_info,
    insert_hook,
    stage_hook_lists,
)
from ._model_setup import apply_model_transforms, init_model_weights, maybe_compile, unwrap
from ._sections import building
from .checkpoint import find_latest_checkpoint
from .loops import BaseLoop, TestLoop, ValLoop
from .priority import Priority
from .utils import set_random_seed

__all__ = ["Runner"]


# Constructor arguments ``from_cfg`` reads from a config, with the defaults it uses.
_CFG_ARGS = (
    *(
        (name, None)
        for name in (
            "train_dataloader",
            "val_dataloader",
            "test_dataloader",
            "train_cfg",
            "val_cfg",
            "test_cfg",
            "auto_scale_lr",
            "optim_wrapper",
            "param_scheduler",
            "val_evaluator",
            "test_evaluator",
            "default_hooks",
            "custom_hooks",
            "data_preprocessor",
            "load_from",
            "log_processor",
            "visualizer",
            "experiment_name",
        )
    ),
    ("resume", False),
    ("launcher", "none"),
    ("env_cfg", {"dist_cfg": {"backend": "nccl"}}),
    ("log_level", "INFO"),
    ("default_scope", "piston"),
    ("randomness", {"seed": None}),
)


@RUNNERS.register_module()
class Runner:
    """Run training, validation and testing from components or their configs.

    Every argument is documented in ``runner.md`` §1; the common ones are ``model``,
    ``work_dir``, the three dataloaders with their ``*_cfg`` and evaluators, ``optim_wrapper``,
    ``param_scheduler``, ``default_hooks``/``custom_hooks``, ``load_from``/``resume`` and
    ``randomness``. ``resume`` may also be a checkpoint path (resume from that file).

    Example:
        >>> runner = Runner(model=Net(), work_dir='work_dir', train_dataloader=train_dl,
        ...                 optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        ...                 train_cfg=dict(by_epoch=True, max_epochs=2))
        >>> runner.train()
    """

    def __init__(
        self,
        model: nn.Module | dict,
        work_dir: str,
        train_dataloader: DataLoader | dict | None = None,
        val_dataloader: DataLoader | dict | None = None,
        test_dataloader: DataLoader | dict | None = None,
        train_cfg: dict | None = None,
        val_cfg: dict | None = None,
        test_cfg: dict | None = None,
        auto_scale_lr: dict | None = None,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        val_evaluator: Any = None,
        test_evaluator: Any = None,
        default_hooks: dict | None = None,
        custom_hooks: list | None = None,
        data_preprocessor: nn.Module | dict | None = None,
        load_from: str | None = None,
        resume: bool | str = False,
        launcher: str = "none",
        env_cfg: dict | None = {"dist_cfg": {"backend": "nccl"}},  # noqa: B006 - MMEngine's
        log_processor: Any = None,
        log_level: str | int = "INFO",
        visualizer: Any = None,
        default_scope: str | None = "piston",
        randomness: dict | None = {"seed": None},  # noqa: B006 - MMEngine's signature
        experiment_name: str | None = None,
        cfg: Any = None,
    ) -> None:
        from piston.utils import mkdir_or_exist

        self._work_dir = osp.abspath(str(work_dir))
        mkdir_or_exist(self._work_dir)
        self.cfg = _build.runner_config(cfg)

        _build.check_runner_args(
            train_dataloader,
            train_cfg,
            optim_wrapper,
            param_scheduler,
            val_dataloader,
            val_cfg,
            val_evaluator,
            test_dataloader,
            test_cfg,
            test_evaluator,
        )

        self._train_dataloader = train_dataloader
        self._train_loop: BaseLoop | dict | None = train_cfg
        self.optim_wrapper = optim_wrapper
        self.auto_scale_lr = auto_scale_lr
        self.param_schedulers = param_scheduler
        self._val_dataloader = val_dataloader
        self._val_loop: BaseLoop | dict | None = val_cfg
        self._val_evaluator = val_evaluator
        self._test_dataloader = test_dataloader
        self._test_loop: BaseLoop | dict | None = test_cfg
        self._test_evaluator = test_evaluator

        self._launcher = launcher
        if launcher not in ("none", "pytorch", "slurm", "mpi"):
            raise ValueError(
                f"launcher should be one of 'none', 'pytorch', 'slurm', 'mpi', but got {launcher!r}"
            )
        self._distributed = launcher != "none"
        if env_cfg is None:
            env_cfg = {"dist_cfg": {"backend": "nccl"}}
        self._env_cfg = copy.deepcopy(env_cfg)  # the default dict is shared between calls
        self.setup_env(self._env_cfg)

        if randomness is None:
            randomness = {"seed": None}
        self._randomness_cfg = dict(randomness)
        self.set_randomness(**self._randomness_cfg)

        if experiment_name is not None:
            self._experiment_name = f"{experiment_name}_{self._timestamp}"
        elif self.cfg.filename is not None:
            stem = osp.splitext(osp.basename(self.cfg.filename))[0]
            self._experiment_name = f"{stem}_{self._timestamp}"
        else:
            self._experiment_name = self._timestamp
        # Name of this runner's logger/message hub/visualizer/default scope: the experiment name,
        # suffixed when a runner built earlier in the same second already took it.
        self._instance_name = unique_instance_name(self._experiment_name)
        self._log_dir = osp.join(self._work_dir, self._timestamp)
        mkdir_or_exist(self._log_dir)

        if default_scope is not None:
            from piston.registry import DefaultScope

            self.default_scope = DefaultScope.get_instance(
                self._instance_name, scope_name=default_scope
            )
        else:
            self.default_scope = None

        self.log_processor = self.build_log_processor(log_processor or {})
        self.logger = self.build_logger(log_level=log_level)
        self.logger.info(
            env_banner(
                env_cfg,
                self._randomness_cfg,
                self.seed,
                launcher,
                self._distributed,
                self._world_size,
            )
        )
        if len(self.cfg) > 0:
            self.logger.info(f"Config:\n{self.cfg.pretty_text}")
        self.message_hub = self.build_message_hub()
        self.visualizer = self.build_visualizer(visualizer)
        if len(self.cfg) > 0:
            self.visualizer.add_config(self.cfg)

        self._load_from = load_from
        self._resume = resume
        self._has_loaded = False

        if isinstance(model, dict) and data_preprocessor is not None:
            model.setdefault("data_preprocessor", data_preprocessor)
        self.model = self.build_model(model)
        self.model = self.wrap_model(self.cfg.get("model_wrapper_cfg"), self.model)
        inner = getattr(self.model, "module", self.model)
        self._model_name = type(inner).__name__

        self._hooks: list = []
        self._stage_hooks: dict[str, list] = {}
        self.register_hooks(default_hooks, custom_hooks)
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hooks_info()}")
        self.dump_config()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_cfg(cls, cfg: Any) -> Runner:
        """Build a runner from a full config (``model`` and ``work_dir`` required)."""
        from piston.config import Config

        cfg = copy.deepcopy(cfg)
        if not isinstance(cfg, Config):
            cfg = Config(dict(cfg))
        for key in ("model", "work_dir"):
            if cfg.get(key) is None:
                raise KeyError(
                    f"The config has no `{key}`. Set it in the config file or pass it on the "
                    f"command line (e.g. `--work-dir`)."
                )
        if cfg.get("fast"):
            from ._fast import apply_fast_cfg

            apply_fast_cfg(cfg)
        kwargs = {name: copy.deepcopy(cfg.get(name, default)) for name, default in _CFG_ARGS}
        return cls(model=cfg["model"], work_dir=cfg["work_dir"], **kwargs, cfg=cfg)

    def setup_env(self, env_cfg: dict) -> None:
        """cuDNN/multiprocessing settings, process group, rank info and shared timestamp."""
        from piston.dist import get_dist_info

        setup_env(env_cfg, self._launcher, self._distributed)
        self._rank, self._world_size = get_dist_info()
        self._timestamp = broadcast_timestamp()

    def set_randomness(
        self, seed: int | None = None, diff_rank_seed: bool = False, deterministic: bool = False
    ) -> None:
        """Seed every RNG (``utils.md`` §3) and remember the seed as ``runner.seed``."""
        self._deterministic = deterministic
        self._seed = set_random_seed(
            seed=seed, deterministic=deterministic, diff_rank_seed=diff_rank_seed
        )

    # ------------------------------------------------------------------ properties
    experiment_name = property(lambda self: self._experiment_name)
    model_name = property(lambda self: self._model_name)
    work_dir = property(lambda self: self._work_dir)
    log_dir = property(lambda self: self._log_dir)
    timestamp = property(lambda self: self._timestamp)
    launcher = property(lambda self: self._launcher)
    distributed = property(lambda self: self._distributed)
    rank = property(lambda self: self._rank)
    world_size = property(lambda self: self._world_size)
    seed = property(lambda self: self._seed)
    deterministic = property(lambda self: self._deterministic)
    hooks = property(lambda self: self._hooks)

    @property
    def train_loop(self) -> Any:
        if isinstance(self._train_loop, BaseLoop) or self._train_loop is None:
            return self._train_loop
        self._train_loop = self.build_train_loop(self._train_loop)
        return self._train_loop

    @property
    def val_loop(self) -> Any:
        if isinstance(self._val_loop, BaseLoop) or self._val_loop is None:
            return self._val_loop
        self._val_loop = self.build_val_loop(self._val_loop)
        return self._val_loop

    @property
    def test_loop(self) -> Any:
        if isinstance(self._test_loop, BaseLoop) or self._test_loop is None:
            return self._test_loop
        self._test_loop = self.build_test_loop(self._test_loop)
        return self._test_loop

    @property
    def train_dataloader(self) -> Any:
        return self.train_loop.dataloader

    @property
    def val_dataloader(self) -> Any:
        return self.val_loop.dataloader

    @property
    def test_dataloader(self) -> Any:
        return self.test_loop.dataloader

    @property
    def val_evaluator(self) -> Any:
        return self.val_loop.evaluator

    @property
    def test_evaluator(self) -> Any:
        return self.test_loop.evaluator

    def _built_train_loop(self) -> Any:
        loop = self._train_loop
        if isinstance(loop, dict):  # still a config: build it (runner.md: reading builds)
            loop = self.train_loop
        return loop

    # ``epoch``/``iter`` are read by several hooks every iteration: keep them two lookups.
    @property
    def epoch(self) -> int:
        loop = self._built_train_loop()
        return 0 if loop is None else loop.epoch

    @property
    def iter(self) -> int:
        loop = self._built_train_loop()
        return 0 if loop is None else loop.iter

    @property
    def max_epochs(self) -> int:
        loop = self._built_train_loop()
        return 0 if loop is None else loop.max_epochs

    @property
    def max_iters(self) -> int:
        loop = self._built_train_loop()
        return 0 if loop is None else loop.max_iters

    def _loop_value(self, name: str) -> int:
        loop = self._built_train_loop()
        return 0 if loop is None else getattr(loop, name)

    @property
    def val_interval(self) -> int:
        return self._loop_value("val_interval")

    @property
    def val_begin(self) -> int:
        return self._loop_value("val_begin")

    # ------------------------------------------------------------------ build_*
    def build_logger(
        self, log_level: int | str = "INFO", log_file: str | None = None, **kwargs: Any
    ) -> Any:
        from piston.logging import MMLogger

        if log_file is None:
            log_file = osp.join(self._log_dir, f"{self._timestamp}.log")
        kwargs.setdefault("name", self._global_name())
        return MMLogger.get_instance(
            log_level=log_level, log_file=log_file, file_mode="a", **kwargs
        )

    def build_message_hub(self, message_hub: dict | None = None) -> Any:
        from piston.logging import MessageHub

        if message_hub is None:
            message_hub = {"name": self._global_name()}
        elif not isinstance(message_hub, dict):
            raise TypeError(f"message_hub should be dict or None, but got {message_hub}")
        message_hub = dict(message_hub)
        message_hub.setdefault("name", self._global_name())
        return MessageHub.get_instance(**message_hub)

    def build_visualizer(self, visualizer: Any = None) -> Any:
        with building("visualizer"):
            return _build.build_visualizer(visualizer, self._global_name(), self._log_dir)

    def _global_name(self) -> str:
        """Instance name of this runner's ManagerMixin objects (the experiment name if free)."""
        return getattr(self, "_instance_name", self._experiment_name)

    def build_model(self, model: nn.Module | dict) -> nn.Module:
        if isinstance(model, nn.Module):
            return model
        if isinstance(model, dict):
            from piston.registry import MODELS

            with building("model"):
                return MODELS.build(model)
        raise TypeError(
            f"model should be a nn.Module object or dict, but got {type(model).__name__}: {model!r}"
        )

    def wrap_model(self, model_wrapper_cfg: dict | None, model: nn.Module) -> nn.Module:
        with building("model_wrapper_cfg"):
            return _build.wrap_model(
                model, model_wrapper_cfg, self.cfg, self._distributed, self.logger
            )

    def build_optim_wrapper(self, optim_wrapper: Any) -> Any:
        with building("optim_wrapper"):
            return _build.build_optim_wrapper(optim_wrapper, self.model)

    def scale_lr(self, optim_wrapper: Any, auto_scale_lr: dict | None = None) -> None:
        if auto_scale_lr is not None and not isinstance(auto_scale_lr, dict):
            raise TypeError(
                "auto_scale_lr should be None or a dict such as "
                f"dict(enable=True, base_batch_size=16), but got {auto_scale_lr!r}."
            )
        if auto_scale_lr is None or not auto_scale_lr.get("enable", False):
            return
        if self.param_schedulers is not None and not _is_config(self.param_schedulers):
            raise RuntimeError(
                "`scale_lr` should be called before building ParamScheduler because "
                "ParamScheduler will store initial lr from optimizer wrappers"
            )
        loader = (
            self._train_loop.dataloader
            if isinstance(self._train_loop, BaseLoop)
            else self._train_dataloader
        )
        _build.scale_lr(optim_wrapper, auto_scale_lr, self._world_size, loader, self.logger)

    def build_param_scheduler(self, scheduler: Any) -> list | dict:
        from piston.optim import OptimWrapper, OptimWrapperDict

        if not isinstance(self.optim_wrapper, (OptimWrapper, OptimWrapperDict)):
            raise RuntimeError(
                "`build_optim_wrapper` should be called before `build_param_scheduler` because "
                "the latter depends on the former"
            )
        loop = self._train_loop if isinstance(self._train_loop, BaseLoop) else None
        with building("param_scheduler"):
            return _build.build_param_scheduler(
                scheduler,
                self.optim_wrapper,
                max_epochs=loop.max_epochs if loop is not None else None,
                max_iters=loop.max_iters if loop is not None else None,
                epoch_length=len(loop.dataloader) if loop is not None else None,
            )

    def build_evaluator(self, evaluator: Any) -> Any:
        return _build.build_evaluator(evaluator)

    @staticmethod
    def build_dataloader(
        dataloader: DataLoader | dict, seed: int | None = None, diff_rank_seed: bool = False
    ) -> DataLoader:
        return _build.build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def build_train_loop(self, loop: BaseLoop | dict) -> BaseLoop:
        with building("train_cfg"):
            return _build.build_train_loop(self, loop)

    def build_val_loop(self, loop: BaseLoop | dict) -> BaseLoop:
        with building("val_cfg"):
            return _build.build_eval_loop(
                self, loop, ValLoop, self._val_dataloader, self._val_evaluator
            )

    def build_test_loop(self, loop: BaseLoop | dict) -> BaseLoop:
        with building("test_cfg"):
            return _build.build_eval_loop(
                self, loop, TestLoop, self._test_dataloader, self._test_evaluator
            )

    def build_log_processor(self, log_processor: Any) -> Any:
        with building("log_processor"):
            return _build.build_log_processor(log_processor)

    # ------------------------------------------------------------------ run
    def train(self) -> nn.Module:
        """Train the model and return it (``runner.md`` §1 ``train()``)."""
        model = unwrap(self.model)
        if not hasattr(model, "train_step"):
            raise AssertionError(
                "If you want to train your model, please make sure your model has implemented "
                "`train_step` (e.g. subclass piston.model.BaseModel)."
            )
        if self._val_loop is not None and not hasattr(model, "val_step"):
            raise AssertionError(
                "If you want to validate your model, please make sure your model has "
                "implemented `val_step`."
            )
        if self._train_loop is None:
            raise RuntimeError(
                "`self._train_loop` should not be None when calling train method. Please "
                "provide `train_dataloader`, `train_cfg`, `optimizer` and `param_scheduler` "
                "arguments when initializing runner."
            )
        self._train_loop = self.build_train_loop(self._train_loop)
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        if self.param_schedulers is not None:
            self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
        if self._val_loop is not None:
            self._val_loop = self.build_val_loop(self._val_loop)
        self.call_hook("before_run")
        self._init_model_weights()
        apply_model_transforms(self)
        self.load_or_resume()
        self.optim_wrapper.initialize_count_status(
            self.model, self._train_loop.iter, self._train_loop.max_iters
        )
        maybe_compile(self)
        model = self.train_loop.run()
        self.call_hook("after_run")
        return model

    def _init_model_weights(self) -> None:
        """Initialise the model's weights (``init_weights``) before training; subclasses may
        override it, e.g. to skip initialisation."""
        init_model_weights(self.model)

    def val(self) -> dict:
        """Run validation once and return the metrics."""
        if self._val_loop is None:
            raise RuntimeError(
                "`self._val_loop` should not be None when calling val method. Please provide "
                "`val_dataloader`, `val_cfg` and `val_evaluator` arguments when initializing "
                "runner."
            )
        self._val_loop = self.build_val_loop(self._val_loop)
        self.call_hook("before_run")
        self.load_or_resume()
        metrics = self.val_loop.run()
        self.call_hook("after_run")
        return metrics

    def test(self) -> dict:
        """Run the test loop once and return the metrics."""
        if self._test_loop is None:
            raise RuntimeError(
                "`self._test_loop` should not be None when calling test method. Please provide "
                "`test_dataloader`, `test_cfg` and `test_evaluator` arguments when "
                "initializing runner."
            )
        self._test_loop = self.build_test_loop(self._test_loop)
        self.call_hook("before_run")
        self.load_or_resume()
        metrics = self.test_loop.run()
        self.call_hook("after_run")
        return metrics

    # ------------------------------------------------------------------ hooks
    def call_hook(self, fn_name: str, **kwargs: Any) -> None:
        """Call ``fn_name`` on every hook that implements it, in priority order."""
        hooks = self._stage_hooks.get(fn_name)
        if hooks is None:  # a custom stage: any hook defining the method
            hooks = [hook for hook in self._hooks if hasattr(hook, fn_name)]
        for hook in hooks:
            try:
                getattr(hook, fn_name)(self, **kwargs)
            except TypeError as err:
                raise TypeError(f"{err} in {hook}") from err

    def _rebuild_stage_hooks(self) -> None:
        self._stage_hooks = stage_hook_lists(self._hooks)

    def register_hook(self, hook: Any, priority: int | str | Priority | None = None) -> None:
        """Insert ``hook`` after the last registered hook whose priority is not lower."""
        insert_hook(self._hooks, build_hook(hook, priority))
        self._rebuild_stage_hooks()

    def register_default_hooks(self, hooks: dict | None = None) -> None:
        """Register the six default hooks, updated by ``hooks`` (``hooks.md`` §2)."""
        for name, hook in default_hook_configs(hooks, named=True):
            with building(f"default_hooks.{name}"):
                self.register_hook(hook)

    def register_custom_hooks(self, hooks: list) -> None:
        for index, hook in enumerate(hooks):
            with building(f"custom_hooks[{index}]"):
                self.register_hook(hook)

    def register_hooks(
        self, default_hooks: dict | None = None, custom_hooks: list | None = None
    ) -> None:
        self.register_default_hooks(default_hooks)
        if custom_hooks is not None:
            self.register_custom_hooks(custom_hooks)

    def get_hooks_info(self) -> str:
        """The per-stage hook table logged at start-up."""
        return hooks_info(self._hooks)

    # ------------------------------------------------------------------ checkpoints
    def load_or_resume(self) -> None:
        """Load ``load_from`` or resume (once), as ``runner.md`` §1 describes."""
        if self._has_loaded:
            return
        resume_from = None
        if isinstance(self._resume, str) and self._resume:
            resume_from = self._resume
        elif self._resume and self._load_from is None:
            resume_from = find_latest_checkpoint(self._work_dir)
            if resume_from is not None:
                self.logger.info(f"Auto resumed from the latest checkpoint {resume_from}.")
        elif self._resume and self._load_from is not None:
            resume_from = self._load_from
        if resume_from is not None:
            self.resume(resume_from)
            self._has_loaded = True
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)
            self._has_loaded = True

    def resume(
        self,
        filename: str,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: Any = "default",
    ) -> None:
        """Resume weights, optimizer, schedulers, counters, RNG and data position."""
        resume_runner(self, filename, resume_optimizer, resume_param_scheduler, map_location)

    def load_checkpoint(
        self,
        filename: str,
        map_location: Any = "cpu",
        strict: bool = False,
        revise_keys: list = [(r"^module.", "")],  # noqa: B006 - MMEngine's signature
    ) -> dict:
        """Load weights from ``filename`` into the model and return the checkpoint."""
        return load_runner_checkpoint(self, filename, map_location, strict, revise_keys)

    def save_checkpoint(
        self,
        out_dir: str,
        filename: str,
        file_client_args: dict | None = None,
        save_optimizer: bool = True,
        save_param_scheduler: bool = True,
        meta: dict | None = None,
        by_epoch: bool = True,
        backend_args: dict | None = None,
    ) -> None:
        """Save a checkpoint atomically (rank 0 only)."""
        if self._rank != 0:
            return
        save_runner_checkpoint(
            self,
            out_dir,
            filename,
            file_client_args,
            save_optimizer,
            save_param_scheduler,
            meta,
            by_epoch,
            backend_args,
        )

    def dump_config(self) -> None:
        """Write the config to ``work_dir`` (rank 0)."""
        if self._rank != 0:
            return
        if self.cfg.filename is not None:
            path = osp.join(self._work_dir, osp.basename(self.cfg.filename))
        else:
            path = osp.join(self._work_dir, f"{self._timestamp}.py")
        self.cfg.dump(path)


def _is_config(schedulers: Any) -> bool:
    from piston.optim import _ParamScheduler

    items = list(schedulers.values()) if isinstance(schedulers, dict) else schedulers
    if not isinstance(items, (list, tuple)):
        items = [items]
    flat = []
    for item in items:
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    return any(not isinstance(item, _ParamScheduler) for item in flat)
