"""Parameter names from the utils.md table work as keywords; MMEngine's old names keep working."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from piston.utils import (
    fopen,
    has_method,
    is_list_of,
    is_method_overridden,
    is_tuple_of,
    requires_executable,
    requires_package,
)


class Base:
    def foo(self) -> None:
        pass

    def bar(self) -> None:
        pass


class Sub(Base):
    def foo(self) -> None:
        pass


# (function, spec parameter names leading its signature)
SPEC_NAMES = [
    (has_method, ["obj", "name"]),
    (is_method_overridden, ["method", "base_class", "derived_class_or_instance"]),
    (is_list_of, ["seq", "t"]),
    (is_tuple_of, ["seq", "t"]),
    (requires_package, ["pkgs"]),
    (requires_executable, ["cmds"]),
    (fopen, ["path"]),
]


@pytest.mark.parametrize(("func", "names"), SPEC_NAMES, ids=[f.__name__ for f, _ in SPEC_NAMES])
def test_spec_names_are_the_positional_parameters(func, names) -> None:
    params = list(inspect.signature(func).parameters.values())
    assert [p.name for p in params[: len(names)]] == names
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params[: len(names)])


def test_has_method_spec_keyword_and_old_keyword() -> None:
    assert has_method(obj=Sub(), name="foo") is True
    assert has_method(Sub(), name="missing") is False
    assert has_method(Sub(), name="__class__") is True  # callable attribute
    assert has_method(type("T", (), {"x": 1})(), name="x") is False  # not callable
    assert has_method(Sub(), method="foo") is True  # MMEngine's keyword
    with pytest.raises(TypeError, match="both 'name' and 'method'"):
        has_method(Sub(), "foo", method="foo")
    with pytest.raises(TypeError, match="missing 1 required argument: 'name'"):
        has_method(Sub())


def test_is_method_overridden_spec_keywords() -> None:
    assert is_method_overridden(method="foo", base_class=Base, derived_class_or_instance=Sub)
    assert is_method_overridden("foo", Base, derived_class_or_instance=Sub())
    assert not is_method_overridden("bar", Base, derived_class_or_instance=Sub())
    assert is_method_overridden("foo", Base, derived_class=Sub)  # MMEngine's keyword
    with pytest.raises(AssertionError, match="base_class must be a class"):
        is_method_overridden("foo", base_class=Base(), derived_class_or_instance=Sub)
    with pytest.raises(TypeError, match="derived_class_or_instance"):
        is_method_overridden("foo", Base)
    with pytest.raises(TypeError, match="both"):
        is_method_overridden("foo", Base, Sub, derived_class=Sub)


def test_is_list_and_tuple_of_spec_keyword() -> None:
    assert is_list_of([1, 2], t=int)
    assert not is_list_of((1, 2), t=int)
    assert is_tuple_of((1.0,), t=float)
    assert not is_tuple_of((1.0, "a"), t=float)
    assert is_list_of(["a"], expected_type=str)
    assert is_tuple_of(("a",), expected_type=str)
    with pytest.raises(TypeError, match="'t'"):
        is_list_of([1])


def test_requires_package_and_executable_spec_keywords() -> None:
    @requires_package(pkgs="os")
    def ok() -> int:
        return 1

    @requires_package(pkgs=["os", "no_such_module_xyz_123"])
    def missing() -> int:
        return 2

    @requires_executable(cmds="no_such_command_xyz_123")
    def missing_cmd() -> int:
        return 3

    @requires_package(prerequisites="os")
    def old_keyword() -> int:
        return 4

    assert ok() == 1
    assert old_keyword() == 4
    with pytest.raises(RuntimeError):
        missing()
    with pytest.raises(RuntimeError):
        missing_cmd()


def test_fopen_spec_keyword(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    with fopen(path=target, mode="w") as f:
        f.write("x")
    with fopen(target) as f:
        assert f.read() == "x"
    with fopen(filepath=str(target)) as f:  # MMEngine's keyword
        assert f.read() == "x"
    with pytest.raises(ValueError, match="`path` should be a string or a Path"):
        fopen(path=3)
