"""Classic config parsing: ``_base_`` inheritance, text substitutions and the merge rules.

Per file: predefined variables → environment variables → ``{{_base_.x}}`` placeholders → parse
and load every base → evaluate the file (``.py`` executed with ``_base_`` bound to the merged
bases; json/yaml loaded) → swap placeholders for base values → merge the file into its bases.
Errors name the config file, and the key or line, that caused them.
"""

from __future__ import annotations

import ast
import copy
import difflib
import os
import os.path as osp
import re
import uuid
import warnings
from io import StringIO
from types import FunctionType, ModuleType
from typing import Any

from .config_dict import DELETE_KEY, ConfigDict
from .utils import ConfigParsingError, is_lazy_import_source, parse_py_source, syntax_error

BASE_KEY = "_base_"
DEPRECATION_KEY = "_deprecation_"
SUPPORTED_EXTS = (".py", ".json", ".yaml", ".yml")

_ENV_RE = re.compile(r"\{\{['\"]?\s*\$(\w+)\s*:\s*(\S*?)\s*['\"]?\}\}")
_BASE_VAR_RE = re.compile(r"(['\"]?)\{\{\s*" + BASE_KEY + r"\.([\w\.]+)\s*\}\}\1")


def check_extension(filename: str) -> str:
    """Return the extension of ``filename``; unsupported ones raise ``OSError``."""
    ext = osp.splitext(filename)[1]
    if ext not in SUPPORTED_EXTS:
        raise OSError(f"Only py/yml/yaml/json type are supported now! Got {filename}")
    return ext


def substitute_predefined_vars(text: str, filename: str) -> str:
    """Replace ``{{ fileDirname }}``, ``{{ fileBasename }}``, ... with parts of ``filename``."""
    basename = osp.basename(filename)
    values = {
        "fileDirname": osp.dirname(filename),
        "fileBasename": basename,
        "fileBasenameNoExtension": osp.splitext(basename)[0],
        "fileExtname": osp.splitext(basename)[1],
    }
    for key, value in values.items():
        value = value.replace("\\", "/")
        text = re.sub(r"\{\{\s*" + key + r"\s*\}\}", lambda _m, v=value: v, text)
    return text


def substitute_env_vars(text: str, filename: str) -> tuple[str, dict[str, str]]:
    """Replace ``{{$NAME:default}}`` with the environment variable or the default."""
    used: dict[str, str] = {}

    def _replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default)
        if value == "":
            raise KeyError(
                f"{name} is not set in os.environ and {match.group(0)} in {filename} gives no "
                f"default: set {name} or write {{{{${name}:default}}}}"
            )
        used[name] = value
        return value

    return _ENV_RE.sub(_replace, text), used


def pre_substitute_base_vars(text: str) -> tuple[str, dict[str, str]]:
    """Replace each ``{{_base_.a.b}}`` with a quoted unique placeholder string."""
    placeholders: dict[str, str] = {}

    def _replace(match: re.Match) -> str:
        key = f"_piston_base_{uuid.uuid4().hex}"
        placeholders[key] = match.group(2)
        return f'"{key}"'

    return _BASE_VAR_RE.sub(_replace, text), placeholders


def _lookup_base_var(base_cfg: dict, path: str, filename: str) -> Any:
    value: Any = base_cfg
    for part in path.split("."):
        if isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = dict.__getitem__(value, part)
        else:
            raise KeyError(
                f"{{{{_base_.{path}}}}} in {filename}: '{part}' is not found in its base configs"
            )
    return copy.deepcopy(value)


def substitute_base_vars(cfg: Any, placeholders: dict, base_cfg: dict, filename: str) -> Any:
    """Swap placeholder strings in ``cfg`` for deep copies of the base values they name."""
    if isinstance(cfg, str) and cfg in placeholders:
        return _lookup_base_var(base_cfg, placeholders[cfg], filename)
    if isinstance(cfg, dict):
        for key in list(cfg):
            dict.__setitem__(
                cfg, key, substitute_base_vars(cfg[key], placeholders, base_cfg, filename)
            )
        return cfg
    if type(cfg) in (list, tuple):
        return type(cfg)(substitute_base_vars(v, placeholders, base_cfg, filename) for v in cfg)
    return cfg


def merge_a_into_b(a: dict, b: Any, allow_list_keys: bool = False, _path: str = "") -> Any:
    """Merge the child ``a`` into the base ``b`` (a copy of ``b`` is returned).

    Dicts merge recursively unless the child sets ``_delete_=True``; other values replace. With
    ``allow_list_keys``, digit keys index into lists of the base.
    """
    b = b.copy()
    for key, value in dict.items(a):
        if key == DELETE_KEY:
            continue
        key_path = f"{_path}.{key}" if _path else str(key)
        if isinstance(b, list):
            if not (allow_list_keys and isinstance(key, str) and key.isdigit()):
                raise TypeError(
                    f"{key_path}: the base value is a list, so the key must be a list index "
                    f"and allow_list_keys=True, but got key {key!r}"
                )
            index = int(key)
            if index >= len(b):
                raise KeyError(
                    f"Index {index} exceeds the length of list {_short(b)} (key {key_path}: "
                    f"the list has {len(b)} items, valid indices are 0..{len(b) - 1})"
                )
            old = b[index]
            if isinstance(value, dict) and isinstance(old, (dict, list)):
                b[index] = merge_a_into_b(value, old, allow_list_keys, key_path)
            else:
                b[index] = _strip_delete(value)
            continue
        if isinstance(value, dict) and key in b and not value.get(DELETE_KEY, False):
            old = dict.__getitem__(b, key)
            allowed = (dict, list) if allow_list_keys else dict
            if not isinstance(old, allowed):
                raise TypeError(
                    f"{key_path}={value} in child config cannot inherit from base because "
                    f"{key_path} is a {type(old).__name__} ({_short(old)}) in base config, not a "
                    f"dict. You may set `{DELETE_KEY}=True` in the new dict to replace the base "
                    "value instead of merging into it."
                )
            b[key] = merge_a_into_b(value, old, allow_list_keys, key_path)
        else:
            b[key] = _strip_delete(value)
    return b


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _strip_delete(value: Any) -> Any:
    if isinstance(value, dict):
        return merge_a_into_b(value, ConfigDict())
    return value


def _check_base_key_spelling(cfg: dict, filename: str) -> None:
    for key in cfg:
        if isinstance(key, str) and key != BASE_KEY and "_" in key and key.strip("_") == "base":
            warnings.warn(
                f"{key!r} in {filename} looks like a misspelt `{BASE_KEY}`: nothing is inherited "
                f"and {key!r} is kept as an ordinary key. Write `{BASE_KEY} = [...]` to inherit.",
                stacklevel=3,
            )


def check_delete_keys(cfg: Any, filename: str, _path: str = "", _in_list: bool = False) -> None:
    """Warn about ``_delete_`` keys that cannot work, naming the file and key.

    A misspelt key (``_delete``, ``__delete__``...) would be kept as a config key and reach a
    constructor; a ``_delete_`` inside a list item is meaningless (a child's list replaces the
    base list as a whole), so it is dropped instead of reaching a constructor.
    """
    if isinstance(cfg, dict):
        for key in list(cfg):
            key_path = f"{_path}.{key}" if _path else str(key)
            if key == DELETE_KEY and _in_list:
                dict.pop(cfg, key)
                warnings.warn(
                    f"{key_path} in {filename}: `{DELETE_KEY}` inside a list item has no effect "
                    f"(a list in a child config always replaces the base list as a whole); it "
                    "is ignored. Put `_delete_=True` in a dict, or just write the whole list.",
                    stacklevel=2,
                )
                continue
            if (
                isinstance(key, str)
                and key != DELETE_KEY
                and "_" in key
                and key.strip("_").lower() == "delete"
            ):
                warnings.warn(
                    f"{key_path} in {filename}: {key!r} looks like a misspelt `{DELETE_KEY}`; it "
                    f"is kept as an ordinary key. Write `{DELETE_KEY}=True` to replace the base "
                    "dict instead of merging into it.",
                    stacklevel=2,
                )
            check_delete_keys(dict.__getitem__(cfg, key), filename, key_path, _in_list)
    elif isinstance(cfg, (list, tuple)):
        for index, item in enumerate(cfg):
            check_delete_keys(item, filename, f"{_path}.{index}", True)


def _load_data_file(text: str, ext: str, filename: str) -> dict:
    from piston.fileio import load

    try:
        data = load(StringIO(text), file_format=ext[1:])
    except ValueError as e:  # json.JSONDecodeError
        raise syntax_error(filename, getattr(e, "lineno", None), str(e)) from None
    except Exception as e:
        mark = getattr(e, "problem_mark", None)
        if mark is None:
            raise
        problem = getattr(e, "problem", None) or str(e)
        raise syntax_error(filename, mark.line + 1, problem) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise TypeError(f"config file {filename} must hold a mapping, but holds {type(data)}")
    return data


def _py_base_files(tree: ast.Module, filename: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == BASE_KEY for t in node.targets
        ):
            try:
                return _as_list(ast.literal_eval(node.value), filename)
            except ValueError:
                raise ConfigParsingError(
                    f"{filename}, line {node.lineno}: `_base_` must be a string or a list of "
                    "strings written literally"
                ) from None
    return []


def _as_list(bases: Any, filename: str) -> list[str]:
    if isinstance(bases, str):
        return [bases]
    if isinstance(bases, (list, tuple)) and all(isinstance(b, str) for b in bases):
        return list(bases)
    raise TypeError(f"_base_ in {filename} must be a str or a list of str, but got {bases!r}")


def resolve_base_path(base: str, filename: str) -> tuple[str, str | None]:
    """Absolute path of the base ``base`` requested by ``filename`` (and its package scope)."""
    if "::" in base:
        from ._package import resolve_package_base

        return resolve_package_base(base, filename), base.split("::", 1)[0]
    path = osp.abspath(osp.expanduser(osp.join(osp.dirname(filename), base)))
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"base config {base!r} requested by {filename} was not found: looked for {path}"
            f"{_missing_file_hint(path)}. `_base_` paths are relative to the config's folder."
        )
    if osp.splitext(path)[1] not in SUPPORTED_EXTS:
        raise OSError(
            f"Only py/yml/yaml/json type are supported now! Got base config {base!r} "
            f"requested by {filename}"
        )
    return path, None


def _missing_file_hint(path: str) -> str:
    folder = osp.dirname(path)
    if not osp.isdir(folder):
        return f" (the folder {folder} does not exist)"
    names = [n for n in os.listdir(folder) if osp.splitext(n)[1] in SUPPORTED_EXTS]
    close = difflib.get_close_matches(osp.basename(path), names, n=3, cutoff=0.75)
    return f" (did you mean {', '.join(repr(n) for n in close)}?)" if close else ""


def _add_scope(cfg: Any, scope: str, has_scope: bool = True) -> Any:
    """Give the outermost dicts with a ``type`` (on every path, lists included) ``_scope_``.

    Used on a base config from another package (``pkg::path``) so that its components are built
    from that package's registries: ``model``, ``train_dataloader.dataset``, each entry of
    ``param_scheduler``... An existing ``_scope_`` is kept.
    """
    if isinstance(cfg, dict):
        if has_scope and "type" in cfg:
            has_scope = False
            if dict.get(cfg, "_scope_") is None:
                cfg["_scope_"] = scope
        for value in dict.values(cfg):
            _add_scope(value, scope, has_scope)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            _add_scope(value, scope, has_scope)
    return cfg


def _exec_py(tree: ast.Module, filename: str, base_cfg: ConfigDict) -> dict:
    tree.body = [
        node
        for node in tree.body
        if not (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == BASE_KEY for t in node.targets)
        )
    ]
    namespace: dict[str, Any] = {BASE_KEY: base_cfg, "__file__": filename}
    try:
        exec(compile(tree, filename, "exec"), namespace)
    except Exception as e:
        name = getattr(e, "name", None) if isinstance(e, NameError) else None
        hint = ""
        if name is not None and name in base_cfg:
            hint = (
                f"; {name!r} is defined in a base config: refer to it as _base_.{name} "
                f"(or {{{{_base_.{name}}}}} as a whole value)"
            )
        located = with_location(e, filename, hint)
        if located is e:
            raise
        raise located from e
    return {
        key: value
        for key, value in namespace.items()
        if key != BASE_KEY
        and not key.startswith("__")
        and not isinstance(value, (ModuleType, FunctionType))
    }


def with_location(error: Exception, filename: str, hint: str = "") -> Exception:
    """An exception of the same type whose message names the config file and line."""
    lineno, tb = None, error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    where = f"{filename}, line {lineno}" if lineno else filename
    message = error.args[0] if len(error.args) == 1 else str(error)
    try:
        new = type(error)(f"{message} (while executing config file {where}){hint}")
    except Exception:
        return error
    return new


def file_to_dict(
    filename: str,
    use_predefined_variables: bool = True,
    use_environment_variables: bool = True,
    _chain: tuple[str, ...] = (),
) -> tuple[ConfigDict, str, dict[str, str]]:
    """Parse a classic config file and its bases into ``(cfg_dict, text, env_variables)``."""
    filename = osp.abspath(osp.expanduser(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f"config file {filename} does not exist")
    ext = check_extension(filename)
    if filename in _chain:
        cycle = " -> ".join((*_chain, filename))
        raise ConfigParsingError(f"circular _base_ inheritance: {cycle}")
    with open(filename, encoding="utf-8") as f:
        original = f.read()
    text = original
    if use_predefined_variables:
        text = substitute_predefined_vars(text, filename)
    env_variables: dict[str, str] = {}
    if use_environment_variables:
        text, env_variables = substitute_env_vars(text, filename)
    text, placeholders = pre_substitute_base_vars(text)

    if ext == ".py":
        tree = parse_py_source(text, filename)
        base_files = _py_base_files(tree, filename)
    else:
        data = _load_data_file(text, ext, filename)
        base_files = _as_list(data.pop(BASE_KEY, []), filename)

    base_cfg, base_texts, owners = ConfigDict(), [], {}
    for base in base_files:
        path, scope = resolve_base_path(base, filename)
        if path.endswith(".py"):
            with open(path, encoding="utf-8") as f:
                if is_lazy_import_source(f.read(), path):
                    raise ConfigParsingError(
                        f"{filename} inherits (_base_) from {path}, a lazy-import config; "
                        "classic and lazy-import (read_base) configs cannot be mixed"
                    )
        sub_cfg, sub_text, sub_env = file_to_dict(
            path, use_predefined_variables, use_environment_variables, (*_chain, filename)
        )
        if scope is not None:
            _add_scope(sub_cfg, scope)
        duplicates = sorted(set(sub_cfg) & set(base_cfg), key=str)
        if duplicates:
            where = ", ".join(f"{k!r} in {owners[k]} and {path}" for k in duplicates)
            raise KeyError(
                f"Duplicate key is not allowed among bases. Duplicate keys: {duplicates} "
                f"({where}; bases of {filename})"
            )
        for key, value in dict.items(sub_cfg):
            dict.__setitem__(base_cfg, key, value)
            owners[key] = path
        base_texts.append(sub_text)
        env_variables.update(sub_env)

    if ext == ".py":
        cfg = _exec_py(tree, filename, copy.deepcopy(base_cfg))
    else:
        cfg = data
    if placeholders:
        cfg = substitute_base_vars(cfg, placeholders, base_cfg, filename)
    _warn_deprecation(cfg, filename)
    check_delete_keys(cfg, filename)
    _check_base_key_spelling(cfg, filename)
    try:
        merged = merge_a_into_b(cfg, base_cfg)
    except (TypeError, KeyError) as e:
        raise type(e)(f"{e.args[0]} (in {filename})") from None
    text = "\n".join([*base_texts, f"{filename}\n{original}"])
    return merged, text, env_variables


def _warn_deprecation(cfg: dict, filename: str) -> None:
    info = cfg.pop(DEPRECATION_KEY, None)
    if not info:
        return
    message = f"The config file {filename} will be deprecated in the future."
    if "expected" in info:
        message += f" Please use {info['expected']} instead."
    if "reference" in info:
        message += f" More information can be found at {info['reference']}"
    warnings.warn(message, DeprecationWarning, stacklevel=4)
