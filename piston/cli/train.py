"""``piston train CONFIG``: train from a config file (also under ``torchrun -m piston.cli``).

Options follow the MMEngine ``tools/train.py`` conventions: ``--work-dir``, ``--resume [CKPT]``,
``--amp``, ``--auto-scale-lr``, ``--cfg-options k=v ...`` and ``--launcher``. ``--fast`` turns on
piston's fast path (``cfg.fast = True``: bf16 AMP on CUDA, channels_last, pinned memory,
persistent workers, device prefetching). Without ``--launcher``, the launcher is inferred from
the environment (``torchrun`` sets ``WORLD_SIZE`` → ``pytorch``).
"""

from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from typing import Any

__all__ = ["add_parser", "load_config", "run", "run_with_clear_errors"]

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    from piston.config import DictAction

    parser.add_argument("--work-dir", help="the directory to save logs and checkpoints")
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config entries, e.g. train_cfg.max_epochs=2 optim_wrapper.optimizer.lr=0.1",
    )
    parser.add_argument(
        "--launcher",
        choices=LAUNCHERS,
        default=None,
        help="job launcher (default: inferred from the environment)",
    )
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0, help=argparse.SUPPRESS)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``train`` on the ``piston`` command's subparsers."""
    parser = subparsers.add_parser(
        "train", help="train a model from a config file", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", help="training config file path")
    parser.add_argument(
        "--resume",
        nargs="?",
        type=str,
        const="auto",
        help="resume from CKPT, or from the latest checkpoint in the work_dir when no path is given",
    )
    parser.add_argument("--amp", action="store_true", help="enable automatic mixed precision")
    parser.add_argument("--auto-scale-lr", action="store_true", help="scale the lr by batch size")
    parser.add_argument(
        "--fast", action="store_true", help="fast path: bf16 AMP, channels_last, prefetching"
    )
    add_common_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def load_config(args: argparse.Namespace) -> Any:
    """Read the config, apply ``--cfg-options``, work_dir and launcher."""
    from piston.config import Config

    if not osp.isfile(args.config):
        raise FileNotFoundError(f"config file {args.config!r} does not exist")
    config_dir = osp.dirname(osp.abspath(args.config))
    if config_dir not in sys.path:  # lets `custom_imports` name modules next to the config
        sys.path.insert(0, config_dir)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(args.config))[0])
    launcher = args.launcher
    if launcher is None:
        from piston.dist import infer_launcher

        launcher = infer_launcher()
    cfg.launcher = launcher
    if launcher != "none" and "LOCAL_RANK" not in os.environ:
        os.environ["LOCAL_RANK"] = str(args.local_rank)
    return cfg


def _apply_train_options(cfg: Any, args: argparse.Namespace) -> None:
    if args.amp:
        wrapper = cfg.get("optim_wrapper")
        if not isinstance(wrapper, dict):
            raise KeyError("--amp needs an `optim_wrapper` dict in the config")
        if wrapper.get("type", "OptimWrapper") == "AmpOptimWrapper":
            print("AMP training is already enabled in your config.")
        else:
            if wrapper.get("type", "OptimWrapper") != "OptimWrapper":
                raise ValueError(
                    f"--amp is only supported when the optimizer wrapper type is OptimWrapper, "
                    f"but got {wrapper.get('type')!r}."
                )
            wrapper["type"] = "AmpOptimWrapper"
            wrapper["loss_scale"] = "dynamic"
            from piston.device import get_device

            if get_device() == "cpu" and wrapper.get("dtype") is None:
                # No accelerator: CPU autocast supports bfloat16 only (and needs no scaler).
                wrapper["dtype"] = "bfloat16"
                print("--amp without an accelerator: bfloat16 autocast on the CPU.")
    if args.auto_scale_lr:
        scale = cfg.get("auto_scale_lr")
        if not isinstance(scale, dict) or "base_batch_size" not in scale:
            raise KeyError(
                "--auto-scale-lr needs `auto_scale_lr = dict(base_batch_size=...)` in the config"
            )
        scale["enable"] = True
    if args.resume == "auto":
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.fast:
        cfg.fast = True


def build_runner(cfg: Any) -> Any:
    from piston.registry import RUNNERS
    from piston.runner import Runner

    if "runner_type" in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def run_with_clear_errors(body: Any, command: str, args: Any = None) -> int:
    """Run ``body()``; user mistakes print one ``piston <command>: error: ...`` line (status 2).

    When the error was raised while building one part of the config, the line names that part,
    the config file (``args.config``) and the ``--cfg-options`` that changed it. Set
    ``PISTON_TRACEBACK=1`` to see the full traceback instead.
    """
    from piston.cli import USER_ERRORS, fail

    if os.environ.get("PISTON_TRACEBACK"):
        return body()
    try:
        return body()
    except USER_ERRORS as err:
        message = err.args[0] if isinstance(err, KeyError) and len(err.args) == 1 else err
        return fail(
            f"{type(err).__name__}: {message}{_where(err, args)} "
            "(set PISTON_TRACEBACK=1 for the traceback)",
            prog=f"piston {command}",
        )


def _where(err: BaseException, args: Any) -> str:
    """`` [in `section` of FILE; --cfg-options k=v]`` for an error raised while building."""
    from piston.runner._sections import section_of

    section = section_of(err)
    if section is None:
        return ""
    where = f"`{section}`"
    config = getattr(args, "config", None)
    if config:
        where += f" of {config}"
    root = section.split("[")[0]  # custom_hooks[1] -> custom_hooks
    options = [
        f"{key}={value!r}"
        for key, value in (getattr(args, "cfg_options", None) or {}).items()
        if key == root or key.startswith(f"{root}.") or root.startswith(f"{key}.")
    ]
    if options:
        where += f"; changed by --cfg-options {' '.join(options)}"
    return f" [in {where}]"


def run(args: argparse.Namespace) -> int:
    """Entry point of ``piston train``; returns the exit status."""

    def body() -> int:
        cfg = load_config(args)
        _apply_train_options(cfg, args)
        build_runner(cfg).train()
        return 0

    return run_with_clear_errors(body, "train", args)
