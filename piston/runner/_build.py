"""Building runner components from configs: plain functions behind the ``Runner.build_*`` facade.

Configs become objects here, once, at the edge (STYLE.md). Every function accepts an already
built object and returns it unchanged, so the loops and hooks below only ever see real objects.
"""

from __future__ import annotations

import copy
from functools import partial
from typing import Any

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop

__all__ = [
    "check_runner_args",
    "build_eval_loop",
    "build_train_loop",
    "check_group",
    "build_dataloader",
    "build_evaluator",
    "build_log_processor",
    "build_optim_wrapper",
    "build_param_scheduler",
    "build_visualizer",
    "check_param_scheduler_cfg",
    "scale_lr",
    "wrap_model",
]


class _FixedLengthDataset(torch.utils.data.Dataset):
    """View of a dataset whose ``len`` is capped (``num_batch_per_epoch``); indexing unchanged."""

    def __init__(self, dataset: Any, length: int) -> None:
        self.dataset = dataset
        self._length = min(length, len(dataset))

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":  # not yet set (e.g. during unpickling)
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, idx: int) -> Any:
        return self.dataset[idx]

    def __len__(self) -> int:
        return self._length


def build_dataloader(
    dataloader: DataLoader | dict,
    seed: int | None = None,
    diff_rank_seed: bool = False,
) -> DataLoader:
    """Build a ``DataLoader`` from a config dict (runner.md §3); a DataLoader is returned as is."""
    if isinstance(dataloader, DataLoader):
        return dataloader
    if not isinstance(dataloader, dict):
        raise TypeError(
            f"dataloader should be a DataLoader or a dict, but got {type(dataloader).__name__}."
        )
    from piston.dist import get_rank, get_world_size
    from piston.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS

    cfg = copy.deepcopy(dataloader)
    if "dataset" not in cfg:
        raise KeyError(
            "The dataloader config has no `dataset` key. Add e.g. dataset=dict(type=..., ...)."
        )
    dataset_cfg = cfg.pop("dataset")
    if isinstance(dataset_cfg, dict):
        dataset = DATASETS.build(dataset_cfg)
        if hasattr(dataset, "full_init"):
            dataset.full_init()
    else:
        dataset = dataset_cfg

    num_batch_per_epoch = cfg.pop("num_batch_per_epoch", None)
    if num_batch_per_epoch is not None:
        world_size = get_world_size()
        dataset = _FixedLengthDataset(dataset, num_batch_per_epoch * cfg["batch_size"] * world_size)

    if "sampler" not in cfg:
        raise KeyError(
            "The dataloader config has no `sampler` key. Add e.g. "
            "sampler=dict(type='DefaultSampler', shuffle=True)."
        )
    sampler_cfg = cfg.pop("sampler")
    if isinstance(sampler_cfg, dict):
        sampler_seed = None if diff_rank_seed else seed
        sampler = DATA_SAMPLERS.build(
            sampler_cfg, default_args={"dataset": dataset, "seed": sampler_seed}
        )
    else:
        sampler = sampler_cfg

    batch_sampler_cfg = cfg.pop("batch_sampler", None)
    if batch_sampler_cfg is None:
        batch_sampler = None
    elif isinstance(batch_sampler_cfg, dict):
        batch_sampler = DATA_SAMPLERS.build(
            batch_sampler_cfg,
            default_args={"sampler": sampler, "batch_size": cfg.pop("batch_size")},
        )
    else:
        batch_sampler = batch_sampler_cfg

    worker_init_cfg = cfg.pop("worker_init_fn", None)
    disable_warning = cfg.pop("disable_subprocess_warning", False)
    if worker_init_cfg is not None:
        worker_init_cfg = dict(worker_init_cfg)
        fn = worker_init_cfg.pop("type")
        if isinstance(fn, str):
            name, fn = fn, FUNCTIONS.get(fn)
            if fn is None:
                raise KeyError(
                    f"worker_init_fn type {name!r} is not registered in FUNCTIONS. Register it "
                    "with @FUNCTIONS.register_module() or pass the function itself as `type`."
                )
        if not callable(fn):
            raise TypeError(f"worker_init_fn type must be a function name or callable, got {fn!r}")
        init_fn = partial(fn, **worker_init_cfg)
    elif seed is not None:
        from piston.dataset import worker_init_fn

        init_fn = partial(
            worker_init_fn,
            num_workers=cfg.get("num_workers", 0),
            rank=get_rank(),
            seed=seed,
            disable_subprocess_warning=disable_warning,
        )
    else:
        init_fn = None

    collate_cfg = cfg.pop("collate_fn", {"type": "pseudo_collate"})
    if isinstance(collate_cfg, dict):
        collate_cfg = dict(collate_cfg)
        collate_type = collate_cfg.pop("type")
        if isinstance(collate_type, str):
            collate_fn = FUNCTIONS.get(collate_type)
            if collate_fn is None:
                raise KeyError(
                    f"collate_fn type {collate_type!r} is not registered in FUNCTIONS. "
                    "Use 'pseudo_collate', 'default_collate' or a callable."
                )
        else:
            collate_fn = collate_type
        collate_fn = partial(collate_fn, **collate_cfg)
    elif callable(collate_cfg):
        collate_fn = collate_cfg
    else:
        raise TypeError(f"collate_fn should be a dict or callable object, but got {collate_cfg!r}")

    # DESIGN.md §3: host-to-device copies come from pinned memory when CUDA is used.
    cfg.setdefault("pin_memory", torch.cuda.is_available())
    if not cfg.get("num_workers", 0):
        # torch rejects these without workers; a `--cfg-options num_workers=0` must still run.
        if cfg.get("persistent_workers"):
            cfg["persistent_workers"] = False
        cfg.pop("prefetch_factor", None)
    return DataLoader(
        dataset=dataset,
        sampler=sampler if batch_sampler is None else None,
        batch_sampler=batch_sampler,
        collate_fn=collate_fn,
        worker_init_fn=init_fn,
        **cfg,
    )


def build_optim_wrapper(optim_wrapper: Any, model: nn.Module) -> Any:
    """Build an ``OptimWrapper`` (or ``OptimWrapperDict``) from a config (runner.md §2)."""
    from piston.optim import OptimWrapper, OptimWrapperDict
    from piston.optim import build_optim_wrapper as _build
    from piston.registry import OPTIM_WRAPPERS

    if isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
        return optim_wrapper
    if not isinstance(optim_wrapper, dict):
        raise TypeError(
            "optimizer wrapper should be an OptimWrapper object or dict, but got "
            f"{type(optim_wrapper).__name__}: {optim_wrapper!r}"
        )
    optimizer = optim_wrapper.get("optimizer")
    if isinstance(optimizer, torch.optim.Optimizer):
        cfg = dict(optim_wrapper)
        cfg.setdefault("type", "OptimWrapper")
        return OPTIM_WRAPPERS.build(cfg)
    if optimizer is not None or "constructor" in optim_wrapper:
        return _build(model, optim_wrapper)
    wrappers = {}
    for name, wrapper in optim_wrapper.items():
        if not isinstance(wrapper, OptimWrapper):
            raise ValueError(
                "each item of an optim_wrapper dict without `optimizer`/`constructor` must be an "
                f"OptimWrapper, but got {name}: {type(wrapper).__name__}. Add an `optimizer` "
                "key, or pass built OptimWrapper objects."
            )
        wrappers[name] = wrapper
    return OptimWrapperDict(**wrappers)


def check_param_scheduler_cfg(param_scheduler: Any) -> None:
    """Validate the shape of a ``param_scheduler`` argument (runner.md §1)."""
    from piston.optim import _ParamScheduler

    if param_scheduler is None or isinstance(param_scheduler, _ParamScheduler):
        return
    if isinstance(param_scheduler, (list, tuple)):
        for item in param_scheduler:
            if isinstance(item, _ParamScheduler):
                continue
            if isinstance(item, dict):
                if "type" not in item:
                    raise AssertionError(
                        f"Each parameter scheduler config must have a `type` key, but got {item}"
                    )
                continue
            raise TypeError(
                "param_scheduler items should be schedulers or dicts, but got "
                f"{type(item).__name__}: {item!r}"
            )
        return
    if isinstance(param_scheduler, dict):
        if "type" in param_scheduler:
            return
        for name, value in param_scheduler.items():
            if not isinstance(value, (dict, list, tuple, _ParamScheduler)):
                raise TypeError(
                    f"param_scheduler[{name!r}] should be a dict, list or scheduler, but got "
                    f"{type(value).__name__}"
                )
            if isinstance(value, (list, tuple)):
                check_param_scheduler_cfg(value)
        return
    raise TypeError(
        "param_scheduler should be a scheduler, a list of schedulers, a dict or a list of "
        f"dicts, but got {type(param_scheduler).__name__}: {param_scheduler!r}"
    )


def _build_scheduler_list(
    scheduler: Any,
    optim_wrapper: Any,
    end: int | None,
    by_epoch_end: int | None,
    epoch_length: int | None,
) -> list:
    from piston.optim import _ParamScheduler
    from piston.registry import PARAM_SCHEDULERS

    items = scheduler if isinstance(scheduler, (list, tuple)) else [scheduler]
    built = []
    for item in items:
        if isinstance(item, _ParamScheduler):
            built.append(item)
        elif isinstance(item, dict):
            cfg = copy.deepcopy(item)
            default_end = by_epoch_end if cfg.get("by_epoch", True) else end
            if default_end is not None:
                cfg.setdefault("end", default_end)
            default_args = {"optimizer": optim_wrapper}
            if epoch_length is not None:
                default_args["epoch_length"] = epoch_length
            built.append(PARAM_SCHEDULERS.build(cfg, default_args=default_args))
        else:
            raise TypeError(
                "scheduler should be a _ParamScheduler object or dict, but got "
                f"{type(item).__name__}: {item!r}"
            )
    return built


def build_param_scheduler(
    scheduler: Any,
    optim_wrapper: Any,
    max_epochs: int | None = None,
    max_iters: int | None = None,
    epoch_length: int | None = None,
) -> list | dict:
    """Build schedulers for one wrapper (a list) or an ``OptimWrapperDict`` (a dict of lists)."""
    from piston.optim import OptimWrapper, OptimWrapperDict

    if isinstance(optim_wrapper, OptimWrapper) and not isinstance(optim_wrapper, OptimWrapperDict):
        return _build_scheduler_list(scheduler, optim_wrapper, max_iters, max_epochs, epoch_length)
    if not isinstance(optim_wrapper, OptimWrapperDict):
        raise TypeError(
            "build_param_scheduler must be called after build_optim_wrapper; got optim_wrapper "
            f"of type {type(optim_wrapper).__name__}."
        )
    per_optimizer = isinstance(scheduler, dict) and "type" not in scheduler
    result = {}
    for name, wrapper in optim_wrapper.items():
        if per_optimizer:
            if name not in scheduler:
                continue
            cfg = scheduler[name]
        else:
            cfg = scheduler
        result[name] = _build_scheduler_list(cfg, wrapper, max_iters, max_epochs, epoch_length)
    return result


def build_evaluator(evaluator: Any) -> Any:
    """Evaluator as is; dict with ``metrics`` → ``EVALUATOR``; metric cfg or list → ``Evaluator``."""
    from piston.evaluator import Evaluator
    from piston.registry import EVALUATOR

    if isinstance(evaluator, Evaluator):
        return evaluator
    if isinstance(evaluator, dict):
        if "metrics" in evaluator:
            cfg = dict(evaluator)
            cfg.setdefault("type", "Evaluator")
            return EVALUATOR.build(cfg)
        return Evaluator(evaluator)
    if isinstance(evaluator, (list, tuple)):
        return Evaluator(list(evaluator))
    raise TypeError(
        "evaluator should be one of dict, list of dict, and Evaluator, but got "
        f"{type(evaluator).__name__}: {evaluator!r}"
    )


def build_log_processor(log_processor: Any) -> Any:
    from piston.registry import LOG_PROCESSORS

    from .log_processor import LogProcessor

    if isinstance(log_processor, LogProcessor):
        return log_processor
    if not isinstance(log_processor, dict):
        raise TypeError(
            "log processor should be a LogProcessor object or dict, but got "
            f"{type(log_processor).__name__}: {log_processor!r}"
        )
    cfg = copy.deepcopy(log_processor)
    if "type" in cfg:
        return LOG_PROCESSORS.build(cfg)
    return LogProcessor(**cfg)


def build_visualizer(visualizer: Any, name: str, save_dir: str) -> Any:
    from piston.registry import VISUALIZERS
    from piston.visualization import Visualizer

    if visualizer is None:
        return Visualizer.get_instance(
            name=name, vis_backends=[{"type": "LocalVisBackend"}], save_dir=save_dir
        )
    if isinstance(visualizer, Visualizer):
        return visualizer
    if isinstance(visualizer, dict):
        cfg = dict(visualizer)
        cfg.setdefault("name", name)
        cfg.setdefault("save_dir", save_dir)
        return VISUALIZERS.build(cfg)
    raise TypeError(
        "visualizer should be Visualizer object, a dict or None, but got "
        f"{type(visualizer).__name__}: {visualizer!r}"
    )


def wrap_model(
    model: nn.Module, model_wrapper_cfg: dict | None, cfg: Any, distributed: bool, logger: Any
) -> nn.Module:
    """Move ``model`` to the device and wrap it for distributed training (runner.md §2)."""
    from piston.device import get_device
    from piston.model import is_model_wrapper, revert_sync_batchnorm
    from piston.registry import MODEL_WRAPPERS

    if is_model_wrapper(model):
        if model_wrapper_cfg is not None:
            raise TypeError(
                "model has been wrapped and `model_wrapper_cfg` should be None, but got "
                f"{model_wrapper_cfg}"
            )
        return model
    model = model.to(get_device())
    if not distributed:
        logger.info(
            "Distributed training is not used, all SyncBatchNorm (SyncBN) layers in the model "
            "will be automatically reverted to BatchNormXd layers if they are used."
        )
        return revert_sync_batchnorm(model)
    import os

    sync_bn = cfg.get("sync_bn", None) if cfg is not None else None
    if sync_bn is not None:
        from piston.model import convert_sync_batchnorm

        try:
            model = convert_sync_batchnorm(model, sync_bn)
        except ValueError as err:
            logger.error(f'cfg.sync_bn should be "torch" or "mmcv", but got {sync_bn}')
            raise err
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device_ids = [local_rank] if get_device() == "cuda" else None
    if model_wrapper_cfg is None:
        find_unused = cfg.get("find_unused_parameters", False) if cfg is not None else False
        from piston.model import MMDistributedDataParallel

        return MMDistributedDataParallel(
            module=model,
            device_ids=device_ids,
            broadcast_buffers=False,
            find_unused_parameters=find_unused,
        )
    wrapper_cfg = dict(model_wrapper_cfg)
    wrapper_cfg.setdefault("type", "MMDistributedDataParallel")
    wrapper_type = wrapper_cfg["type"]
    wrapper_cls = (
        MODEL_WRAPPERS.get(wrapper_type) if isinstance(wrapper_type, str) else wrapper_type
    )
    default_args: dict = {"module": model}
    if isinstance(wrapper_cls, type) and issubclass(
        wrapper_cls, torch.nn.parallel.DistributedDataParallel
    ):
        default_args["device_ids"] = device_ids
    return MODEL_WRAPPERS.build(wrapper_cfg, default_args=default_args)


def _dataloader_batch_size(dataloader: Any) -> int:
    if isinstance(dataloader, DataLoader):
        if dataloader.batch_size is not None:
            return dataloader.batch_size
        return dataloader.batch_sampler.batch_size  # type: ignore[union-attr]
    if "batch_size" in dataloader:
        return dataloader["batch_size"]
    return dataloader["batch_sampler"]["batch_size"]


def scale_lr(
    optim_wrapper: Any,
    auto_scale_lr: dict | None,
    world_size: int,
    train_dataloader: Any,
    logger: Any,
) -> None:
    """Linear LR scaling: ``lr *= world_size * batch_size / base_batch_size`` (runner.md §2)."""
    if auto_scale_lr is None or not auto_scale_lr.get("enable", False):
        return
    if "base_batch_size" not in auto_scale_lr:
        raise KeyError(
            'Cannot find "base_batch_size" in auto_scale_lr; set e.g. '
            "auto_scale_lr=dict(enable=True, base_batch_size=256)."
        )
    base = auto_scale_lr["base_batch_size"]
    real = world_size * _dataloader_batch_size(train_dataloader)
    ratio = float(real) / float(base)
    logger.info(
        f"LR is set based on batch size of {base} and the current batch size is {real}. "
        f"Scaling the original LR by {ratio}."
    )
    from piston.optim import OptimWrapperDict

    wrappers = (
        list(optim_wrapper.values())
        if isinstance(optim_wrapper, OptimWrapperDict)
        else [optim_wrapper]
    )
    for wrapper in wrappers:
        # ``wrapper.param_groups`` includes ``base_param_settings`` (the logged ``base_lr``)
        for group in wrapper.param_groups:
            group["lr"] = group["lr"] * ratio


def check_group(names: tuple[str, str, str], values: tuple[Any, Any, Any]) -> None:
    given = [v is not None for v in values]
    if any(given) and not all(given):
        missing = [n for n, g in zip(names, given) if not g]
        present = [n for n, g in zip(names, given) if g]
        raise ValueError(
            f"{', '.join(names)} should be either all None or not None, but got "
            f"{', '.join(f'{n}={v!r}' for n, v in zip(names, values) if v is None)} while "
            f"{', '.join(present)} {'is' if len(present) == 1 else 'are'} set. Provide "
            f"{', '.join(missing)} too, or remove {', '.join(present)}."
        )


def runner_config(cfg: Any) -> Any:
    """The runner's own copy of ``cfg`` as a ``Config`` (an empty one for None)."""
    from piston.config import Config

    if cfg is None:
        return Config({})
    if isinstance(cfg, Config):
        return copy.deepcopy(cfg)
    if isinstance(cfg, dict):
        return Config(copy.deepcopy(dict(cfg)))
    raise TypeError(f"cfg should be a dict, ConfigDict, Config or None, but got {type(cfg)}")


def check_runner_args(
    train_dataloader: Any,
    train_cfg: Any,
    optim_wrapper: Any,
    param_scheduler: Any,
    val_dataloader: Any,
    val_cfg: Any,
    val_evaluator: Any,
    test_dataloader: Any,
    test_cfg: Any,
    test_evaluator: Any,
) -> None:
    """The Runner constructor's consistency checks (runner.md §1)."""
    check_group(
        ("train_dataloader", "train_cfg", "optim_wrapper"),
        (train_dataloader, train_cfg, optim_wrapper),
    )
    check_group(
        ("val_dataloader", "val_cfg", "val_evaluator"), (val_dataloader, val_cfg, val_evaluator)
    )
    check_group(
        ("test_dataloader", "test_cfg", "test_evaluator"),
        (test_dataloader, test_cfg, test_evaluator),
    )
    if param_scheduler is not None and optim_wrapper is None:
        raise ValueError(
            "param_scheduler should be None when optim_wrapper is None, but got "
            f"{param_scheduler}. Configure an optim_wrapper or drop the scheduler."
        )
    check_param_scheduler_cfg(param_scheduler)


def build_train_loop(runner: Any, loop: Any) -> Any:
    """A train loop from a loop object or config (``type=...`` or ``by_epoch=...``)."""
    if isinstance(loop, BaseLoop):
        return loop
    if not isinstance(loop, dict):
        raise TypeError(f"train_loop should be a Loop object or dict, but got {loop}")
    cfg = copy.deepcopy(loop)
    if "type" in cfg and "by_epoch" in cfg:
        raise RuntimeError(
            "Only one of `type` or `by_epoch` can exist in `loop_cfg`; remove one of them "
            f"from train_cfg={loop}."
        )
    if "type" in cfg:
        from piston.registry import LOOPS

        return LOOPS.build(
            cfg, default_args={"runner": runner, "dataloader": runner._train_dataloader}
        )
    if "by_epoch" not in cfg:
        raise KeyError(f"train_cfg={loop} needs `type` (e.g. 'EpochBasedTrainLoop') or `by_epoch`.")
    loop_cls = EpochBasedTrainLoop if cfg.pop("by_epoch") else IterBasedTrainLoop
    return loop_cls(**cfg, runner=runner, dataloader=runner._train_dataloader)


def build_eval_loop(runner: Any, loop: Any, default: type, dataloader: Any, evaluator: Any) -> Any:
    """A val/test loop from a loop object or config; ``default`` when there is no ``type``."""
    if isinstance(loop, BaseLoop):
        return loop
    if not isinstance(loop, dict):
        raise TypeError(
            f"{default.__name__} config should be a Loop object or dict, but got {loop}"
        )
    cfg = copy.deepcopy(loop)
    if "type" in cfg:
        from piston.registry import LOOPS

        return LOOPS.build(
            cfg, default_args={"runner": runner, "dataloader": dataloader, "evaluator": evaluator}
        )
    return default(**cfg, runner=runner, dataloader=dataloader, evaluator=evaluator)
