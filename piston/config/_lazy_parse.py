"""Lazy-import (pure Python) configs: ``with read_base(): from .base import *`` and lazy imports.

The file's AST is rewritten before it runs: imports of non-standard-library modules bind
:class:`LazyObject` placeholders (so parsing never imports torch & co.), each ``from ... import``
inside ``with read_base():`` loads that base config into the namespace, and dict displays and
``dict(...)`` calls build :class:`ConfigDict` (so ``model.update(...)`` merges recursively).
"""

from __future__ import annotations

import ast
import importlib.util
import os.path as osp
from types import FunctionType, ModuleType
from typing import Any

from ._classic import with_location
from .config_dict import ConfigDict
from .lazy import LazyObject
from .utils import (
    ConfigParsingError,
    _is_exempt_import,
    _is_read_base,
    is_stdlib_module,
    parse_py_source,
)

_LOAD_BASE = "__piston_load_base__"
_LAZY = "__piston_lazy__"
_DICT = "__piston_dict__"


def _stmt(source: str, like: ast.AST) -> ast.stmt:
    return ast.copy_location(ast.parse(source).body[0], like)


class _Rewriter(ast.NodeTransformer):
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.imported_names: set[str] = set()

    def _where(self, node: ast.AST) -> str:
        return f"{self.filename}, line {getattr(node, 'lineno', '?')}"

    def visit_With(self, node: ast.With) -> list[ast.stmt]:
        if not _is_read_base(node):
            raise ConfigParsingError(
                f"{self._where(node)}: only `with read_base():` is allowed in a config file"
            )
        statements = []
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                raise ConfigParsingError(
                    f"{self._where(stmt)}: only `from ... import ...` statements are allowed "
                    "inside `with read_base():`"
                )
            names = [(alias.name, alias.asname) for alias in stmt.names]
            call = f"{_LOAD_BASE}({stmt.module!r}, {stmt.level}, {names!r}, {stmt.lineno})"
            statements.append(_stmt(call, stmt))
        return statements

    def visit_Import(self, node: ast.Import) -> ast.stmt | list[ast.stmt]:
        if _is_exempt_import(node) or all(is_stdlib_module(a.name) for a in node.names):
            self.imported_names.update((a.asname or a.name).split(".")[0] for a in node.names)
            return node
        statements = []
        for alias in node.names:
            if alias.asname:
                target, module = alias.asname, alias.name
            else:
                target = alias.name.split(".")[0]
                module = alias.name if target == alias.name else [target, alias.name]
            call = f"{target} = {_LAZY}({module!r}, None, {self._where(node)!r})"
            statements.append(_stmt(call, node))
            self.imported_names.add(target)
        return statements

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.stmt | list[ast.stmt]:
        if node.level:
            raise ConfigParsingError(
                f"{self._where(node)}: relative imports (base configs) must be written inside "
                "`with read_base():`"
            )
        if _is_exempt_import(node) or is_stdlib_module(node.module or ""):
            self.imported_names.update(a.asname or a.name for a in node.names if a.name != "*")
            return node
        statements = []
        for alias in node.names:
            if alias.name == "*":
                raise ConfigParsingError(
                    f"{self._where(node)}: `from {node.module} import *` cannot be imported "
                    "lazily; import the names you need"
                )
            target = alias.asname or alias.name
            call = f"{target} = {_LAZY}({node.module!r}, {alias.name!r}, {self._where(node)!r})"
            statements.append(_stmt(call, node))
            self.imported_names.add(target)
        return statements

    def visit_Dict(self, node: ast.Dict) -> ast.Call:
        self.generic_visit(node)
        call = ast.Call(func=ast.Name(id=_DICT, ctx=ast.Load()), args=[node], keywords=[])
        return ast.copy_location(call, node)


def _resolve_base_module(module: str | None, level: int, filename: str, lineno: int) -> str:
    parts = module.split(".") if module else []
    if level:
        folder = osp.dirname(filename)
        for _ in range(level - 1):
            folder = osp.dirname(folder)
    else:
        spec = importlib.util.find_spec(parts[0]) if parts else None
        if spec is None or not spec.submodule_search_locations:
            raise ModuleNotFoundError(
                f"{filename}, line {lineno}: cannot find the package of base config {module!r}"
            )
        folder, parts = next(iter(spec.submodule_search_locations)), parts[1:]
    path = osp.join(folder, *parts)
    if osp.isfile(path + ".py"):
        return path + ".py"
    if osp.isdir(path):
        raise ConfigParsingError(
            f"{filename}, line {lineno}: base config {module!r} is a package ({path}); "
            "import a module file (from .pkg.cfg import *)"
        )
    raise FileNotFoundError(
        f"base config {'.' * level}{module or ''} requested by {filename} (line {lineno}) "
        f"was not found: looked for {path}.py"
    )


def _has_base_assignment(path: str) -> bool:
    with open(path, encoding="utf-8") as f:
        tree = parse_py_source(f.read(), path)
    return any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets)
        for node in tree.body
    )


def parse_lazy_file(
    filename: str, _chain: tuple[str, ...] = ()
) -> tuple[ConfigDict, set[str], str]:
    """Parse a lazy-import config into ``(cfg_dict, imported_names, text)``."""
    filename = osp.abspath(osp.expanduser(filename))
    if filename in _chain:
        raise ConfigParsingError(f"circular read_base import: {' -> '.join((*_chain, filename))}")
    with open(filename, encoding="utf-8") as f:
        source = f.read()
    rewriter = _Rewriter(filename)
    tree = ast.fix_missing_locations(rewriter.visit(parse_py_source(source, filename)))
    imported = rewriter.imported_names
    namespace: dict[str, Any] = {"__file__": filename, "__name__": "__piston_config__"}

    def load_base(module: str | None, level: int, names: list, lineno: int) -> None:
        path = _resolve_base_module(module, level, filename, lineno)
        if _has_base_assignment(path):
            raise ConfigParsingError(
                f"{filename}, line {lineno}: base {path} is a classic (_base_) config; "
                "lazy-import and classic configs cannot be mixed"
            )
        base, base_imported, _ = parse_lazy_file(path, (*_chain, filename))
        if names == [("*", None)]:
            names = [(key, None) for key in base if not str(key).startswith("_")]
        for name, asname in names:
            if name not in base:
                raise ImportError(
                    f"cannot import name {name!r} from base config {path} "
                    f"({filename}, line {lineno})"
                )
            namespace[asname or name] = dict.__getitem__(base, name)
            if name in base_imported:
                imported.add(asname or name)

    injected = {_LOAD_BASE: load_base, _LAZY: LazyObject, _DICT: ConfigDict, "dict": ConfigDict}
    namespace.update(injected)
    previous, ConfigDict.lazy = ConfigDict.lazy, True
    try:
        exec(compile(tree, filename, "exec"), namespace)
    except (ConfigParsingError, ImportError, FileNotFoundError):
        raise
    except Exception as e:
        located = with_location(e, filename)
        if located is e:
            raise
        raise located from e
    finally:
        ConfigDict.lazy = previous
    cfg = {
        key: value
        for key, value in namespace.items()
        if key not in injected
        and not key.startswith("__")
        and not isinstance(value, (ModuleType, FunctionType))
    }
    return ConfigDict(cfg), imported & set(cfg), source
