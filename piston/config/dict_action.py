"""``DictAction``: ``--cfg-options a.b=1 c=[1,2] d=(x,y)`` parsed into a dict on the namespace."""

from __future__ import annotations

import copy
from argparse import Action, ArgumentParser, Namespace
from collections.abc import Sequence
from typing import Any


class DictAction(Action):
    """argparse action turning ``KEY=VALUE`` tokens into a dict.

    Values: ``[...]`` → list, ``(...)`` → tuple, ``a,b`` → list (nesting allowed); scalars try
    int, float, ``true``/``false`` (any case) → bool, ``None`` → None, else str.

    Example:
        >>> parser = ArgumentParser()
        >>> _ = parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        >>> parser.parse_args(['--cfg-options', 'a=1', 'b=[1,(2,3)]']).cfg_options
        {'a': 1, 'b': [1, (2, 3)]}
    """

    @staticmethod
    def _parse_int_float_bool(val: str) -> int | float | bool | str | None:
        try:
            return int(val)
        except ValueError:
            pass
        try:
            return float(val)
        except ValueError:
            pass
        if val.lower() in ("true", "false"):
            return val.lower() == "true"
        if val == "None":
            return None
        return val

    @staticmethod
    def _parse_iterable(val: str) -> Any:
        """Parse ``val`` into a scalar, list or tuple (nested)."""

        def find_next_comma(string: str) -> int:
            if string.count("(") != string.count(")") or string.count("[") != string.count("]"):
                raise AssertionError(f"Imbalanced brackets exist in {string}")
            depth = 0
            for idx, char in enumerate(string):
                if char in "([":
                    depth += 1
                elif char in ")]":
                    depth -= 1
                elif char == "," and depth == 0:
                    return idx
            return len(string)

        val = val.strip("'\"").replace(" ", "")
        is_tuple = False
        if val.startswith("(") and val.endswith(")"):
            is_tuple, val = True, val[1:-1]
        elif val.startswith("[") and val.endswith("]"):
            val = val[1:-1]
        elif "," not in val:
            return DictAction._parse_int_float_bool(val)
        elif find_next_comma(val) == len(val):
            # A single item whose commas are all inside brackets, e.g. ``dict(a=1,b=2)``: it is
            # not a sequence, so keep it as a scalar string instead of recursing on it forever.
            return DictAction._parse_int_float_bool(val)
        values = []
        while len(val) > 0:
            comma_idx = find_next_comma(val)
            values.append(DictAction._parse_iterable(val[:comma_idx]))
            val = val[comma_idx + 1 :]
        return tuple(values) if is_tuple else values

    def __call__(
        self,
        parser: ArgumentParser,
        namespace: Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        options = copy.copy(getattr(namespace, self.dest, None) or {})
        if values is not None:
            for kv in [values] if isinstance(values, str) else values:
                if "=" not in kv:
                    raise ValueError(
                        f"{option_string or self.dest}: expected KEY=VALUE, got {kv!r} "
                        "(e.g. --cfg-options model.depth=101)"
                    )
                key, val = kv.split("=", maxsplit=1)
                options[key] = self._parse_iterable(val)
        setattr(namespace, self.dest, options)
