from __future__ import annotations

import collections
import os
import warnings

import pytest

from piston import utils
from piston.utils import (
    apply_to,
    check_prerequisites,
    concat_list,
    deprecated_api_warning,
    deprecated_function,
    get_object_from_string,
    has_method,
    import_modules_from_strings,
    is_list_of,
    is_method_overridden,
    is_seq_of,
    is_str,
    is_tuple_of,
    iter_cast,
    list_cast,
    requires_executable,
    requires_package,
    slice_list,
    to_1tuple,
    to_2tuple,
    to_ntuple,
    tuple_cast,
)


def test_type_checks():
    assert is_str("a")
    assert not is_str(1)
    assert is_seq_of([1, 2], int)
    assert is_seq_of((1, 2), int)
    assert not is_seq_of([1, "a"], int)
    assert not is_seq_of(1, int)
    assert is_seq_of([1, 2], int, seq_type=list)
    assert not is_seq_of((1, 2), int, seq_type=list)
    assert is_list_of([1.0], float)
    assert not is_list_of((1.0,), float)
    assert is_tuple_of((1.0,), float)
    assert not is_tuple_of([1.0], float)


def test_casts():
    assert list_cast(["1", "2"], int) == [1, 2]
    assert tuple_cast([1, 2], str) == ("1", "2")
    assert list(iter_cast([1, 2], float)) == [1.0, 2.0]
    with pytest.raises(TypeError):
        iter_cast(1, int)
    with pytest.raises(TypeError):
        iter_cast([1], "int")


def test_slice_and_concat_list():
    assert slice_list([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]
    assert slice_list([1, 2, 3, 4], [1, 3]) == [[1], [2, 3, 4]]
    with pytest.raises(ValueError):
        slice_list([1, 2, 3], [1, 1])
    with pytest.raises(TypeError):
        slice_list([1, 2], "2")
    with pytest.raises(ValueError, match="not a multiple of lens=2"):
        slice_list([1, 2, 3], 2)
    assert concat_list([[1, 2], [3], []]) == [1, 2, 3]


def test_ntuple():
    assert to_2tuple(3) == (3, 3)
    assert to_1tuple(3) == (3,)
    assert to_ntuple(4)(1) == (1, 1, 1, 1)
    assert to_2tuple([1, 2]) == [1, 2]  # iterables pass through


def test_import_modules_from_strings():
    assert import_modules_from_strings("os.path") is os.path
    assert import_modules_from_strings(["os", "collections"]) == [os, collections]
    assert import_modules_from_strings(None) is None
    with pytest.raises(TypeError):
        import_modules_from_strings(1)
    with pytest.raises(TypeError):
        import_modules_from_strings([1])
    with pytest.raises(ImportError):
        import_modules_from_strings("no_such_module_abc")
    with pytest.warns(UserWarning, match="failed to import"):
        result = import_modules_from_strings(
            ["os", "no_such_module_abc"], allow_failed_imports=True
        )
    assert result == [os, None]


def test_get_object_from_string():
    assert get_object_from_string("os.path.join") is os.path.join
    assert get_object_from_string("collections.OrderedDict") is collections.OrderedDict
    assert get_object_from_string("os.path") is os.path
    assert get_object_from_string("os.no_such_attr") is None
    assert get_object_from_string("no_such_module_abc.X") is None


def test_apply_to():
    point = collections.namedtuple("point", ["x", "y"])
    data = {"a": [1, "s", (2, point(3, "t"))]}
    out = apply_to(data, lambda v: isinstance(v, int), lambda v: v * 10)
    assert out == {"a": [10, "s", (20, point(30, "t"))]}
    assert isinstance(out["a"][2][1], point)


def test_has_method_and_is_method_overridden():
    class Base:
        def foo(self):
            pass

        def bar(self):
            pass

    class Sub(Base):
        def foo(self):
            pass

    assert has_method(Sub(), "foo")
    assert not has_method(Sub(), "nope")
    assert is_method_overridden("foo", Base, Sub)
    assert not is_method_overridden("bar", Base, Sub())
    with pytest.raises(AssertionError):
        is_method_overridden("foo", Base(), Sub)


def test_deprecated_api_warning_renames_kwargs_and_positionals():
    @deprecated_api_warning({"old": "new"}, cls_name="Thing")
    def func(new=0, other=1):
        return new, other

    with pytest.warns(DeprecationWarning, match='"old" is deprecated in `Thing.func`'):
        assert func(old=5) == (5, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert func(new=3) == (3, 1)
    with pytest.raises(AssertionError):
        func(old=1, new=2)

    @deprecated_api_warning({"old": "new"})
    def positional(old=0):
        return old

    with pytest.warns(DeprecationWarning, match="old"):
        assert positional(7) == 7


def test_deprecated_function_warns_and_amends_doc():
    @deprecated_function("0.2.0", "0.3.0", "toy instruction")
    def deprecated_demo(arg1, arg2):
        """This is a long summary. This is a long
        summary.

        Args:
            arg1 (int): Long description with a line break. Long description
                with a line break.
            arg2 (int): short description.
        """
        return arg1, arg2

    with pytest.warns(DeprecationWarning, match="deprecated in version 0.2.0"):
        assert deprecated_demo(1, 2) == (1, 2)
    expected = (
        ".. deprecated:: 0.2.0\n"
        "    Deprecated and will be removed in version 0.3.0.\n"
        "    Please toy instruction.\n"
        "\n\n"
        "    This is a long summary. This is a long\n"
        "    summary.\n"
        "\n"
        "    Args:\n"
        "        arg1 (int): Long description with a line break. Long description\n"
        "            with a line break.\n"
        "        arg2 (int): short description.\n"
    )
    assert deprecated_demo.__doc__ == expected

    @deprecated_function("0.2.0", "0.3.0", "toy instruction")
    def short():
        """Short summary."""

    assert short.__doc__.endswith("Please toy instruction.\n\n\n    Short summary.")


def test_check_prerequisites_decorators():
    @requires_package("os")
    def ok():
        return 1

    @requires_package(["os", "no_such_module_abc"])
    def missing():
        return 1

    assert ok() == 1
    with pytest.raises(RuntimeError, match="Prerequisites not meet"):
        missing()

    @requires_executable("no_such_executable_abc")
    def needs_exe():
        return 1

    with pytest.raises(RuntimeError):
        needs_exe()

    @check_prerequisites("x", checker=lambda name: name == "x")
    def custom():
        return 2

    assert custom() == 2


def test_public_names_are_exported():
    for name in utils.__all__:
        assert hasattr(utils, name), name
