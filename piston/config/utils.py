"""Helpers shared by the config parsers: errors, ``read_base``, parse-mode detection."""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_TEMPLATE_RE = re.compile(r"\{\{[^{}\n]*\}\}")
RESERVED_KEYS = ("filename", "text", "pretty_text", "env_variables")


class ConfigParsingError(RuntimeError):
    """Raised when a config cannot be parsed (mixed modes, unsupported syntax, ...)."""


@contextmanager
def read_base() -> Iterator[None]:
    """Mark the base-config imports of a lazy-import (pure Python) config. A no-op at runtime.

    Example:
        >>> with read_base():  # doctest: +SKIP
        ...     from .base import *
    """
    yield


def is_stdlib_module(name: str) -> bool:
    """Whether the top-level package of ``name`` is built-in or part of the standard library."""
    top = name.split(".")[0]
    return top in sys.builtin_module_names or top in sys.stdlib_module_names


def _is_exempt_import(node: ast.Import | ast.ImportFrom) -> bool:
    """Imports of piston's own config API do not switch a config to lazy mode."""
    if isinstance(node, ast.ImportFrom):
        if node.level or node.module is None:
            return False
        if node.module == "piston.config" or node.module.startswith("piston.config."):
            return True
        return node.module == "piston" and all(a.name == "Config" for a in node.names)
    return all(a.name == "piston.config" for a in node.names)


def is_lazy_import_node(node: ast.AST) -> bool | None:
    """Whether ``node`` decides the parse mode: True → lazy, False → classic, None → neither."""
    if isinstance(node, ast.Assign):
        if any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            return False
    elif isinstance(node, ast.With):
        if _is_read_base(node):
            return True
        raise ConfigParsingError(
            f"line {node.lineno}: a config file may only use `with read_base():`, "
            "no other with-statement"
        )
    elif isinstance(node, ast.ImportFrom):
        if node.level or not (_is_exempt_import(node) or is_stdlib_module(node.module or "")):
            return True
    elif isinstance(node, ast.Import) and not (
        _is_exempt_import(node) or all(is_stdlib_module(a.name) for a in node.names)
    ):
        return True
    return None


def _is_read_base(node: ast.With) -> bool:
    for item in node.items:
        expr = item.context_expr
        if isinstance(expr, ast.Call):
            func = expr.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name == "read_base":
                return True
    return False


def parse_py_source(source: str, filename: str) -> ast.Module:
    """``ast.parse`` whose SyntaxError names the config file and line."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as e:
        raise syntax_error(filename, e.lineno, e.msg, e.text, e.offset) from None


def syntax_error(
    filename: str, lineno: int | None, msg: str, text: str | None = None, offset: int | None = None
) -> SyntaxError:
    """A SyntaxError that prints as ``<what> in config file <path> (<name>, line N)``."""
    return SyntaxError(f"{msg} in config file {filename}", (filename, lineno, offset, text))


def is_lazy_import_source(source: str, filename: str) -> bool:
    """Walk the AST breadth first; the first decisive node picks the mode (classic default)."""
    # ``{{ ... }}`` templates need not be valid Python before substitution.
    tree = parse_py_source(_TEMPLATE_RE.sub("None", source), filename)
    for node in ast.walk(tree):
        try:
            decision = is_lazy_import_node(node)
        except ConfigParsingError as e:
            raise ConfigParsingError(f"{filename}, {e}") from None
        if decision is not None:
            return decision
    return False
