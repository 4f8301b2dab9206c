"""``FlexibleRunner``: a Runner that hands model building, wrapping and checkpoint I/O to a strategy.

Design note: ``FlexibleRunner`` subclasses ``Runner`` to reuse, unchanged, its loops, hook
registration and dispatch, log processor, message hub, visualizer, dataloader/evaluator/loop
building, config dump and ``load_or_resume`` decision table. What differs (strategy.md §1):
process set-up, seed, logger, work/log dirs come from the strategy (``build_strategy``); the
model stays a config until ``train()``/``val()``/``test()`` calls ``strategy.prepare``; and
checkpoints are written/read by the strategy, with hook callbacks. Strategies are imported
lazily so ``import piston.runner`` stays cheap.
"""

from __future__ import annotations

import copy
import os.path as osp
from typing import Any

import torch.nn as nn

from piston.registry import RUNNERS

from . import _build
from .loops import BaseLoop
from .runner import Runner

__all__ = ["FlexibleRunner"]

_DEFAULT_ENV_CFG = {"dist_cfg": {"backend": "nccl"}}

# Constructor arguments ``from_cfg`` reads with ``cfg.get(name, default)``.
_CFG_ARGS = (
    *(
        (name, None)
        for name in (
            "experiment_name",
            "train_dataloader",
            "optim_wrapper",
            "param_scheduler",
            "train_cfg",
            "val_dataloader",
            "val_evaluator",
            "val_cfg",
            "test_dataloader",
            "test_evaluator",
            "test_cfg",
            "strategy",
            "auto_scale_lr",
            "default_hooks",
            "custom_hooks",
            "data_preprocessor",
            "load_from",
            "launcher",
            "log_processor",
            "visualizer",
        )
    ),
    ("resume", False),
    ("env_cfg", _DEFAULT_ENV_CFG),
    ("log_level", "INFO"),
    ("default_scope", "piston"),
    ("randomness", {"seed": None}),
    ("compile", False),
)


def _batch_size(dataloader: Any) -> int:
    batch_size = getattr(dataloader, "batch_size", None)
    if batch_size is None:
        batch_size = getattr(getattr(dataloader, "batch_sampler", None), "batch_size", 1)
    return int(batch_size or 1)


@RUNNERS.register_module()
class FlexibleRunner(Runner):
    """A runner whose model building, wrapping and checkpoint I/O belong to a strategy.

    Arguments are those of ``Runner`` (``runner.md`` §1) plus ``strategy`` (a
    ``BaseStrategy``, a ``STRATEGIES`` config or None: ``SingleDeviceStrategy`` without a
    launcher, else ``DDPStrategy``) and ``compile`` (bool or ``torch.compile`` kwargs; the
    ``target`` defaults to ``'train_step'``). ``launcher=None`` is inferred from the
    environment and ``resume`` may be a checkpoint path.

    Example:
        >>> runner = FlexibleRunner(model=Net(), work_dir='work_dir',
        ...                         strategy=dict(type='DDPStrategy'), train_dataloader=...,
        ...                         optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        ...                         train_cfg=dict(by_epoch=True, max_epochs=2))
        >>> runner.train()
    """

    def __init__(
        self,
        model: nn.Module | dict,
        *,
        work_dir: str = "work_dirs",
        experiment_name: str | None = None,
        train_dataloader: Any = None,
        optim_wrapper: Any = None,
        param_scheduler: Any = None,
        train_cfg: dict | None = None,
        val_dataloader: Any = None,
        val_evaluator: Any = None,
        val_cfg: dict | None = None,
        test_dataloader: Any = None,
        test_evaluator: Any = None,
        test_cfg: dict | None = None,
        strategy: Any = None,
        auto_scale_lr: dict | None = None,
        default_hooks: dict | None = None,
        custom_hooks: list | None = None,
        data_preprocessor: nn.Module | dict | None = None,
        load_from: str | None = None,
        resume: bool | str = False,
        launcher: str | None = None,
        env_cfg: dict = _DEFAULT_ENV_CFG,
        log_processor: Any = None,
        log_level: str | int = "INFO",
        visualizer: Any = None,
        default_scope: str | None = "piston",
        randomness: dict = {"seed": None},  # noqa: B006 - MMEngine's signature
        compile: bool | dict = False,
        cfg: Any = None,
    ) -> None:
        from piston.dist import infer_launcher

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
        if isinstance(resume, str) and load_from is not None:
            raise ValueError(
                f"resume={resume!r} names a checkpoint, so load_from should be None, but got "
                f"load_from={load_from!r}. Use resume=True with load_from, or resume=<path> alone."
            )
        self._compile = _normalize_compile(compile)

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

        self._launcher = infer_launcher() if launcher is None else launcher
        self._env_cfg = dict(env_cfg if env_cfg is not None else _DEFAULT_ENV_CFG)
        self._randomness_cfg = dict(randomness if randomness is not None else {"seed": None})
        self._log_level = log_level
        if experiment_name is None and self.cfg.filename is not None:
            experiment_name = osp.splitext(osp.basename(self.cfg.filename))[0]
        self._work_dir = osp.abspath(str(work_dir))
        self.strategy = self.build_strategy(strategy, experiment_name=experiment_name)
        # The strategy owns these; the semi-private copies are what hooks read (runner.md).
        self._randomness_cfg = self.strategy._randomness
        self._work_dir = self.strategy.work_dir
        self._log_dir = self.strategy.log_dir
        self._timestamp = self.strategy.timestamp
        self._experiment_name = self.strategy.experiment_name
        self._instance_name = self.strategy._instance_name  # see Runner._global_name

        if default_scope is not None:
            from piston.registry import DefaultScope

            self.default_scope = DefaultScope.get_instance(
                self._instance_name, scope_name=default_scope
            )
        else:
            self.default_scope = None
        self.log_processor = self.build_log_processor(log_processor or {})
        self.logger = self.strategy.logger
        from ._env import format_env_banner

        self.logger.info(format_env_banner(*self.strategy.collect_env()))
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
        self.model = model  # built by ``strategy.prepare`` in train()/val()/test()

        self._hooks: list = []
        self._stage_hooks: dict[str, list] = {}
        self.register_hooks(default_hooks, custom_hooks)
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hooks_info()}")
        self.dump_config()

    @classmethod
    def from_cfg(cls, cfg: Any) -> FlexibleRunner:
        """Build a runner from a full config (``model`` required; ``work_dir`` defaults to
        ``'work_dirs'``, ``launcher`` to None, ``env_cfg`` to ``dict(dist_cfg=dict(backend='nccl'))``).
        """
        from piston.config import Config

        cfg = copy.deepcopy(cfg)
        if not isinstance(cfg, Config):
            cfg = Config(dict(cfg))
        if cfg.get("model") is None:
            raise KeyError("The config has no `model`. Set it in the config file.")
        kwargs = {name: copy.deepcopy(cfg.get(name, default)) for name, default in _CFG_ARGS}
        return cls(
            model=cfg["model"], work_dir=cfg.get("work_dir") or "work_dirs", **kwargs, cfg=cfg
        )

    def build_strategy(self, strategy: Any = None, experiment_name: str | None = None) -> Any:
        """A strategy instance as is; None → Single/DDP by launcher; dicts get the defaults
        ``work_dir``, ``experiment_name``, ``auto_scale_lr``, ``env_kwargs``, ``log_kwargs``."""
        from piston._strategy import BaseStrategy
        from piston.registry import STRATEGIES

        if isinstance(strategy, BaseStrategy):
            return strategy
        if strategy is None:
            name = "SingleDeviceStrategy" if self._launcher == "none" else "DDPStrategy"
            strategy = {"type": name}
        elif not isinstance(strategy, dict):
            raise TypeError(
                "strategy should be a BaseStrategy instance, a dict config or None, but got "
                f"{type(strategy).__name__}: {strategy!r}"
            )
        cfg = copy.deepcopy(dict(strategy))
        cfg.setdefault("work_dir", self._work_dir)
        cfg.setdefault("experiment_name", experiment_name)
        cfg.setdefault("auto_scale_lr", self.auto_scale_lr)
        cfg.setdefault(
            "env_kwargs",
            dict(launcher=self._launcher, randomness=self._randomness_cfg, **self._env_cfg),
        )
        cfg.setdefault("log_kwargs", dict(log_level=self._log_level))
        strategy_type = cfg.get("type")
        type_name = strategy_type if isinstance(strategy_type, str) else strategy_type.__name__
        if type_name.split(".")[-1] == "DeepSpeedStrategy":
            loader = self._train_dataloader
            cfg.setdefault(
                "train_micro_batch_size_per_gpu",
                1 if loader is None else _build._dataloader_batch_size(loader),
            )
        return STRATEGIES.build(cfg)

    # ------------------------------------------------------------------ strategy-owned state
    experiment_name = property(lambda self: self.strategy.experiment_name)
    work_dir = property(lambda self: self.strategy.work_dir)
    log_dir = property(lambda self: self.strategy.log_dir)
    timestamp = property(lambda self: self.strategy.timestamp)
    launcher = property(lambda self: self.strategy.launcher)
    distributed = property(lambda self: self.strategy.distributed)
    rank = property(lambda self: self.strategy.rank)
    world_size = property(lambda self: self.strategy.world_size)
    seed = property(lambda self: self.strategy.seed)
    deterministic = property(lambda self: self.strategy.deterministic)

    @property
    def _rank(self) -> int:  # read by Runner.dump_config
        return self.strategy.rank

    @property
    def _world_size(self) -> int:  # read by Runner.scale_lr
        return self.strategy.world_size

    def set_randomness(
        self, seed: int | None = None, diff_rank_seed: bool = False, deterministic: bool = False
    ) -> None:
        """Re-seed every RNG through the strategy (which owns ``seed``)."""
        self.strategy._randomness.update(
            seed=seed, diff_rank_seed=diff_rank_seed, deterministic=deterministic
        )
        self.strategy._set_randomness(
            seed=seed, diff_rank_seed=diff_rank_seed, deterministic=deterministic
        )

    @property
    def model_name(self) -> str:
        model = self.model
        if isinstance(model, dict):
            model_type = model.get("type")
            return model_type if isinstance(model_type, str) else model_type.__name__
        return type(getattr(model, "module", model)).__name__

    def build_model(self, model: nn.Module | dict) -> nn.Module:
        return self.strategy.build_model(model)

    def build_optim_wrapper(self, optim_wrapper: Any) -> Any:
        return self.strategy.build_optim_wrapper(optim_wrapper, self.model)

    def wrap_model(self, model_wrapper_cfg: dict | None, model: nn.Module) -> nn.Module:
        raise NotImplementedError(
            "FlexibleRunner wraps the model through its strategy; configure "
            "strategy=dict(type='DDPStrategy', model_wrapper=...) instead of wrap_model."
        )

    # ------------------------------------------------------------------ run
    def _check_step(self, name: str, purpose: str) -> None:
        from ._model_setup import unwrap

        if not hasattr(unwrap(self.model), name):
            raise AssertionError(
                f"If you want to {purpose} your model, please make sure your model has "
                f"implemented `{name}` (e.g. subclass piston.model.BaseModel)."
            )

    def train(self) -> nn.Module:
        """Prepare model/optimizer/schedulers through the strategy, load or resume, train."""
        if self._train_loop is None:
            raise RuntimeError(
                "`self._train_loop` should not be None when calling train method. Please "
                "provide `train_dataloader`, `train_cfg`, `optimizer` and `param_scheduler` "
                "arguments when initializing runner."
            )
        self._train_loop = self.build_train_loop(self._train_loop)
        if self._val_loop is not None:
            self._val_loop = self.build_val_loop(self._val_loop)
        loop = self._train_loop
        dispatch_kwargs = dict(
            epoch_length=len(loop.dataloader),
            max_epochs=loop.max_epochs,
            max_iters=loop.max_iters,
            train_micro_batch_size_per_gpu=_batch_size(loop.dataloader),
        )
        prepared = self.strategy.prepare(
            self.model,
            optim_wrapper=self.optim_wrapper,
            param_scheduler=self.param_schedulers,
            compile=self._compile,
            dispatch_kwargs=dispatch_kwargs,
        )
        self.model, self.optim_wrapper = prepared[0], prepared[1]
        self.param_schedulers = prepared[2] if len(prepared) > 2 else None
        from ._model_setup import apply_memory_options

        apply_memory_options(self.model, self.cfg, self.logger)
        self._check_step("train_step", "train")
        if self._val_loop is not None:
            self._check_step("val_step", "validate")
        self.load_or_resume()
        self.call_hook("before_run")
        model = self.train_loop.run()
        self.call_hook("after_run")
        return model

    def _prepare_for_eval(self) -> None:
        dispatch_kwargs = dict(
            init_weights_for_test_or_val=self.cfg.get("init_weights_for_test_or_val", True)
        )
        prepared = self.strategy.prepare(self.model, dispatch_kwargs=dispatch_kwargs)
        self.model = prepared[0] if isinstance(prepared, tuple) else prepared

    def val(self) -> dict:
        """Prepare the model, load or resume, run the val loop once and return the metrics."""
        if self._val_loop is None:
            raise RuntimeError(
                "`self._val_loop` should not be None when calling val method. Please provide "
                "`val_dataloader`, `val_cfg` and `val_evaluator` arguments when initializing "
                "runner."
            )
        self._val_loop = self.build_val_loop(self._val_loop)
        self._prepare_for_eval()
        self.load_or_resume()
        self.call_hook("before_run")
        metrics = self.val_loop.run()
        self.call_hook("after_run")
        return metrics

    def test(self) -> dict:
        """Prepare the model, load or resume, run the test loop once and return the metrics."""
        if self._test_loop is None:
            raise RuntimeError(
                "`self._test_loop` should not be None when calling test method. Please provide "
                "`test_dataloader`, `test_cfg` and `test_evaluator` arguments when "
                "initializing runner."
            )
        self._test_loop = self.build_test_loop(self._test_loop)
        self._prepare_for_eval()
        self.load_or_resume()
        self.call_hook("before_run")
        metrics = self.test_loop.run()
        self.call_hook("after_run")
        return metrics

    # ------------------------------------------------------------------ checkpoints
    def _after_load_callback(self, checkpoint: dict) -> None:
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)

    def load_checkpoint(
        self,
        filename: str,
        map_location: Any = "cpu",
        strict: bool = False,
        revise_keys: list = [(r"^module.", "")],  # noqa: B006 - MMEngine's signature
    ) -> dict:
        """Load weights through the strategy (``after_load_checkpoint`` hooks run first)."""
        return self.strategy.load_checkpoint(
            filename,
            map_location=map_location,
            strict=strict,
            revise_keys=revise_keys,
            callback=self._after_load_callback,
        )

    def resume(
        self,
        filename: str,
        resume_optimizer: bool = True,
        resume_param_scheduler: bool = True,
        map_location: Any = "default",
    ) -> None:
        """Resume the strategy's states, then loop counters, data position and message hub."""
        from ._checkpointing import restore_loop_position

        checkpoint = self.strategy.resume(
            filename,
            resume_optimizer=resume_optimizer,
            resume_param_scheduler=resume_param_scheduler,
            map_location=map_location,
            callback=self._after_load_callback,
        )
        loop = restore_loop_position(self, checkpoint)
        if "message_hub" in checkpoint:
            self.message_hub.load_state_dict(checkpoint["message_hub"])
        self.logger.info(f"resumed epoch: {loop.epoch}, iter: {loop.iter}")

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
        """Collect meta and message hub state and let the strategy write the checkpoint.

        Not rank-gated: the strategy decides which ranks write (FSDP needs all of them).
        """
        from ._checkpointing import (
            check_file_client_args,
            checkpoint_meta,
            checkpoint_path,
            train_state_of,
        )

        check_file_client_args(file_client_args, backend_args)
        meta = checkpoint_meta(self, meta, by_epoch, overwrite=True)
        extra_ckpt: dict[str, Any] = {"meta": meta, "message_hub": self.message_hub.state_dict()}
        train_state = train_state_of(self)
        if train_state is not None:
            extra_ckpt["train_state"] = train_state
        filepath = checkpoint_path(out_dir, filename, backend_args or file_client_args)
        self.strategy.save_checkpoint(
            filepath,
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler,
            extra_ckpt=extra_ckpt,
            callback=lambda checkpoint: self.call_hook(
                "before_save_checkpoint", checkpoint=checkpoint
            ),
        )


def _normalize_compile(compile: Any) -> bool | dict:
    if isinstance(compile, bool):
        return {"target": "train_step"} if compile else False
    if isinstance(compile, dict):
        return {"target": "train_step", **compile}
    raise TypeError(
        f"compile should be a bool or a dict of torch.compile kwargs, but got "
        f"{type(compile).__name__}: {compile!r}"
    )
