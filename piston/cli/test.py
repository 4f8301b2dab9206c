"""``piston test CONFIG CHECKPOINT``: evaluate a checkpoint with the config's test settings."""

from __future__ import annotations

import argparse
from typing import Any

from .train import add_common_arguments, build_runner, load_config, run_with_clear_errors

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``test`` on the ``piston`` command's subparsers."""
    parser = subparsers.add_parser(
        "test", help="test a checkpoint", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", help="test config file path")
    parser.add_argument("checkpoint", help="checkpoint file (path or URL)")
    add_common_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Entry point of ``piston test``; returns the exit status."""

    def body() -> int:
        cfg = load_config(args)
        cfg.load_from = args.checkpoint
        cfg.resume = False
        build_runner(cfg).test()
        return 0

    return run_with_clear_errors(body, "test", args)
