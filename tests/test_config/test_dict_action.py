from __future__ import annotations

import argparse

import pytest

from piston.config import DictAction


def _parse(*tokens: str) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(["--cfg-options", *tokens]).cfg_options


def test_scalars() -> None:
    assert _parse("a=1", "b=0.5", "c=true", "d=False", "e=None", "f=abc", "g=") == {
        "a": 1,
        "b": 0.5,
        "c": True,
        "d": False,
        "e": None,
        "f": "abc",
        "g": "",
    }


def test_lists_tuples_and_nesting() -> None:
    options = _parse("a=[1,2,3]", "b=(1,2)", "c=x,y", "d=[(1,2),(3,4)]", "e=[]", "f=[[1,[2]],3]")
    assert options == {
        "a": [1, 2, 3],
        "b": (1, 2),
        "c": ["x", "y"],
        "d": [(1, 2), (3, 4)],
        "e": [],
        "f": [[1, [2]], 3],
    }


def test_quotes_and_spaces_are_stripped_and_value_split_at_first_equal() -> None:
    assert _parse("a='[1, 2]'") == {"a": [1, 2]}
    assert _parse('b="x"') == {"b": "x"}
    assert _parse("c=k=v") == {"c": "k=v"}


def test_dotted_keys_and_repeated_flags_accumulate() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(["--cfg-options", "model.depth=18", "--cfg-options", "lr=0.1"])
    assert args.cfg_options == {"model.depth": 18, "lr": 0.1}


def test_imbalanced_brackets_raise_assertion_error() -> None:
    with pytest.raises(AssertionError, match="Imbalanced brackets"):
        _parse("a=[1,(2,3]")


def test_token_without_equal_sign() -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        _parse("abc")


def test_item_with_commas_only_inside_brackets_stays_a_string():
    """`--cfg-options "x=[dict(type='X',a=1)]"` used to recurse until RecursionError."""
    assert DictAction._parse_iterable("[dict(type='X',a=1)]") == ["dict(type='X',a=1)"]
    assert DictAction._parse_iterable("dict(a=1,b=2)") == "dict(a=1,b=2)"
