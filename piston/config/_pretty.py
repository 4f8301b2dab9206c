"""``Config.pretty_text``: the config as Python source that reloads to an equal config.

Keys are sorted; dicts with identifier keys render as ``dict(k=v)``, others as ``{'k': v}``;
non-empty lists and tuples take one item per line (each followed by a comma, so yapf keeps them
split).
Classes and functions (``type=SGD`` in a dict given from Python) and lazy-import objects render
as their dotted import path in quotes, which ``build_from_cfg`` resolves back to the object.
With yapf installed (imported on use only) the text is formatted by yapf; otherwise a plain
formatter keeps a dict on one line when it fits in 79 columns and holds no list or tuple, and
puts one item per line when it does not. ``format_python_code=False`` gives the text as handed to
yapf (``key=value`` lines, every item on its own line).
"""

from __future__ import annotations

import ast
import keyword
import math
from typing import Any

from .lazy import LazyAttr, LazyObject

LINE_WIDTH = 79  # pep8, the column limit yapf applies too
INDENT = 4
YAPF_STYLE = {
    "based_on_style": "pep8",
    "blank_line_before_nested_class_or_def": True,
    "split_before_expression_after_opening_paren": True,
}


def _is_identifier(key: Any) -> bool:
    return isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)


def _scalar(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    if value is None or isinstance(value, (bool, int, float, str, bytes, complex)):
        return repr(value)
    if isinstance(value, (LazyObject, LazyAttr)):
        return repr(str(value))
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__")):
        module = getattr(value, "__module__", None)
        name = f"{module}.{value.__qualname__}" if module else value.__qualname__
        return repr(name)
    return repr(str(value))


def _normalize(value: Any) -> Any:
    """numpy scalars → Python scalars, arrays → lists (they have no literal form)."""
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _items(value: Any) -> tuple[str, str, list[tuple[str, Any]]] | None:
    """``(open, close, [(prefix, item), ...])`` for containers, None for scalars."""
    if isinstance(value, dict):
        keys = sorted(value, key=str)
        if all(_is_identifier(k) for k in keys):
            return "dict(", ")", [(f"{k}=", dict.__getitem__(value, k)) for k in keys]
        return "{", "}", [(f"{k!r}: ", dict.__getitem__(value, k)) for k in keys]
    if isinstance(value, list):
        return "[", "]", [("", v) for v in value]
    if isinstance(value, tuple):
        return "(", ")", [("", v) for v in value]
    if isinstance(value, (set, frozenset)) and value:
        return "{", "}", [("", v) for v in sorted(value, key=repr)]
    return None


def _flat(value: Any) -> str:
    value = _normalize(value)
    spec = _items(value)
    if spec is None:
        if isinstance(value, (set, frozenset)):
            return "set()"
        return _scalar(value)
    start, end, items = spec
    body = ", ".join(prefix + _flat(item) for prefix, item in items)
    if isinstance(value, tuple) and len(items) == 1:
        body += ","
    return f"{start}{body}{end}"


def _has_sequence(value: Any) -> bool:
    """Whether ``value`` is or holds a non-empty list/tuple (those always take one line per item)."""
    value = _normalize(value)
    if isinstance(value, (list, tuple)):
        return bool(value)
    if isinstance(value, dict):
        return any(_has_sequence(v) for v in dict.values(value))
    return False


def _format(value: Any, indent: int, used: int, width: int, tail: int = 0) -> str:
    """Plain formatter: ``value`` starts at column ``used`` on a line indented by ``indent``.

    Non-empty lists/tuples always take one item per line; dicts stay on one line when they fit in
    ``width`` (with ``tail`` more characters after it) and hold no such sequence. Split
    containers end with a trailing comma.
    """
    value = _normalize(value)
    flat = _flat(value)
    spec = _items(value)
    if spec is None or not spec[2]:
        return flat
    fits = used + len(flat) + tail <= width
    if fits and not isinstance(value, (list, tuple)) and not _has_sequence(value):
        return flat
    start, end, items = spec
    pad = " " * (indent + INDENT)
    lines = [
        pad + prefix + _format(item, indent + INDENT, indent + INDENT + len(prefix), width, 1) + ","
        for prefix, item in items
    ]
    return start + "\n" + "\n".join(lines) + "\n" + " " * indent + end


def plain_text(cfg: dict, width: int = LINE_WIDTH) -> str:
    """Python source for ``cfg`` without yapf: one ``key = value`` statement per top-level key."""
    lines = []
    for key in sorted(cfg, key=str):
        prefix = f"{key} = "
        lines.append(prefix + _format(dict.__getitem__(cfg, key), 0, len(prefix), width))
    return "\n".join(lines) + "\n" if lines else ""


def _raw(value: Any, indent: int) -> str:
    """Unformatted source of ``value``: every container item on its own line.

    Dict items are separated by ``,`` with the closing parenthesis right after the last item, so
    yapf may join them again; list/tuple items each end with ``,``, so yapf keeps one per line.
    """
    value = _normalize(value)
    spec = _items(value)
    if spec is None or not spec[2]:
        return _flat(value)
    start, end, items = spec
    pad = " " * (indent + INDENT)
    body = [pad + prefix + _raw(item, indent + INDENT) for prefix, item in items]
    if isinstance(value, dict):
        return start + "\n" + ",\n".join(body) + end
    return start + "\n" + "".join(line + ",\n" for line in body) + " " * indent + end


def raw_text(cfg: dict) -> str:
    """The text handed to yapf (and ``pretty_text`` with ``format_python_code=False``)."""
    lines = [f"{key}={_raw(dict.__getitem__(cfg, key), 0)}" for key in sorted(cfg, key=str)]
    return "\n".join(lines) + "\n" if lines else ""


def pretty_text(cfg: dict, format_python_code: bool = True) -> str:
    """The config dict as formatted Python source (see the module docstring)."""
    if not format_python_code or not cfg:
        return raw_text(cfg)
    try:
        from yapf.yapflib.yapf_api import FormatCode
    except ImportError:
        text = plain_text(cfg)
        try:
            ast.parse(text)
        except SyntaxError as e:
            raise SyntaxError(f"Failed to format the config as Python source: {e}") from e
        return text
    text = raw_text(cfg)
    # yapf output is a function of the text alone: a start-up asks for the same config's
    # ``pretty_text`` several times (dump, log, checkpoint meta, vis backends), ~20 ms each.
    cached = _FORMATTED.get(text)
    if cached is not None:
        return cached
    try:
        formatted = FormatCode(text, style_config=YAPF_STYLE)
    except Exception as e:
        raise SyntaxError(f"Failed to format the config with yapf: {e}\n{text}") from e
    formatted = formatted[0] if isinstance(formatted, tuple) else formatted
    if len(_FORMATTED) >= _FORMATTED_MAX:
        _FORMATTED.pop(next(iter(_FORMATTED)))
    _FORMATTED[text] = formatted
    return formatted


# Formatted text by raw text (oldest dropped first past ``_FORMATTED_MAX`` entries).
_FORMATTED: dict[str, str] = {}
_FORMATTED_MAX = 32
