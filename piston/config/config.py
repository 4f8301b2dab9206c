"""``Config``: a parsed config file (or dict) with its source text and formatting options.

Parsing lives in :mod:`._classic` (``_base_`` configs, json/yaml) and :mod:`._lazy_parse`
(pure-Python ``read_base`` configs); rendering in :mod:`._pretty`. ``Config`` itself is a thin
facade: attribute/item access goes to its :class:`ConfigDict`.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import sys
import tempfile
import warnings
from argparse import ArgumentParser
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import _classic
from ._pretty import pretty_text
from .config_dict import ConfigDict
from .dict_action import DictAction
from .utils import RESERVED_KEYS, ConfigParsingError, is_lazy_import_source


class Config:
    """A config: a :class:`ConfigDict` plus the file it came from.

    Args:
        cfg_dict: Content of the config.
        cfg_text: Source text; defaults to the content of ``filename``.
        filename: File the config was read from.
        env_variables: Environment variables used while parsing.
        format_python_code: Whether ``pretty_text`` formats its output.

    Example:
        >>> cfg = Config(dict(model=dict(type='ResNet', depth=50)))
        >>> cfg.model.depth
        50
    """

    def __init__(
        self,
        cfg_dict: dict | None = None,
        cfg_text: str | None = None,
        filename: str | Path | None = None,
        env_variables: dict | None = None,
        format_python_code: bool = True,
    ) -> None:
        filename = str(filename) if isinstance(filename, Path) else filename
        if cfg_dict is None:
            cfg_dict = {}
        elif not isinstance(cfg_dict, dict):
            raise TypeError(f"cfg_dict must be a dict, but got {type(cfg_dict)}")
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f"{key} is reserved for config file; rename that key")
        if not isinstance(cfg_dict, ConfigDict):
            cfg_dict = ConfigDict(cfg_dict)
        if cfg_text is not None:
            text = cfg_text
        elif filename is not None and osp.isfile(filename):
            with open(filename, encoding="utf-8") as f:
                text = f.read()
        else:
            text = ""
        object.__setattr__(self, "_cfg_dict", cfg_dict)
        object.__setattr__(self, "_filename", filename)
        object.__setattr__(self, "_text", text)
        object.__setattr__(self, "_env_variables", dict(env_variables or {}))
        object.__setattr__(self, "_format_python_code", format_python_code)
        object.__setattr__(self, "_imported_names", set())

    # --- construction ----------------------------------------------------------------------
    @staticmethod
    def fromfile(
        filename: str | Path,
        use_predefined_variables: bool = True,
        import_custom_modules: bool = True,
        use_environment_variables: bool = True,
        lazy_import: bool | None = None,
        format_python_code: bool = True,
    ) -> Config:
        """Parse a ``.py``/``.json``/``.yaml``/``.yml`` config file (with its bases).

        Args:
            filename: Path of the config.
            use_predefined_variables: Substitute ``{{ fileDirname }}`` and friends.
            import_custom_modules: Import the modules listed in ``custom_imports``.
            use_environment_variables: Substitute ``{{$NAME:default}}``.
            lazy_import: Parse as a lazy-import (``read_base``) config; None decides from the
                file's content.
            format_python_code: Whether ``pretty_text`` formats its output.
        """
        filename = osp.abspath(osp.expanduser(str(filename)))
        if not osp.isfile(filename):
            raise FileNotFoundError(f"config file {filename} does not exist")
        _classic.check_extension(filename)
        if lazy_import is None and filename.endswith(".py"):
            with open(filename, encoding="utf-8") as f:
                lazy_import = is_lazy_import_source(f.read(), filename)
        if lazy_import and filename.endswith(".py"):
            from ._lazy_parse import parse_lazy_file

            cfg_dict, imported, text = parse_lazy_file(filename)
            cfg = Config(
                cfg_dict, cfg_text=text, filename=filename, format_python_code=format_python_code
            )
            object.__setattr__(cfg, "_imported_names", imported)
        else:
            cfg_dict, text, env_variables = _classic.file_to_dict(
                filename, use_predefined_variables, use_environment_variables
            )
            cfg = Config(
                cfg_dict,
                cfg_text=text,
                filename=filename,
                env_variables=env_variables,
                format_python_code=format_python_code,
            )
        if import_custom_modules and cfg._cfg_dict.get("custom_imports"):
            _import_custom_modules(cfg._cfg_dict["custom_imports"], filename)
        return cfg

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """Parse config text given as a string in ``file_format`` (``.py``/``.json``/...)."""
        if file_format not in _classic.SUPPORTED_EXTS:
            raise OSError(
                f"Only py/yml/yaml/json type are supported now! Got file_format={file_format!r}"
            )
        if file_format != ".py" and "dict(" in cfg_str:
            warnings.warn('Please check "file_format", the file format may be .py', stacklevel=2)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", suffix=file_format, delete=False
        ) as temp_file:
            temp_file.write(cfg_str)
        try:
            return Config.fromfile(temp_file.name)
        finally:
            os.remove(temp_file.name)

    @staticmethod
    def _file2dict(
        filename: str,
        use_predefined_variables: bool = True,
        use_environment_variables: bool = True,
        lazy_import: bool | None = None,
    ) -> tuple[dict, str, dict]:
        """``(cfg_dict, cfg_text, env_variables)`` of a config file (MMEngine's private helper,
        used by some downstream tools)."""
        filename = osp.abspath(osp.expanduser(str(filename)))
        if lazy_import is None and filename.endswith(".py") and osp.isfile(filename):
            with open(filename, encoding="utf-8") as f:
                lazy_import = is_lazy_import_source(f.read(), filename)
        if lazy_import and filename.endswith(".py"):
            from ._lazy_parse import parse_lazy_file

            cfg_dict, _, text = parse_lazy_file(filename)
            return cfg_dict, text, {}
        return _classic.file_to_dict(filename, use_predefined_variables, use_environment_variables)

    @staticmethod
    def _merge_a_into_b(a: dict, b: Any, allow_list_keys: bool = False) -> Any:
        """Merge child ``a`` into base ``b`` with the config merge rules; return the result."""
        return _classic.merge_a_into_b(a, b, allow_list_keys)

    # --- properties ------------------------------------------------------------------------
    @property
    def filename(self) -> str | None:
        """Path of the config file, or None."""
        return self._filename

    @property
    def text(self) -> str:
        """Source text of the config (bases first, each preceded by its path)."""
        return self._text

    @property
    def env_variables(self) -> dict:
        """Environment variables substituted while parsing."""
        return self._env_variables

    @property
    def pretty_text(self) -> str:
        """The config as formatted Python source."""
        return pretty_text(self.to_dict(), self._format_python_code)

    # --- operations ------------------------------------------------------------------------
    def to_dict(self, keep_imported: bool = False) -> dict:
        """Plain nested dict; names bound by imports of lazy configs only with ``keep_imported``."""
        cfg = self._cfg_dict.to_dict()
        if not keep_imported:
            for name in self._imported_names:
                cfg.pop(name, None)
        return cfg

    def merge_from_dict(self, options: dict, allow_list_keys: bool = True) -> None:
        """Merge ``{'a.b.c': value}`` options into the config (digit keys index lists).

        Example:
            >>> cfg = Config(dict(model=dict(backbone=dict(depth=50))))
            >>> cfg.merge_from_dict({'model.backbone.depth': 101})
            >>> cfg.model.backbone.depth
            101
        """
        option_cfg: dict = {}
        for full_key, value in options.items():
            node = option_cfg
            keys = str(full_key).split(".")
            for sub_key in keys[:-1]:
                node = node.setdefault(sub_key, {})
                if not isinstance(node, dict):
                    raise KeyError(f"option {full_key!r} conflicts with another option")
            node[keys[-1]] = value
        try:
            merged = _classic.merge_a_into_b(option_cfg, self._cfg_dict, allow_list_keys)
        except (TypeError, KeyError) as e:
            where = f"config {self.filename}" if self.filename else "the config"
            raise type(e)(
                f"cannot merge the options {options} (e.g. --cfg-options) into {where}: "
                f"{e.args[0] if e.args else e}"
            ) from None
        object.__setattr__(self, "_cfg_dict", ConfigDict(merged))

    def dump(self, file: str | Path | None = None) -> str | None:
        """Write the config to ``file`` (format from its extension) or return it as a string.

        With ``file=None`` the result is ``pretty_text`` for Python configs (or configs without a
        file) and json/yaml text in the source format otherwise.
        """
        from piston.fileio import dump, put_text

        file = str(file) if isinstance(file, Path) else file
        if file is None:
            if self.filename is None or self.filename.endswith(".py"):
                return self.pretty_text
            return dump(_serializable(self.to_dict()), file_format=self.filename.split(".")[-1])
        if file.endswith(".py"):
            put_text(self.pretty_text, file)
        else:
            dump(_serializable(self.to_dict()), file, file_format=file.split(".")[-1])
        return None

    @staticmethod
    def diff(cfg1: Config | str, cfg2: Config | str) -> str:
        """Unified diff of two configs' ``pretty_text`` (paths are loaded), colored for a terminal."""
        import difflib
        import io

        from rich.console import Console
        from rich.text import Text

        texts = [
            (c if isinstance(c, Config) else Config.fromfile(c)).pretty_text for c in (cfg1, cfg2)
        ]
        lines = difflib.unified_diff(
            texts[0].splitlines(keepends=True), texts[1].splitlines(keepends=True)
        )
        buffer = io.StringIO()
        console = Console(file=buffer, force_terminal=True, color_system="standard", width=200)
        for line in lines:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            console.print(Text(line.rstrip("\n"), style=style or ""), highlight=False)
        return buffer.getvalue()

    @staticmethod
    def auto_argparser(description: str | None = None) -> tuple[ArgumentParser, Config]:
        """A parser with a ``config`` positional and a ``--a.b`` option for each config leaf."""
        partial = ArgumentParser(description=description)
        partial.add_argument("config", help="config file path")
        cfg_file = partial.parse_known_args()[0].config
        cfg = Config.fromfile(cfg_file)
        parser = ArgumentParser(description=description)
        parser.add_argument("config", help="config file path")
        add_args(parser, cfg)
        return parser, cfg

    # --- container protocol ----------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "_cfg_dict":
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._cfg_dict.__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        self._cfg_dict.__delattr__(name)

    def __getitem__(self, name: Any) -> Any:
        return self._cfg_dict[name]

    def __setitem__(self, name: Any, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delitem__(self, name: Any) -> None:
        del self._cfg_dict[name]

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __iter__(self) -> Iterator:
        return iter(self._cfg_dict)

    def __contains__(self, name: Any) -> bool:
        return name in self._cfg_dict

    def __repr__(self) -> str:
        return f"Config (path: {self.filename}): {self._cfg_dict.__repr__()}"

    def __getstate__(self) -> tuple:
        return (
            self._cfg_dict,
            self._filename,
            self._text,
            self._env_variables,
            self._format_python_code,
            self._imported_names,
        )

    def __setstate__(self, state: tuple) -> None:
        names = ("_cfg_dict", "_filename", "_text", "_env_variables")
        names += ("_format_python_code", "_imported_names")
        for name, value in zip(names, state):
            object.__setattr__(self, name, value)

    def __copy__(self) -> Config:
        other = type(self).__new__(type(self))
        for key, value in self.__dict__.items():
            object.__setattr__(other, key, value)
        return other

    copy = __copy__

    def __deepcopy__(self, memo: dict) -> Config:
        other = type(self).__new__(type(self))
        memo[id(self)] = other
        for key, value in self.__dict__.items():
            object.__setattr__(other, key, copy.deepcopy(value, memo))
        return other


def _serializable(value: Any) -> Any:
    """Classes and functions (``type=SGD``) become their dotted import path for json/yaml."""
    if isinstance(value, dict):
        return {k: _serializable(v) for k, v in value.items()}
    if type(value) in (list, tuple):
        return type(value)(_serializable(v) for v in value)
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        return f"{value.__module__}.{value.__qualname__}"
    return value


def _import_custom_modules(custom_imports: Any, filename: str) -> None:
    from piston.utils import import_modules_from_strings

    unknown: list = []
    if isinstance(custom_imports, dict):
        unknown = sorted(set(custom_imports) - {"imports", "allow_failed_imports"}, key=str)
    if not isinstance(custom_imports, dict) or unknown or "imports" not in custom_imports:
        raise TypeError(
            f"custom_imports in {filename} must be dict(imports=[...], "
            f"allow_failed_imports=False), but got {custom_imports!r}"
            + (f" (unknown keys: {unknown})" if unknown else "")
        )
    try:
        import_modules_from_strings(**custom_imports)
    except ImportError as e:
        paths = "\n".join(sys.path)
        raise ImportError(
            f"Failed to import custom modules from {custom_imports} (custom_imports in "
            f"{filename}): {e}. The current sys.path is:\n{paths}\nMake sure the modules are "
            "importable (pip install the package or add its folder to PYTHONPATH)."
        ) from e


def add_args(parser: ArgumentParser, cfg: dict, prefix: str = "") -> ArgumentParser:
    """Add a ``--<prefix><key>`` option to ``parser`` for every leaf of ``cfg``."""
    for key, value in cfg.items():
        option = f"--{prefix}{key}"
        if isinstance(value, str):
            parser.add_argument(option)
        elif isinstance(value, bool):
            parser.add_argument(option, action="store_true")
        elif isinstance(value, (int, float)):
            parser.add_argument(option, type=type(value))
        elif isinstance(value, dict):
            add_args(parser, value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)) and value:
            parser.add_argument(option, type=type(value[0]), nargs="+")
        else:
            warnings.warn(f"cannot parse key {prefix}{key} of type {type(value)}", stacklevel=2)
    return parser


__all__ = ["Config", "ConfigDict", "ConfigParsingError", "DictAction", "add_args"]
