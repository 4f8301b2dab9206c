"""The ``piston`` command line: ``piston --version``, ``piston config print``, ``piston train``...

Each subcommand is a module ``piston.cli.<name>`` exposing ``add_parser(subparsers)`` and
``run(args) -> int``; :func:`main` adds the ones that exist. Mistakes in user input (a missing
config file, a malformed ``--cfg-options``) print one ``piston: error: ...`` line to stderr and
exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

SUBCOMMANDS = ("config", "train", "test")

#: Exceptions that mean "the user's input is wrong", reported in one line with exit status 2.
USER_ERRORS = (
    FileNotFoundError,
    IsADirectoryError,
    OSError,
    SyntaxError,
    KeyError,
    ValueError,
    TypeError,
    AssertionError,
    ImportError,
    RuntimeError,
)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are a single line on stderr (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def fail(message: object, prog: str = "piston") -> int:
    """Print ``<prog>: error: <message>`` on one line to stderr and return exit status 2."""
    text = " ".join(str(message).split("\n")).strip()
    if isinstance(message, KeyError) and len(message.args) == 1:
        text = str(message.args[0])
    sys.stderr.write(f"{prog}: error: {text}\n")
    return 2


def _subcommand_modules() -> dict[str, ModuleType]:
    modules = {}
    for name in SUBCOMMANDS:
        module_name = f"{__name__}.{name}"
        try:
            modules[name] = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:  # the subcommand exists but one of its imports is missing
                raise
    return modules


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The ``piston`` parser and the subcommand modules it dispatches to."""
    parser = _Parser(prog="piston", description="piston: a PyTorch training engine.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _subcommand_modules()
    for module in modules.values():
        module.add_parser(subparsers)
    return parser, modules


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``piston`` command line with ``argv`` (default ``sys.argv[1:]``); return the status.

    Example:
        >>> main(['--version'])  # doctest: +SKIP
        0.1.0
        0
    """
    parser, modules = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or an argparse error already printed
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    except (ValueError, AssertionError) as e:  # raised by actions such as DictAction
        return fail(e)
    if args.version:
        from piston import __version__

        print(__version__)
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(modules[args.command].run(args) or 0)


__all__ = ["SUBCOMMANDS", "USER_ERRORS", "build_parser", "fail", "main"]
