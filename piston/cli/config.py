"""``piston config print CONFIG [--cfg-options KEY=VALUE ...]``: print the resolved config."""

from __future__ import annotations

import argparse
from typing import Any

from piston.config import Config, DictAction


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``config`` subcommand (with its ``print`` action) to ``subparsers``."""
    parser = subparsers.add_parser("config", help="inspect configs")
    actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    printer = actions.add_parser("print", help="print a config with its bases and options merged")
    printer.add_argument("config", help="config file (.py, .json, .yaml or .yml)")
    printer.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config keys, e.g. model.depth=101 'pipeline.0.type=Resize'",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``piston config <action>``; return the exit status."""
    from piston.cli import USER_ERRORS, fail

    try:
        # Printing needs no user code: skip `custom_imports` (they may only resolve under train).
        cfg = Config.fromfile(args.config, import_custom_modules=False)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        text = cfg.pretty_text
    except USER_ERRORS as e:
        return fail(e)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0
